import { NoInstanceContextError } from '../instance/instance.errors.js';
import type { ShardingInstance } from '../instance/sharding.instance.js';
import type { ShardSession } from './session-info.interface.js';
import { ShardingIdentifyThrottler } from './sharding-identify.throttler.js';

/** The `@discordjs/ws` `WebSocketManager` options that {@link shardingWebSocketOptions} sets. */
export interface ShardingWebSocketOptions {
  shardIds: number[];
  shardCount: number;
  buildIdentifyThrottler: () => ShardingIdentifyThrottler;
  retrieveSessionInfo: (shardId: number) => Promise<ShardSession | null>;
  updateSessionInfo: (shardId: number, session: ShardSession | null) => void;
}

/**
 * Options for an `@discordjs/ws` `WebSocketManager` in a sharding instance: its shards and the
 * shard count from the instance context, IDENTIFY paced by the manager's queue, and sessions kept
 * by the manager so that a restarted instance RESUMEs. Needs the instance context, so call it
 * after `ShardingInstance.start()` (or inject `SHARDING_INSTANCE_CONTEXT` first).
 *
 * @example
 * ```ts
 * const manager = new WebSocketManager({ token, intents, rest, ...shardingWebSocketOptions(instance) });
 * ```
 */
export function shardingWebSocketOptions(instance: ShardingInstance): ShardingWebSocketOptions {
  const context = instance.context;
  if (context === undefined) {
    throw new NoInstanceContextError('shardingWebSocketOptions()');
  }
  // Within one life of the instance, its own latest session is fresher than the manager's copy.
  const local = new Map<number, ShardSession | null>();
  return {
    shardIds: [...context.shards],
    shardCount: context.totalShards,
    buildIdentifyThrottler: () => new ShardingIdentifyThrottler(instance),
    retrieveSessionInfo: async (shardId) =>
      local.has(shardId) ? local.get(shardId)! : instance.retrieveSession(shardId),
    updateSessionInfo: (shardId, session) => {
      local.set(shardId, session);
      instance.updateSession(shardId, session);
    },
  };
}
