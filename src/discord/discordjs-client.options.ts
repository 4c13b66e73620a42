import { NoInstanceContextError } from '../instance/instance.errors.js';
import type { ShardingInstance } from '../instance/sharding.instance.js';
import type { InstanceContext } from '../ipc/ipc.server.js';
import { ShardingIdentifyThrottler } from './sharding-identify.throttler.js';

/** The `discord.js` `Client` options that {@link shardingClientOptions} sets. */
export interface ShardingClientOptions {
  shards: number[];
  shardCount: number;
  ws: {
    buildIdentifyThrottler: () => ShardingIdentifyThrottler;
  };
}

/**
 * Options for a `discord.js` (v14) `Client` in a sharding instance: its shards and shard count
 * from the instance context, and IDENTIFY paced by the manager's queue across the whole fleet.
 * `context` is the resolved `SHARDING_INSTANCE_CONTEXT`; inject it next to `ShardingInstance`.
 * Merge them into your own options (spread your own `ws` settings into `ws` too). Throws
 * {@link NoInstanceContextError} without a context (in the manager role, say).
 *
 * A restarted discord.js instance IDENTIFYs again rather than RESUME: discord.js builds its cache
 * and emits `clientReady` only from READY and the GUILD_CREATEs that follow it, which a RESUME
 * does not replay. Bots built on `@discordjs/ws` (see `shardingWebSocketOptions`) RESUME.
 *
 * @example
 * ```ts
 * const client = new Client({ intents: [GatewayIntentBits.Guilds], ...shardingClientOptions(context, instance) });
 * client.once(Events.ClientReady, () => instance.ready());
 * ```
 */
export function shardingClientOptions(
  context: InstanceContext,
  instance: ShardingInstance,
): ShardingClientOptions {
  if (context === undefined || context === null) {
    throw new NoInstanceContextError('shardingClientOptions()');
  }
  return {
    shards: [...context.shards],
    shardCount: context.totalShards,
    ws: { buildIdentifyThrottler: () => new ShardingIdentifyThrottler(instance) },
  };
}
