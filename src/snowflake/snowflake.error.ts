import { ShardingError } from '../errors/sharding.error.js';

/** The `code` of {@link InvalidSnowflakeError}. */
export const ERR_SHARDING_INVALID_SNOWFLAKE = 'ERR_SHARDING_INVALID_SNOWFLAKE';

// Long strings come from peers and users; the message shows enough of them to recognise.
const MAX_SHOWN_STRING = 64;

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
      ERR_SHARDING_INVALID_SNOWFLAKE,
      `Invalid ${field}: got ${describe(value)}; expected ${expected}.`,
    );
    this.field = field;
    this.value = value;
  }
}

function describe(value: unknown): string {
  switch (typeof value) {
    case 'string': {
      if (value.length <= MAX_SHOWN_STRING) return JSON.stringify(value);
      return `${JSON.stringify(value.slice(0, MAX_SHOWN_STRING))}… (${value.length} characters)`;
    }
    case 'bigint':
      return `${value}n`;
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'undefined':
      return 'undefined';
    default:
      return value === null ? 'null' : `a value of type ${typeof value}`;
  }
}
