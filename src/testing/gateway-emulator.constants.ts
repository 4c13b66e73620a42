// Discord gateway v10 numbers the emulator speaks, and its defaults.

/** Gateway opcodes (Discord gateway v10) that the emulator sends or understands. */
export const GatewayOp = {
  /** An event (`t`, `d`, `s`), server to client. */
  Dispatch: 0,
  /** Keep-alive, client to server (the server may ask for one too). */
  Heartbeat: 1,
  /** Start a new session. */
  Identify: 2,
  /** Presence update, client to server (accepted and ignored). */
  PresenceUpdate: 3,
  /** Voice state update, client to server (accepted and ignored). */
  VoiceStateUpdate: 4,
  /** Resume a session after a disconnect. */
  Resume: 6,
  /** Server asks the client to reconnect and resume. */
  Reconnect: 7,
  /** Request guild members, client to server (accepted and ignored). */
  RequestGuildMembers: 8,
  /** The session is invalid; `d` tells whether it may be resumed. */
  InvalidSession: 9,
  /** First message on a connection: `{ heartbeat_interval }`. */
  Hello: 10,
  /** Answer to a heartbeat. */
  HeartbeatAck: 11,
  /** Request soundboard sounds, client to server (accepted and ignored). */
  RequestSoundboardSounds: 31,
} as const;

/** Gateway close codes (Discord gateway v10) that the emulator uses. */
export const GatewayCloseCode = {
  /** Unknown error; the client may resume. `GatewayEmulator.disconnect()` uses it by default. */
  UnknownError: 4000,
  /** An unknown opcode was sent. */
  UnknownOpcode: 4001,
  /** A payload could not be decoded (malformed JSON, not an object, over 4096 bytes). */
  DecodeError: 4002,
  /** A payload other than HEARTBEAT, IDENTIFY or RESUME was sent before identifying. */
  NotAuthenticated: 4003,
  /** Wrong token (or a token Discord has reset: see `sessionStartLimit`). */
  AuthenticationFailed: 4004,
  /** A second IDENTIFY or RESUME on a connection that already has a session. */
  AlreadyAuthenticated: 4005,
  /**
   * The session was resumed on another connection while this one still held it. Discord's
   * close code table has no entry for this; the one public report of the live gateway doing it
   * (discord-api-docs issue 84) saw the older connection closed with the undocumented 4006,
   * "Session invalid". The emulator uses 4006 so that a takeover cannot be mistaken for
   * `disconnect()`'s 4000; discord.js and @discordjs/ws treat it as an unknown code and try to
   * resume, as they would on Discord.
   */
  SessionTakenOver: 4006,
  /** RESUME with a sequence number the session never reached. */
  InvalidSeq: 4007,
  /** Session timed out (not used by the emulator; listed for completeness). */
  SessionTimedOut: 4009,
  /** IDENTIFY with an invalid `shard` field. */
  InvalidShard: 4010,
  /** IDENTIFY with fewer shards than the bot requires. */
  ShardingRequired: 4011,
  /** Connection with an API version other than 9 or 10. */
  InvalidApiVersion: 4012,
  /** IDENTIFY without a valid `intents` bitfield. */
  InvalidIntents: 4013,
} as const;

/** Largest payload a client may send, in bytes (Discord's limit). */
export const GATEWAY_MAX_PAYLOAD = 4096;

/** The default of every {@link GatewayEmulatorOptions} option. */
export const GATEWAY_EMULATOR_DEFAULTS = {
  port: 0,
  token: 'emulator-token',
  shards: 1,
  requiredShards: 1,
  maxConcurrency: 1,
  identifyWindow: 5_000,
  heartbeatInterval: 41_250,
  guildsPerShard: 1,
  sessionStartLimit: { total: 1_000, remaining: 1_000, resetAfter: 86_400_000 },
} as const;

/** The API versions the emulator serves, over HTTP and on the gateway. */
export const GATEWAY_EMULATOR_API_VERSIONS: readonly number[] = [9, 10];
