import { ShardingError } from '../errors/sharding.error.js';

/** The manager that spawned this instance never sent HELLO. */
export class NoHelloError extends ShardingError {
  constructor(timeout: number) {
    super(
      'ERR_SHARDING_NO_HELLO',
      `No HELLO from the manager within ${timeout} ms. The manager may have died while this ` +
        'instance started; this instance stops rather than run on unmanaged.',
    );
  }
}

/** An instance API that needs the instance context was called before the manager's HELLO. */
export class NoInstanceContextError extends ShardingError {
  constructor(api: string) {
    super(
      'ERR_SHARDING_NO_CONTEXT',
      `${api} needs the instance context, which comes with the manager's HELLO: inject ` +
        'SHARDING_INSTANCE_CONTEXT (or await ShardingInstance.start()) before calling it.',
    );
  }
}
