import { ShardingError } from './sharding.error.js';

/** The daily IDENTIFY budget is used up and when it resets is unknown. */
export class IdentifyBudgetExhaustedError extends ShardingError {
  constructor(resetAt: number | undefined) {
    super(
      'ERR_SHARDING_IDENTIFY_BUDGET',
      `Discord's daily IDENTIFY budget (session_start_limit) is used up` +
        (resetAt === undefined
          ? ' and when it resets is unknown. Nothing more is granted;'
          : `; it resets at ${new Date(resetAt).toISOString()}. Nothing more is granted until then;`) +
        ' check for a crash loop.',
    );
  }
}

/** A wait for an IDENTIFY slot was cancelled. */
export class IdentifyCancelledError extends ShardingError {
  constructor(shardId: number) {
    super(
      'ERR_SHARDING_IDENTIFY_CANCELLED',
      `The wait to IDENTIFY shard ${shardId} was cancelled.`,
    );
  }
}
