/**
 * The metadata key under which `@OnDispatch` stores its entries on a method (an array of
 * `OnDispatchMetadata`, in source order). A string rather than a symbol so that two copies of
 * this package in one application still read each other's metadata.
 */
export const DISPATCH_HANDLER_METADATA = 'nestjs-sharding:on-dispatch';

/** The error code of a misused `@OnDispatch` or an invalid registration. */
export const INVALID_DISPATCH_HANDLER_CODE = 'ERR_SHARDING_INVALID_DISPATCH_HANDLER';
