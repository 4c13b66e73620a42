import { describeValue } from '../common/describe-value.js';
import { ShardingError } from '../errors/sharding.error.js';

/**
 * A snowflake, or a field to build one from, is malformed or out of range: a negative or
 * fractional number, a field wider than its bits, a timestamp before the epoch, or a string
 * that is not a decimal integer.
 */
export class InvalidSnowflakeError extends ShardingError {
  /** The field that was rejected, such as `shardId`, `timestamp` or `id`. */
  readonly field: string;

  /** The rejected value, as it was given. */
  readonly value: unknown;

  /**
   * @param field The name of the rejected field or argument.
   * @param value The rejected value.
   * @param expected What the field accepts, such as `an integer from 0 to 4294967295`.
   */
  constructor(field: string, value: unknown, expected: string) {
    super(
      'ERR_SHARDING_INVALID_SNOWFLAKE',
      `Invalid ${field}: got ${describeValue(value)}; expected ${expected}.`,
    );
    this.field = field;
    this.value = value;
  }
}
