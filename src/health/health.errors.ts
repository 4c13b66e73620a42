import { describeValue } from '../common/describe-value.js';
import { ShardingError } from '../errors/sharding.error.js';

/** A readiness rule of `ShardingHealthIndicator` has a value it cannot take. */
export class InvalidReadinessRuleError extends ShardingError {
  constructor(field: string, value: unknown, expectation: string) {
    super(
      'ERR_SHARDING_INVALID_READINESS_RULE',
      `The readiness rule's "${field}" is ${describeValue(value)}; it must be ${expectation}.`,
    );
  }
}
