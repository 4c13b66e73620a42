/**
 * Base class of every error this library throws or rejects with.
 *
 * `code` is stable across releases and safe to branch on; `message` says what happened and what
 * to do about it.
 */
export class ShardingError extends Error {
  /** A stable, machine-readable code such as `ERR_SHARDING_REQUEST_TIMEOUT`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
