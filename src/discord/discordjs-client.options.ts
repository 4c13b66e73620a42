import { createRequire } from 'node:module';
import type { ShardingInstance } from '../instance/sharding.instance.js';
import type { ShardSession } from './session-info.interface.js';
import { ShardingIdentifyThrottler } from './sharding-identify.throttler.js';

/** The part of the `@discordjs/ws` manager that {@link shardingClientOptions} reaches into. */
interface WebSocketManagerLike {
  options: {
    retrieveSessionInfo: (shardId: number) => unknown;
    updateSessionInfo: (shardId: number, session: ShardSession | null) => unknown;
  };
}

/** The `discord.js` `Client` options that {@link shardingClientOptions} sets. */
export interface ShardingClientOptions {
  shards: number[];
  shardCount: number;
  ws: {
    buildIdentifyThrottler: () => ShardingIdentifyThrottler;
    // Typed loosely on purpose: this package does not depend on discord.js's types, and the
    // strategy is discord.js's own.
    buildStrategy: (manager: any) => any;
  };
}

/**
 * Options for a `discord.js` (v14) `Client` in a sharding instance: its shards and shard count
 * from the instance context, IDENTIFY paced by the manager's queue, and sessions kept by the
 * manager so that a restarted instance RESUMEs instead of IDENTIFYing. Merge them into your own
 * options (keep your `ws` settings by spreading `ws` too).
 *
 * discord.js keeps sessions in memory only; this hooks its gateway manager through the public
 * `ws.buildStrategy` option and builds discord.js's own default strategy from the `@discordjs/ws`
 * copy discord.js uses.
 *
 * @example
 * ```ts
 * const client = new Client({ intents: [GatewayIntentBits.Guilds], ...shardingClientOptions(instance) });
 * client.once(Events.ClientReady, () => instance.ready());
 * ```
 */
export function shardingClientOptions(instance: ShardingInstance): ShardingClientOptions {
  const context = instance.context;
  if (context === undefined) {
    throw new TypeError(
      'shardingClientOptions() needs the instance context: await instance.start() first.',
    );
  }
  return {
    shards: [...context.shards],
    shardCount: context.totalShards,
    ws: {
      buildIdentifyThrottler: () => new ShardingIdentifyThrottler(instance),
      buildStrategy: (manager: WebSocketManagerLike) => {
        const own = manager.options.retrieveSessionInfo;
        const ownUpdate = manager.options.updateSessionInfo;
        manager.options.retrieveSessionInfo = async (shardId) =>
          (await own(shardId)) ?? (await instance.retrieveSession(shardId));
        manager.options.updateSessionInfo = (shardId, session) => {
          ownUpdate(shardId, session);
          instance.updateSession(shardId, session);
        };
        return new (discordJsWebSocket().SimpleShardingStrategy)(manager);
      },
    },
  };
}

/** The `@discordjs/ws` module that the installed discord.js uses (it may nest its own copy). */
function discordJsWebSocket(): { SimpleShardingStrategy: new (manager: unknown) => unknown } {
  const fromHere = createRequire(import.meta.url);
  const discordJs = fromHere.resolve('discord.js');
  return createRequire(discordJs)('@discordjs/ws') as {
    SimpleShardingStrategy: new (manager: unknown) => unknown;
  };
}
