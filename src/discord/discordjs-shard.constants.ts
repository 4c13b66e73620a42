import type { SerializedError } from '../protocol/ipc-packet.types.js';

/**
 * The dispatch events behind `client.shard` of the discord.js compatibility layer. Upper-case,
 * like the library's own events, so they cannot clash with an application's event names.
 */
export const DiscordjsShardEvent = {
  /** Instance → every instance (relayed): read a property path of the discord.js client. */
  FETCH_CLIENT_VALUE: 'DISCORDJS_FETCH_CLIENT_VALUE',
  /** Instance → every instance (relayed): run a function's source with the client. */
  BROADCAST_EVAL: 'DISCORDJS_BROADCAST_EVAL',
} as const;

/** `data` of {@link DiscordjsShardEvent.FETCH_CLIENT_VALUE}. */
export interface FetchClientValuePayload {
  /** A property path of the client, e.g. `guilds.cache.size`. */
  path: string;
}

/** `data` of {@link DiscordjsShardEvent.BROADCAST_EVAL}. */
export interface BroadcastEvalPayload {
  /** The source of the function, called as `fn(client, context)`. */
  script: string;
  /** The function's second argument, as JSON carries it. */
  context?: unknown;
}

/**
 * An instance's answer to a `client.shard` call. A failure to read or evaluate is an answer too
 * (not an ERROR reply), so the caller can name the instance that failed without the manager's
 * relay wrapping the error a second time.
 */
export type ShardClientReply =
  { instance: number; value?: unknown } | { instance: number; error: SerializedError };
