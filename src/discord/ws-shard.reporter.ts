import type { ShardStatusBoard } from '../ipc/shard-status.board.js';

/** The events of an `@discordjs/ws` `WebSocketManager` that tell a shard's state, by their names. */
interface ShardEvents {
  on(event: 'hello' | 'resumed', listener: (shardId: number) => void): unknown;
  on(event: 'ready', listener: (data: { guilds?: unknown[] }, shardId: number) => void): unknown;
  on(event: 'closed', listener: (code: number, shardId: number) => void): unknown;
  on(event: 'heartbeat', listener: (stats: { latency: number }, shardId: number) => void): unknown;
  on(
    event: 'dispatch',
    listener: (
      payload: { t: string; d: { id?: unknown; unavailable?: unknown } },
      shardId: number,
    ) => void,
  ): unknown;
}

/**
 * Follows an `@discordjs/ws` `WebSocketManager`'s shards onto `board`: HELLO means the shard
 * identifies (or resumes, when `resumable(shardId)` says it holds a session), READY and RESUMED
 * mean ready, a close means disconnected, each heartbeat gives the ping, and READY's guild list
 * with the GUILD_CREATEs and GUILD_DELETEs that follow give the guild count. Event names are
 * spelt out: `@discordjs/ws` is an optional peer, used for types only.
 */
export function reportWebSocketShards(
  manager: object,
  board: ShardStatusBoard,
  resumable: (shardId: number) => boolean,
): void {
  const events = manager as ShardEvents;
  const guilds = new Map<number, Set<string>>();
  const guildsOf = (shardId: number) => {
    let set = guilds.get(shardId);
    if (set === undefined) {
      set = new Set();
      guilds.set(shardId, set);
    }
    return set;
  };
  events.on('hello', (shardId) =>
    board.report(shardId, { state: resumable(shardId) ? 'resuming' : 'identifying' }),
  );
  events.on('ready', (data, shardId) => {
    const set = guildsOf(shardId);
    set.clear();
    for (const guild of data.guilds ?? []) {
      const id = (guild as { id?: unknown } | null)?.id;
      if (typeof id === 'string') set.add(id);
    }
    board.report(shardId, { state: 'ready', guilds: set.size });
  });
  events.on('resumed', (shardId) => board.report(shardId, { state: 'ready' }));
  events.on('closed', (_code, shardId) => board.report(shardId, { state: 'disconnected' }));
  events.on('heartbeat', ({ latency }, shardId) => board.report(shardId, { ping: latency }));
  events.on('dispatch', ({ t, d }, shardId) => {
    board.countEvents(shardId);
    if (typeof d?.id !== 'string') return;
    if (t === 'GUILD_CREATE') guildsOf(shardId).add(d.id);
    // An outage makes a guild unavailable; it is still the shard's.
    else if (t === 'GUILD_DELETE' && d.unavailable !== true) guildsOf(shardId).delete(d.id);
    else return;
    board.report(shardId, { guilds: guildsOf(shardId).size });
  });
}
