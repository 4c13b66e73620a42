// What the emulator records and emits, so that tests can assert on it and await it.
// Every `at` is in ms since the Unix epoch, read from a monotonic clock
// (`performance.timeOrigin + performance.now()`), so differences between records are exact.

/** Why an IDENTIFY was refused. */
export type IdentifyRejection =
  /** Wrong token, or the token was reset (close 4004). */
  | 'authentication-failed'
  /** `shard` is not `[id, total]` with `0 <= id < total` (close 4010). */
  | 'invalid-shard'
  /** `total` is below `requiredShards` (close 4011). */
  | 'sharding-required'
  /** `intents` missing or not a non-negative integer (close 4013). */
  | 'invalid-intents'
  /** The connection already has a session (close 4005). */
  | 'already-authenticated'
  /** Another IDENTIFY of the same bucket was accepted inside the identify window (op 9). */
  | 'rate-limited'
  /** The daily budget was used up: every session terminated, token reset (close 4004). */
  | 'session-start-limit';

/** One IDENTIFY received (`GatewayEmulator.identifies`). */
export interface IdentifyRecord {
  /** `shard[0]`, or 0 when IDENTIFY had no `shard`; -1 when `shard` was not a pair of integers. */
  shardId: number;
  /** `shard[1]`, or 1 when IDENTIFY had no `shard`; -1 when `shard` was not a pair of integers. */
  totalShards: number;
  /** `shardId % maxConcurrency`; -1 when the shard was invalid. */
  bucket: number;
  /** The connection it came on (the emulator numbers connections from 1). */
  connectionId: number;
  /** When it arrived (ms since the Unix epoch, monotonic). */
  at: number;
  /** Whether it started a session (READY sent). */
  accepted: boolean;
  /** The new session's id, when accepted. */
  sessionId?: string;
  /** Why it was refused, when not accepted. */
  rejection?: IdentifyRejection;
}

/** Why a RESUME was refused. */
export type ResumeRejection =
  /** Wrong token, or the token was reset (close 4004). */
  | 'authentication-failed'
  /** No such session, or it was invalidated (op 9, not resumable). */
  | 'unknown-session'
  /** `seq` is not a sequence number the session reached (close 4007). */
  | 'invalid-seq'
  /** The connection already has a session (close 4005). */
  | 'already-authenticated';

/** One RESUME received (`GatewayEmulator.resumes`). */
export interface ResumeRecord {
  /** The session's shard; undefined when the session is unknown. */
  shardId?: number;
  /** `session_id` as sent. */
  sessionId: string;
  /** `seq` as sent (null counts as 0). */
  fromSeq: number;
  /** Dispatches sent again because the client had not seen them (0 when refused). */
  replayed: number;
  /** The connection it came on (the emulator numbers connections from 1). */
  connectionId: number;
  /** When it arrived (ms since the Unix epoch, monotonic). */
  at: number;
  /** Whether the session was resumed (RESUMED sent after the replay). */
  accepted: boolean;
  /** Why it was refused, when not accepted. */
  rejection?: ResumeRejection;
}

/**
 * A RESUME accepted while another connection still held the session, open and not closing
 * (`GatewayEmulator.takeovers`). As on Discord, the session moved to the resuming connection and
 * the holder was closed (code 4006, `GatewayCloseCode.SessionTakenOver`). For a shard handed
 * from one process to another, it means the new side resumed before the old side let go.
 */
export interface SessionTakeover {
  /** The session taken over. */
  sessionId: string;
  /** Its shard. */
  shardId: number;
  /** The connection that held it, closed with 4006. */
  fromConnectionId: number;
  /** The connection that resumed it and carries it from now on. */
  toConnectionId: number;
  /** `seq` of the RESUME: what the new connection is replayed from. */
  fromSeq: number;
  /** The session's last sequence number when it was taken. */
  seq: number;
  /** When (ms since the Unix epoch, monotonic). */
  at: number;
}

/** Running totals of a {@link GatewayEmulator} (`GatewayEmulator.counters`). A snapshot. */
export interface GatewayEmulatorCounters {
  /** IDENTIFYs accepted: sessions started (each one used from the daily budget). */
  identified: number;
  /** RESUMEs accepted. */
  resumed: number;
  /** Op 9 (INVALID_SESSION) payloads sent, whatever the reason (refusal or `invalidateSession()`). */
  invalidSessions: number;
  /** Sessions taken from a connection that still held them (`takeovers.length`). */
  takeovers: number;
}

/** One dispatch (op 0) of a session (`GatewayEmulator.sentEvents()`). */
export interface SentEvent {
  /** The session's shard. */
  shardId: number;
  /** The session it belongs to. */
  sessionId: string;
  /** Its sequence number in the session (`s`). */
  seq: number;
  /** Event name (`t`). */
  t: string;
  /** Event data (`d`). */
  d: unknown;
  /** When it was created (ms since the Unix epoch, monotonic). */
  at: number;
  /**
   * Whether it has been written to a socket. False while it waits for the session's client to
   * resume (it was dispatched while no socket was connected); a replay sets it.
   */
  delivered: boolean;
}

/** A session that READY was sent for (`GatewayEmulator.sessions`). A snapshot. */
export interface EmulatedSessionInfo {
  /** `session_id`. */
  sessionId: string;
  /** The shard it identified as. */
  shardId: number;
  /** The shard count it identified with. */
  totalShards: number;
  /** The sequence number of its last dispatch. */
  seq: number;
  /** Whether a socket is attached to it now. */
  connected: boolean;
  /** Whether RESUME is still accepted (false after the client closed with 1000/1001, or an invalidation). */
  resumable: boolean;
  /** Whether it is the shard's current session (the one `dispatch()` sends to). */
  current: boolean;
}

/** A guild the emulator makes up (`GatewayEmulator.guildDetailsOf()`). */
export interface EmulatedGuild {
  /** Guild id, a Discord snowflake with `(id >> 22) % totalShards === shardId`. */
  id: string;
  /** Guild name. */
  name: string;
  /** Id of its one text channel (`#general`), where the event stream's messages go. */
  channelId: string;
  /** The shard that owns it. */
  shardId: number;
  /** The shard count it was computed for. */
  totalShards: number;
}

/** Sent on `ready`: READY went out for a new session. */
export interface ReadyRecord {
  /** The shard. */
  shardId: number;
  /** The shard count it identified with. */
  totalShards: number;
  /** The new session. */
  sessionId: string;
  /** Ids of the guilds READY listed (a GUILD_CREATE follows for each). */
  guildIds: string[];
  /** When (ms since the Unix epoch, monotonic). */
  at: number;
}

/** A gateway connection that closed (`GatewayEmulator.closes`). */
export interface CloseRecord {
  /** The shard of the session the socket carried, if any. */
  shardId?: number;
  /** The session the socket carried, if any (also when a RESUME elsewhere had taken it). */
  sessionId?: string;
  /** The connection (the emulator numbers connections from 1). */
  connectionId: number;
  /** The close code. */
  code: number;
  /** The close reason. */
  reason: string;
  /** Who closed it. */
  by: 'client' | 'emulator';
  /** When (ms since the Unix epoch, monotonic). */
  at: number;
}

/** One HTTP request (`GatewayEmulator.requests`; those answered 404 are also in `unknownRoutes`). */
export interface HttpRequestRecord {
  /** HTTP method. */
  method: string;
  /** Request target (path and query). */
  url: string;
  /** Status answered. */
  status: number;
  /** When (ms since the Unix epoch, monotonic). */
  at: number;
}

/** A WebSocket upgrade the emulator refused (`GatewayEmulator.rejectedConnections`). */
export interface RejectedConnection {
  /** Request target (path and query). */
  url: string;
  /** HTTP status answered instead of the upgrade. */
  status: number;
  /** Why, as written in the response body. */
  reason: string;
  /** When (ms since the Unix epoch, monotonic). */
  at: number;
}

/** Events of a {@link GatewayEmulator} (an `EventEmitter`); `waitFor()` awaits one. */
export interface GatewayEmulatorEvents {
  /** An IDENTIFY arrived, accepted or not. */
  identify: [IdentifyRecord];
  /** A RESUME arrived, accepted or not. */
  resume: [ResumeRecord];
  /** READY was sent (GUILD_CREATEs follow at once). */
  ready: [ReadyRecord];
  /** A dispatch was created (sent, or buffered for a resume). */
  dispatch: [SentEvent];
  /** A gateway connection closed. */
  close: [CloseRecord];
  /**
   * A RESUME took a session from a connection that still held it; emitted after the replay and
   * RESUMED, before `resume` (the holder's `close` follows).
   */
  takeover: [SessionTakeover];
  /** The event stream stopped after its `ticks`. */
  streamEnd: [];
  /** The daily budget was exceeded: sessions terminated, token reset. */
  tokenReset: [];
}
