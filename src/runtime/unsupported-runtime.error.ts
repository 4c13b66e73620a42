import { ShardingError } from '../errors/sharding.error.js';

/**
 * The package was loaded where it cannot run: on a Node.js older than its `engines` range, or
 * (its CommonJS build) by a module loader that cannot `require()` an ES module. Thrown while the
 * package loads, so it surfaces as the import's or require's failure.
 */
export class UnsupportedRuntimeError extends ShardingError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SHARDING_UNSUPPORTED_RUNTIME', message, options);
  }
}
