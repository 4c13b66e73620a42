/**
 * The metadata key under which `@OnDispatch` stores its entries on a method (an array of
 * `OnDispatchMetadata`, in source order). A string rather than a symbol so that two copies of
 * this package in one application still read each other's metadata.
 */
export const DISPATCH_HANDLER_METADATA = 'nestjs-sharding:on-dispatch';
