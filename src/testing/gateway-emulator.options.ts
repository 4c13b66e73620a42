/** The emulated daily IDENTIFY budget (`session_start_limit` of `GET /gateway/bot`). */
export interface SessionStartLimitOptions {
  /** IDENTIFYs allowed per period. Default 1000. */
  total?: number;
  /** IDENTIFYs left in the current period. Default: `total`. */
  remaining?: number;
  /** Length of the period, in ms; `remaining` goes back to `total` when it ends. Default 86400000. */
  resetAfter?: number;
}

/** Options of {@link GatewayEmulator.start}. */
export interface GatewayEmulatorOptions {
  /** TCP port on 127.0.0.1 for HTTP and the gateway alike. Default 0 (a free port). */
  port?: number;
  /** The only bot token accepted, over HTTP (`Authorization: Bot <token>`) and in IDENTIFY/RESUME. Default `'emulator-token'`. */
  token?: string;
  /** Recommended shard count, answered as `shards` by `GET /gateway/bot`. Default 1. */
  shards?: number;
  /** Smallest shard count IDENTIFY may use; fewer closes with 4011 (sharding required). Default 1. */
  requiredShards?: number;
  /** `session_start_limit.max_concurrency`: the number of identify buckets (`shard_id % max_concurrency`). Default 1. */
  maxConcurrency?: number;
  /**
   * One accepted IDENTIFY per bucket per this many ms; one more inside the window gets op 9
   * (invalid session, not resumable). Default 5000, as Discord; shorten it for tests.
   */
  identifyWindow?: number;
  /** `heartbeat_interval` sent in HELLO, in ms. Default 41250, as Discord. */
  heartbeatInterval?: number;
  /** Guilds each shard owns (sent unavailable in READY, then one GUILD_CREATE each). Default 1. */
  guildsPerShard?: number;
  /**
   * The daily IDENTIFY budget. Each accepted IDENTIFY uses one. An IDENTIFY with none left does
   * what Discord does: every session is terminated (close 4004) and the token is reset, so the
   * emulator refuses it from then on (4004 on the gateway, 401 over HTTP).
   * Default `{ total: 1000, remaining: 1000, resetAfter: 86_400_000 }`.
   */
  sessionStartLimit?: SessionStartLimitOptions;
}
