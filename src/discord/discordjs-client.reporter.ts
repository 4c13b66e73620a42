import type { ShardingInstance } from '../instance/sharding.instance.js';
import type { ShardGatewayState } from '../protocol/ipc-packet.types.js';

/**
 * discord.js's `Status` of a shard (`client.ws.shards.get(id).status`), by its value, as a
 * {@link ShardGatewayState}: Ready 0, Connecting 1, Reconnecting 2, Idle 3, Nearly 4,
 * Disconnected 5, WaitingForGuilds 6, Identifying 7, Resuming 8.
 */
const DISCORDJS_STATUS: readonly ShardGatewayState[] = [
  'ready',
  'connecting',
  'connecting',
  'idle',
  'identifying',
  'disconnected',
  'identifying',
  'identifying',
  'resuming',
];

/** What is read of a discord.js (v14) `Client`. */
interface ClientView {
  ws: { shards: Map<number, { status: number; ping: number }> };
  guilds: { cache: Map<string, { shardId: number }> };
  on(event: 'raw', listener: (packet: { t?: unknown }, shardId: number) => void): unknown;
  off(event: 'raw', listener: (packet: { t?: unknown }, shardId: number) => void): unknown;
}

/**
 * Makes `instance` report the shards of a discord.js (v14) `Client` with each heartbeat: each
 * shard's status and ping read from `client.ws.shards`, its guilds counted in
 * `client.guilds.cache`, and the dispatches it received. `DiscordjsShardCompat.install` calls it;
 * call it yourself for a client without the compatibility layer. Returns a function that stops
 * the reports.
 *
 * @example
 * ```ts
 * const client = new Client({ intents: [GatewayIntentBits.Guilds], ...shardingClientOptions(context, instance) });
 * reportClientShards(client, instance);
 * ```
 */
export function reportClientShards(client: object, instance: ShardingInstance): () => void {
  const view = client as ClientView;
  const board = instance.server.shardStatus;
  const onRaw = (packet: { t?: unknown }, shardId: number) => {
    if (typeof packet?.t === 'string') board.countEvents(shardId);
  };
  view.on('raw', onRaw);
  const removeProbe = board.addProbe(() => {
    const guilds = new Map<number, number>();
    for (const guild of view.guilds.cache.values()) {
      guilds.set(guild.shardId, (guilds.get(guild.shardId) ?? 0) + 1);
    }
    for (const [id, shard] of view.ws.shards) {
      board.report(id, {
        state: DISCORDJS_STATUS[shard.status] ?? 'idle',
        // discord.js says -1 until the first heartbeat is acknowledged.
        ...(shard.ping >= 0 ? { ping: shard.ping } : {}),
        guilds: guilds.get(id) ?? 0,
      });
    }
  });
  return () => {
    removeProbe();
    view.off('raw', onRaw);
  };
}
