/**
 * A shard's gateway session: what a restarted instance needs to RESUME instead of IDENTIFY. It has
 * the shape of `@discordjs/ws`'s `SessionInfo`; the adapter in `discord/discordjs-ws.options.ts`
 * checks at compile time that the two stay the same.
 */
export interface ShardSession {
  /** The shard id. */
  shardId: number;
  /** The shard count at the time the shard identified. */
  shardCount: number;
  /** The gateway session id. */
  sessionId: string;
  /** The sequence number of the last dispatch received. */
  sequence: number;
  /** The URL to resume on. */
  resumeURL: string;
}
