import { InvalidShardingOptionError } from '../options/invalid-option.error.js';

/** Which shards each instance runs: entry `i` lists instance `i`'s shard ids. */
export type ShardPlan = number[][];

/**
 * Splits the shards this manager runs into contiguous chunks of `shardsPerInstance`
 * (the last chunk may be smaller).
 */
export function planShards(
  totalShards: number,
  shards: number[] | undefined,
  shardsPerInstance: number,
): ShardPlan {
  const ids = shards ?? Array.from({ length: totalShards }, (_, id) => id);
  const outOfRange = ids.filter((id) => id >= totalShards);
  if (outOfRange.length > 0) {
    throw new InvalidShardingOptionError(
      'shards',
      ids,
      `shard ids below totalShards (${totalShards})`,
    );
  }
  const sorted = ids.toSorted((a, b) => a - b);
  const plan: ShardPlan = [];
  for (let start = 0; start < sorted.length; start += shardsPerInstance) {
    plan.push(sorted.slice(start, start + shardsPerInstance));
  }
  return plan;
}
