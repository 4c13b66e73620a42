import type { ShardingInstance } from '../instance/sharding.instance.js';

/**
 * An identify throttler for `@discordjs/ws` (its `IIdentifyThrottler`) that asks the manager,
 * so that one queue paces every shard of every instance at Discord's limit.
 *
 * @example
 * ```ts
 * new WebSocketManager({ ...options, buildIdentifyThrottler: () => new ShardingIdentifyThrottler(instance) });
 * ```
 */
export class ShardingIdentifyThrottler {
  constructor(private readonly instance: ShardingInstance) {}

  /** Resolves when the manager grants `shardId` its IDENTIFY; `signal` cancels the wait. */
  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    return this.instance.waitForIdentify(shardId, signal);
  }
}
