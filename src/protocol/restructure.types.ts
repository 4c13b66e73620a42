import type { ShardSession } from './session-info.interface.js';

/**
 * `d.data` of a RESTRUCTURING request (op 0, manager → instance): the instance's whole new shard
 * set. Shards it runs and that are not listed are released (their sessions kept resumable and
 * returned in the reply); listed shards it does not run yet are started, RESUMEing the sessions
 * given here when there are some.
 */
export interface RestructurePayload {
  /** Every shard the instance runs from now on (may be empty). */
  shards: number[];
  /** The bot's total shard count from now on. */
  total_shards: number;
  /** Sessions to RESUME for the shards it gains, by shard id. */
  sessions: Record<string, ShardSession | null>;
}

/** The reply to RESTRUCTURING, once the instance has applied it. */
export interface RestructureReply {
  /** The shards it runs now. */
  shards: number[];
  /** The last session of every shard it released (null: none), by shard id, for the next owner. */
  released: Record<string, ShardSession | null>;
}
