/** Defaults of the IPC link (the README's options table lists those a user sets). */
export const IPC_DEFAULTS = {
  /** How often the manager repeats HELLO until IDENTIFY, in ms. */
  helloInterval: 1_000,
  /** How long the manager waits for IDENTIFY, counted from the connect call, in ms. */
  helloTimeout: 30_000,
  /** How often the instance sends HEARTBEAT, in ms. */
  heartbeatInterval: 5_000,
  /** Silent heartbeat intervals after which the other side is reported lost. */
  missedHeartbeats: 3,
  /** Default timeout of a request, in ms. */
  requestTimeout: 15_000,
  /** Delay between two attempts to reach an instance's socket that is not up yet, in ms. */
  connectRetryInterval: 50,
  /** How long an incomplete frame may wait for its end before its connection is closed, in ms. */
  partialFrameTimeout: 10_000,
  /** Connections an instance's socket accepts at once (the manager, plus strangers to refuse). */
  maxConnections: 16,
  /**
   * How long a connection to an instance may stay without a valid HELLO before it is closed, in
   * ms. The manager sends HELLO as soon as it connects, so only strangers ever reach it.
   */
  unidentifiedTimeout: 5_000,
} as const;

/** The longest Unix socket path the kernel accepts (`sun_path` less its terminating NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;
