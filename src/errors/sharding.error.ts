import type { ShardingErrorCode } from './error-codes.js';

/**
 * Base class of every error this library throws or rejects with.
 *
 * `code` is stable across releases and safe to branch on (every code is listed in
 * `SHARDING_ERROR_CODES`); `message` says what happened and what to do about it.
 */
export class ShardingError extends Error {
  /** A stable, machine-readable code such as `ERR_SHARDING_REQUEST_TIMEOUT`. */
  readonly code: ShardingErrorCode;

  constructor(code: ShardingErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
