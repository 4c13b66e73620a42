import { ShardingError } from '../errors/sharding.error.js';
import type { InstanceState } from './instance-state.js';

/**
 * A supervisor tried a state transition its table does not allow. This is a bug in the library,
 * never a user error: please report it with the message.
 */
export class IllegalTransitionError extends ShardingError {
  constructor(
    readonly instance: number,
    readonly from: InstanceState,
    readonly to: InstanceState,
  ) {
    super(
      'ERR_SHARDING_ILLEGAL_TRANSITION',
      `Instance ${instance} cannot go from ${from} to ${to}: this is a bug in nestjs-sharding; please report it.`,
    );
  }
}
