import { describeValue } from '../common/describe-value.js';
import { ShardingError } from '../errors/sharding.error.js';

/**
 * An option of `ShardingModule` is unknown (a typo, or an option of a later version), or has a
 * value it cannot take. Code `ERR_SHARDING_INVALID_OPTION`.
 */
export class InvalidShardingOptionError extends ShardingError {
  /** For an unknown option: the known option closest to it, or `undefined` when none is close. */
  readonly suggestion: string | undefined;

  /**
   * @param option The option's path, such as `restart.jitter` or `env.PORT`.
   * @param value The rejected value as the message shows it (a placeholder for a secret).
   * @param expectation What the option takes, completing "it must be …".
   */
  constructor(option: string, value: unknown, expectation: string);
  /**
   * An unknown option.
   * @param option The unknown option's path, such as `heartbeatIntervall`.
   * @param suggestion The known option closest to it, if one is close.
   */
  constructor(
    option: string,
    value: undefined,
    expectation: undefined,
    suggestion: string | undefined,
  );
  constructor(
    readonly option: string,
    readonly value: unknown,
    expectation: string | undefined,
    suggestion?: string,
  ) {
    super(
      'ERR_SHARDING_INVALID_OPTION',
      expectation === undefined
        ? unknownOptionMessage(option, suggestion)
        : `ShardingModule option "${option}" is ${describeValue(value)}; it must be ${expectation}.`,
    );
    this.suggestion = suggestion;
  }
}

function unknownOptionMessage(option: string, suggestion: string | undefined): string {
  // The value is not shown: an unknown key says nothing about whether its value is a secret.
  return suggestion === undefined
    ? `ShardingModule: unknown option "${option}"; this version has no such option. Remove it.`
    : `ShardingModule: unknown option "${option}"; did you mean "${suggestion}"?`;
}
