/** The node-ipc event name that carries every packet (the name Discordoo uses). */
export const IPC_MESSAGE_EVENT = '__DDOO__.MESSAGE';

/** The `from` value of a dispatch sent by the manager. */
export const MANAGER_SENDER = 'manager';

/** Default prefix of an instance's socket name (as in Discordoo). */
export const DEFAULT_APPSPACE = 'ddoo';

/**
 * Largest frame either side accepts, in bytes (node-ipc's guarded profile default: 1 MiB).
 * A larger frame closes the connection that sent it.
 */
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;

/** Library event names carried in `t` of a DISPATCH. User events are any other string. */
export const LibraryEvent = {
  /** The instance's shards are ready. */
  CONNECTED: 'CONNECTED',
  /** The manager asks the instance to stop gracefully. */
  DESTROYING: 'DESTROYING',
  /** The instance gets a new shard set. */
  RESTRUCTURING: 'RESTRUCTURING',
  /** A plain message. */
  MESSAGE: 'MESSAGE',
  /** Instance → manager request: may this shard IDENTIFY now? Answered when a slot is granted. */
  IDENTIFY_SLOT: 'IDENTIFY_SLOT',
  /** Instance → manager: the shard no longer waits for its slot. */
  IDENTIFY_CANCEL: 'IDENTIFY_CANCEL',
  /**
   * Instance → manager: the shard has sent the IDENTIFY it was granted. The manager times the
   * bucket's next window from this report, as Discord times it from the IDENTIFY it receives.
   */
  IDENTIFY_SENT: 'IDENTIFY_SENT',
  /** Instance → manager: a shard's gateway session changed (or ended: `session: null`). */
  SESSION_UPDATE: 'SESSION_UPDATE',
  /**
   * Instance → manager request: replace every instance by a new generation, shards kept online
   * (`ShardingManager.rollingRestart()`); answered at once with the instances it will replace.
   */
  ROLLING_RESTART: 'ROLLING_RESTART',
  /**
   * Instance → manager: Discord closed a shard with 4011 (sharding required): the bot needs more
   * shards. The manager reshards under `autoReshard`, else says what to do.
   */
  SHARDING_REQUIRED: 'SHARDING_REQUIRED',
  /** Instance → manager request: the last known gateway session of a shard, or null. */
  SESSION_GET: 'SESSION_GET',
  /** Instance → manager request: the fleet's `GET /gateway/bot` facts, as the manager knows them. */
  GATEWAY_INFO: 'GATEWAY_INFO',
} as const;
