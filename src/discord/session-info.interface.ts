/**
 * A shard's gateway session, as `@discordjs/ws` describes it (`SessionInfo`): what a restarted
 * instance needs to RESUME instead of IDENTIFY.
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
