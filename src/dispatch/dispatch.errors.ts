import { ShardingError } from '../errors/sharding.error.js';

/** No handler is registered for a requested event. */
export class NoHandlerError extends ShardingError {
  constructor(readonly event: string) {
    super(
      'ERR_SHARDING_NO_HANDLER',
      `No handler is registered for "${event}". Decorate a provider method with @OnDispatch('${event}').`,
    );
  }
}

/** `@OnDispatch` or `DispatchRegistry.register` was misused (the message says how). */
export class InvalidDispatchHandlerError extends ShardingError {
  constructor(message: string) {
    super('ERR_SHARDING_INVALID_DISPATCH_HANDLER', message);
  }
}
