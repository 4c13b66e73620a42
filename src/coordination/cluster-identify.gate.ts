import type { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { IdentifyCancelledError } from '../errors/identify.errors.js';
import type { RedisConnection } from './redis.connection.js';

/** The daily IDENTIFY budget a host knows, to seed the shared count when Redis has none. */
export interface BudgetSeed {
  /** IDENTIFYs left. */
  remaining: number;
  /** Ms until the budget resets. */
  resetAfter: number;
}

/** Options of a {@link ClusterIdentifyGate}. */
export interface ClusterIdentifyGateOptions {
  /** Buckets: `shard_id % maxConcurrency`. */
  maxConcurrency: number;
  /** One IDENTIFY per bucket per this many ms, margin included. */
  window: number;
  /** How long a grant holds its bucket when its IDENTIFY-sent report never comes, in ms. */
  hold: number;
  /** This host's id, written into the gate's tokens (for an operator reading Redis). */
  hostId: string;
  /** What this host knows of the daily budget now; undefined: unknown (not counted). */
  budgetSeed: () => BudgetSeed | undefined;
  /** How long to wait before asking Redis again after it failed, in ms. */
  retryDelay: number;
}

// KEYS: the bucket's gate, the daily budget. ARGV: token, hold ms, seed remaining (-1: this
// host knows no budget), seed ms to reset. Returns {1, 0} granted, {0, ms} the bucket is busy
// for ms, {2, ms} the budget is spent and resets in ms. A host without a seed still counts
// against a budget another host seeded: every IDENTIFY of the bot spends it.
const ACQUIRE = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl ~= -2 then
  if ttl == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    ttl = tonumber(ARGV[2])
  end
  return {0, ttl}
end
if tonumber(ARGV[3]) >= 0 then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4], 'NX')
end
local left = redis.call('GET', KEYS[2])
if left then
  if tonumber(left) <= 0 then
    return {2, redis.call('PTTL', KEYS[2])}
  end
  redis.call('DECR', KEYS[2])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, 0}
`;

// KEYS: the bucket's gate. ARGV: token, window ms. The IDENTIFY went before Redis ran this, so
// the bucket stays shut one window from Redis' now, whoever holds it; a window only grows.
const SENT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then
  redis.call('SET', KEYS[1], 'late:' .. ARGV[1], 'PX', ARGV[2])
  return 2
end
if ttl < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 3
`;

/**
 * The identify gate every host of a cluster shares: one IDENTIFY per bucket per window across
 * all hosts, and one daily session budget, both kept in Redis and timed by Redis' own clock
 * (key TTLs), never by a host's. A grant shuts the bucket for `hold`; the report that the
 * IDENTIFY went shortens that to one window from when Redis heard it. A host that cannot reach
 * Redis grants nothing (it waits and says so); after losing Redis it waits one `hold` before its
 * next grant, since a restarted Redis has forgotten the windows under way.
 */
export class ClusterIdentifyGate {
  private readonly tokens = new Map<number, string>();
  private unreachableSince: number | undefined;
  /** Set when the connection dropped: the windows Redis knew may be gone. */
  private forgotten = false;
  private readonly stopWatching: () => void;

  constructor(
    private readonly connection: RedisConnection,
    private readonly options: ClusterIdentifyGateOptions,
    private readonly logger: Logger,
  ) {
    this.stopWatching = connection.onDrop(() => {
      this.forgotten = true;
    });
  }

  /**
   * Resolves when `shardId` may IDENTIFY as far as the whole cluster is concerned. Rejects with
   * {@link IdentifyCancelledError} once `signal` aborts; otherwise waits as long as it takes.
   */
  async acquire(shardId: number, signal: AbortSignal): Promise<void> {
    const bucket = shardId % this.options.maxConcurrency;
    const token = `${this.options.hostId}:${shardId}:${randomUUID()}`;
    for (;;) {
      if (signal.aborted) throw new IdentifyCancelledError(shardId);
      let wait: number;
      try {
        if (this.forgotten) {
          await this.connection.client.call('PING');
          this.forgotten = false;
          this.logger.warn(
            `The connection to Redis dropped: no IDENTIFY for ${this.options.hold} ms, the ` +
              'longest an IDENTIFY of another host could still shut its bucket.',
          );
          await this.pause(this.options.hold, signal, shardId);
        }
        const seed = this.options.budgetSeed();
        const [state, ms] = (await this.connection.eval(
          ACQUIRE,
          [this.connection.key('identify', bucket), this.connection.key('budget')],
          [
            token,
            this.options.hold,
            seed?.remaining ?? -1,
            Math.max(1, Math.ceil(seed?.resetAfter ?? 1)),
          ],
        )) as [number, number];
        this.reachable();
        if (state === 1) {
          this.tokens.set(shardId, token);
          return;
        }
        if (state === 2) {
          this.logger.warn(
            `The cluster's daily IDENTIFY budget is spent; shard ${shardId} waits ${Math.ceil(ms / 1000)} s for its reset.`,
          );
        }
        wait = Math.max(1, ms);
      } catch (error) {
        if (error instanceof IdentifyCancelledError) throw error;
        this.unreachable(error as Error);
        wait = this.options.retryDelay;
      }
      await this.pause(wait, signal, shardId);
    }
  }

  /**
   * `shardId` sent its IDENTIFY: its bucket stays shut one window from now, Redis' now. Failures
   * are logged: the grant's `hold` still covers the IDENTIFY.
   */
  async sent(shardId: number): Promise<void> {
    const token = this.tokens.get(shardId) ?? `${this.options.hostId}:${shardId}`;
    this.tokens.delete(shardId);
    try {
      await this.connection.eval(
        SENT,
        [this.connection.key('identify', shardId % this.options.maxConcurrency)],
        [token, this.options.window],
      );
    } catch (error) {
      this.logger.warn(
        `Could not tell Redis that shard ${shardId} sent its IDENTIFY (${(error as Error).message}); ` +
          `its bucket stays shut for ${this.options.hold} ms from the grant.`,
      );
    }
  }

  /** Stops watching the connection. */
  close(): void {
    this.stopWatching();
  }

  private async pause(ms: number, signal: AbortSignal, shardId: number): Promise<void> {
    try {
      await delay(ms, undefined, { signal });
    } catch {
      throw new IdentifyCancelledError(shardId);
    }
  }

  private unreachable(error: Error): void {
    if (this.unreachableSince !== undefined) return;
    this.unreachableSince = Date.now();
    this.forgotten = true;
    this.logger.warn(
      `Redis cannot be reached (${error.message}): this host sends no IDENTIFY until it can.`,
    );
  }

  private reachable(): void {
    if (this.unreachableSince === undefined) return;
    this.logger.log(
      `Redis is reachable again after ${Date.now() - this.unreachableSince} ms; IDENTIFYs resume.`,
    );
    this.unreachableSince = undefined;
  }
}
