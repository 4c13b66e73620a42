import type { InstanceState } from '../manager/instance-state.js';
import type { ShardGatewayState } from '../protocol/ipc-packet.types.js';

/** One shard on the status page. Fields its instance does not report are absent. */
export interface StatusPageShard {
  id: number;
  /** Its gateway state, from the instance's heartbeats. */
  state?: ShardGatewayState;
  /** Its gateway heartbeat round trip, in ms. */
  ping?: number;
  /** Guilds it serves. */
  guilds?: number;
  /** Gateway dispatches per second over the last heartbeat interval. */
  eventsPerSecond?: number;
}

/** One instance on the status page. */
export interface StatusPageInstance {
  instance: number;
  state: InstanceState;
  generation: number;
  pid?: number;
  /** Since when it is in `state`, in ms since the Unix epoch (absent before its first change). */
  since?: number;
  /** Resident memory and heap, in bytes, and event-loop lag, in ms, from its last heartbeat. */
  rss?: number;
  heapUsed?: number;
  eventLoopLag?: number;
  /** When its last heartbeat came, in ms since the Unix epoch. */
  lastHeartbeatAt?: number;
  /** Restarts within the restart policy's window. */
  restarts: number;
  /** How its previous generation ended. */
  lastExit?: { reason: string; cause: string; code: number | null; signal: string | null };
  /** Heartbeat round trips, oldest first, as `[at, ms]` pairs (bounded). */
  roundTrips: Array<[number, number]>;
  shards: StatusPageShard[];
}

/** A generation that ended (a restart, a failure, a give-up), for the page's log. */
export interface StatusPageFailure {
  /** Increases by one per failure: a client that got one already can tell it apart. */
  seq: number;
  at: number;
  instance: number;
  generation: number;
  /** `ended` for a generation that exited, `gave-up` when the restart policy gave up. */
  kind: 'ended' | 'gave-up';
  reason?: string;
  cause?: string;
  code?: number | null;
  signal?: string | null;
}

/** The identify queue on the page. */
export interface StatusPageIdentify {
  granted: number;
  waiting: number;
  maxConcurrency: number;
  /** The window of one IDENTIFY per bucket, in ms. */
  window: number;
  /** Time until the last waiting shard is granted at the current pacing, in ms. */
  timeLeft: number;
}

/** One host of the cluster on the page (with `coordination` only). */
export interface StatusPageHost {
  /** Its `coordination.hostId`. */
  hostId: string;
  /** Whether it is the host of this page's manager. */
  self: boolean;
  /** The blocks whose leases it holds. */
  blocks: number[];
  /** The shards of those blocks. */
  shards: number[];
  /** The blocks it asked to be handed over (a joining host). */
  requested: number[];
}

/** What `/status.json` returns and the first event of `/events` carries. */
export interface StatusPageSnapshot {
  /** When it was taken, in ms since the Unix epoch. */
  at: number;
  managerId: string;
  totalShards?: number;
  /** Whether actions (restarts) are possible: a token is configured. */
  actions: boolean;
  instances: StatusPageInstance[];
  identify?: StatusPageIdentify;
  /** Newest first, bounded. */
  failures: StatusPageFailure[];
  /** This manager's host (`coordination.hostId`); absent without `coordination`. */
  hostId?: string;
  /** The cluster's hosts and their blocks; absent without `coordination`. */
  hosts?: StatusPageHost[];
}

/** An update event of `/events`: only what changed since the previous one. */
export interface StatusPageUpdate {
  at: number;
  totalShards?: number;
  /** The instances that changed, whole except `roundTrips`: only the samples added. */
  instances: StatusPageInstance[];
  identify?: StatusPageIdentify;
  /** Failures added, newest first. */
  failures: StatusPageFailure[];
  /** The cluster's hosts, whole, when they changed (with `coordination` only). */
  hosts?: StatusPageHost[];
}
