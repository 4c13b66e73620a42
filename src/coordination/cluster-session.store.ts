import type { Logger } from '@nestjs/common';
import type { ShardSession } from '../protocol/session-info.interface.js';
import type { RedisConnection } from './redis.connection.js';

/**
 * The gateway sessions of the whole cluster, in one Redis hash (field: shard id, value: the
 * session as JSON), so that whichever host runs a shard next can RESUME it. Writes are coalesced
 * per event-loop turn (instances report a session per dispatch); a failed write or read is
 * logged, and the host's own copy stands in (a RESUME of a stale session is refused by Discord,
 * and the shard IDENTIFYs instead).
 */
export class ClusterSessionStore {
  private readonly pending = new Map<number, ShardSession | null>();
  private flushScheduled = false;
  private failing = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly logger: Logger,
  ) {}

  /** Records the session of `shardId` (null: it ended), on the next turn. */
  write(shardId: number, session: ShardSession | null): void {
    this.pending.set(shardId, session);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  /** The session of `shardId` the cluster knows; undefined when Redis could not be asked. */
  async read(shardId: number): Promise<ShardSession | null | undefined> {
    try {
      const value = await this.connection.client.call('HGET', this.key(), shardId);
      this.recovered();
      return typeof value === 'string' ? (JSON.parse(value) as ShardSession) : null;
    } catch (error) {
      this.failed('read', error as Error);
      return undefined;
    }
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const updates = [...this.pending];
    this.pending.clear();
    const set: Array<string | number> = [];
    const ended: number[] = [];
    for (const [shardId, session] of updates) {
      if (session === null) ended.push(shardId);
      else set.push(shardId, JSON.stringify(session));
    }
    try {
      if (set.length > 0) await this.connection.client.call('HSET', this.key(), ...set);
      if (ended.length > 0) await this.connection.client.call('HDEL', this.key(), ...ended);
      this.recovered();
    } catch (error) {
      this.failed('write', error as Error);
    }
  }

  private key(): string {
    return this.connection.key('sessions');
  }

  private failed(what: string, error: Error): void {
    if (this.failing) return;
    this.failing = true;
    this.logger.warn(
      `Could not ${what} gateway sessions in Redis (${error.message}); this host's own copies ` +
        'stand in until it can.',
    );
  }

  private recovered(): void {
    this.failing = false;
  }
}
