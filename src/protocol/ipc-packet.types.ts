import type { IpcOpCode } from './op-code.enum.js';

/** Sender of a dispatch: an instance index, or `'manager'`. */
export type DispatchSender = number | 'manager';

/**
 * Where an instance asks the manager to relay a dispatch: every instance, some instance indexes,
 * the instance that runs a shard, or the instance that runs a guild's shard.
 */
export type DispatchTarget = 'all' | number[] | { shard: number } | { guild: string };

/** `d` of a DISPATCH (op 0). */
export interface DispatchPayload<T = unknown> {
  /** A snowflake unique per sender; a reply carries the request's `event_id`. */
  event_id: string;
  /** The sender's instance index, or `'manager'`. */
  from: DispatchSender;
  /** The event's data, or a reply's result. */
  data?: T;
  /** `true` on a request: the receiver answers with the same `t` and `event_id`. */
  reply?: boolean;
  /** Relay target, set by an instance that asks the manager to forward. */
  to?: DispatchTarget;
}

/** `d` of IDENTIFY (op 1). */
export interface IdentifyPayload {
  /** The instance's snowflake. */
  id: string;
  /** HELLO's `event_id`, echoed. */
  event_id: string;
  /** The instance's process id. */
  pid: number;
  /** The shards the instance accepted. */
  shards: number[];
}

/** `d` of HELLO (op 2). */
export interface HelloPayload {
  /** The manager's snowflake. */
  id: string;
  /** A snowflake; IDENTIFY echoes it. */
  event_id: string;
  /** The instance index. */
  instance: number;
  /** The shard ids the instance runs. */
  shards: number[];
  /** The total shard count of the bot. */
  total_shards: number;
  /** How often the instance sends HEARTBEAT, in ms. */
  heartbeat_interval: number;
  /**
   * With `coordination` only: the manager's block lease TTL, in ms. An instance that then has
   * no acknowledgement of the heartbeats it sent in the last third of it closes its shards
   * resumably, before another host can take them.
   */
  lease_ttl?: number;
}

/** The error carried by an ERROR packet. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
}

/** `d` of ERROR (op 4). */
export interface ErrorPayload {
  /** The failed request's `event_id`. */
  event_id: string;
  error: SerializedError;
}

/** `d` of INVALID_SESSION (op 6). */
export interface InvalidSessionPayload {
  /** The instance's snowflake. */
  id: string;
}

/** Process statistics an instance reports with each heartbeat. */
export interface InstanceStats {
  /** Resident set size, in bytes. */
  rss: number;
  /** V8 heap used, in bytes. */
  heapUsed: number;
  /**
   * Event-loop delay, in ms: how late the instance's event loop ran the timer of this heartbeat
   * (0 on the first). A loop that is blocked or saturated when the heartbeat is due shows here by
   * how long it stayed busy; a short block between two heartbeats does not.
   */
  eventLoopLag: number;
}

/** A shard's gateway connection as its instance sees it. */
export type ShardGatewayState =
  'idle' | 'connecting' | 'identifying' | 'resuming' | 'ready' | 'disconnected';

/** One shard's state, as its instance reports it with each heartbeat. */
export interface ShardReport {
  /** The shard id. */
  id: number;
  /** Its gateway connection's state. */
  state: ShardGatewayState;
  /** The last gateway heartbeat round trip, in ms (absent until measured). */
  ping?: number;
  /** Guilds it serves (absent when the instance's client does not say). */
  guilds?: number;
  /** Gateway dispatches received since the previous heartbeat. */
  events?: number;
}

/** `d` of HEARTBEAT (op 7). */
export interface HeartbeatPayload extends Partial<InstanceStats> {
  /** The instance's shards, when its Discord client reports them. */
  shards?: ShardReport[];
  /** Heartbeat sequence number, from 1. */
  seq: number;
  /** Sender's clock when sent (ms since the Unix epoch). */
  ts: number;
  /** The round trip of the instance's previous heartbeat, in ms (absent on the first). */
  rtt?: number;
}

/** `d` of HEARTBEAT_ACK (op 8): the acknowledged heartbeat's `seq` and `ts`, echoed. */
export interface HeartbeatAckPayload {
  seq: number;
  ts: number;
}

/** A packet of the sharding protocol: `{ op, d, t }`. */
export type IpcPacket =
  | { op: IpcOpCode.DISPATCH; d: DispatchPayload; t: string }
  | { op: IpcOpCode.IDENTIFY; d: IdentifyPayload }
  | { op: IpcOpCode.HELLO; d: HelloPayload }
  | { op: IpcOpCode.ERROR; d: ErrorPayload }
  | { op: IpcOpCode.INVALID_SESSION; d: InvalidSessionPayload }
  | { op: IpcOpCode.HEARTBEAT; d: HeartbeatPayload }
  | { op: IpcOpCode.HEARTBEAT_ACK; d: HeartbeatAckPayload };

/** The packet of one op code. */
export type IpcPacketOf<O extends IpcPacket['op']> = Extract<IpcPacket, { op: O }>;
