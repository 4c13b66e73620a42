import type { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type {
  CoordinationRedisClient,
  ResolvedCoordinationOptions,
} from './coordination-options.interface.js';
import { loadRedis } from './redis.loader.js';

/** The connection events this host watches on its Redis client (ioredis' names). */
interface ConnectionEvents {
  on(event: 'close' | 'ready', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
}

/** How long ioredis waits between reconnection attempts at most, in ms. */
const MAX_RECONNECT_DELAY = 1_000;

/**
 * This host's connection to the cluster's Redis: key names under the cluster's prefix, Lua
 * scripts run atomically by Redis, and the news that the connection dropped (Redis restarted, or
 * this host was cut off), which the identify gate needs. A connection it opened itself is closed
 * with {@link close}; one the user gave is left open.
 */
export class RedisConnection {
  private readonly prefix: string;
  private readonly scriptHashes = new Map<string, string>();
  private readonly dropListeners = new Set<() => void>();
  private readonly onClose = () => {
    for (const listener of this.dropListeners) listener();
  };
  /** Set from a connection error until the connection is ready again: one log line per outage. */
  private erroring = false;
  private readonly onError = (error: Error) => {
    // ioredis reconnects by itself; without a listener it would print every failed attempt.
    if (this.erroring) return;
    this.erroring = true;
    this.logger.debug?.(`Redis connection error: ${error.message}`);
  };
  private readonly onReady = () => {
    this.erroring = false;
  };

  private constructor(
    readonly client: CoordinationRedisClient,
    private readonly owned: boolean,
    readonly options: ResolvedCoordinationOptions,
    private readonly logger: Logger,
  ) {
    // The braces are a Redis Cluster hash tag: every key of one fleet is in one slot, so one
    // script may touch several.
    this.prefix = `nestjs-sharding:{${options.cluster}}:`;
    const events = client as Partial<ConnectionEvents>;
    events.on?.('close', this.onClose);
    if (owned) {
      events.on?.('error', this.onError);
      events.on?.('ready', this.onReady);
    }
  }

  /** Opens the connection `options.redis` describes, or takes the client given. */
  static async open(
    options: ResolvedCoordinationOptions,
    logger: Logger,
  ): Promise<RedisConnection> {
    const given = options.redis;
    if (typeof given === 'object' && typeof (given as { call?: unknown }).call === 'function') {
      return new RedisConnection(given as CoordinationRedisClient, false, options, logger);
    }
    const Redis = await loadRedis();
    const settings = {
      // A command fails fast while Redis is away: the callers retry, and never guess.
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt: number) => Math.min(attempt * 100, MAX_RECONNECT_DELAY),
      connectionName: `nestjs-sharding:${options.hostId}`,
    };
    let client: CoordinationRedisClient;
    if (typeof given === 'string') {
      client = /^rediss?:\/\//i.test(given)
        ? new Redis(given, settings)
        : new Redis({ ...settings, path: given });
    } else {
      client = new Redis({ ...settings, ...(given as Record<string, unknown>) });
    }
    return new RedisConnection(client, true, options, logger);
  }

  /** The full name of one of the cluster's keys. */
  key(...parts: Array<string | number>): string {
    return this.prefix + parts.join(':');
  }

  /**
   * Runs a Lua script atomically (Redis runs nothing else meanwhile) and returns its reply. The
   * script goes by its SHA1 (`EVALSHA`); its text only when Redis does not know it yet (first
   * use, or Redis restarted).
   */
  async eval(script: string, keys: string[], args: Array<string | number>): Promise<unknown> {
    let sha = this.scriptHashes.get(script);
    if (sha === undefined) {
      sha = createHash('sha1').update(script).digest('hex');
      this.scriptHashes.set(script, sha);
    }
    try {
      return await this.client.call('EVALSHA', sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return this.client.call('EVAL', script, keys.length, ...keys, ...args);
    }
  }

  /** Calls `listener` each time the connection drops; returns the way to stop. */
  onDrop(listener: () => void): () => void {
    this.dropListeners.add(listener);
    return () => this.dropListeners.delete(listener);
  }

  /** Stops watching the client, and closes it if this host opened it. */
  async close(): Promise<void> {
    const events = this.client as Partial<ConnectionEvents>;
    events.off?.('close', this.onClose);
    this.dropListeners.clear();
    if (!this.owned) return;
    try {
      await this.client.call('QUIT');
    } catch {
      // Already gone.
    }
    (this.client as { disconnect?: () => void }).disconnect?.();
    events.off?.('error', this.onError);
    events.off?.('ready', this.onReady);
  }
}
