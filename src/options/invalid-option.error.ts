import { ShardingError } from '../errors/sharding.error.js';

/** An option of `ShardingModule` has a value it cannot take. */
export class InvalidShardingOptionError extends ShardingError {
  constructor(
    readonly option: string,
    readonly value: unknown,
    expectation: string,
  ) {
    super(
      'ERR_SHARDING_INVALID_OPTION',
      `ShardingModule option "${option}" is ${describeValue(value)}; it must be ${expectation}.`,
    );
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describeValue).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}
