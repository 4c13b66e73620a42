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
