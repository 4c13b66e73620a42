import type { Logger } from '@nestjs/common';
import type { ShardSession } from '../protocol/session-info.interface.js';
import type { BlockLeaseStore, FencedWrite, HeldLease } from './block-lease.store.js';
import type { RedisConnection } from './redis.connection.js';

/** Placement's fence: the lease a shard's session writes must hold (undefined: none held). */
interface SessionFence {
  leases: BlockLeaseStore;
  leaseOf: (shardId: number) => HeldLease | undefined;
}

/**
 * The gateway sessions of the whole cluster, in one Redis hash (field: shard id, value: the
 * session as JSON), so that whichever host runs a shard next can RESUME it. Writes are coalesced
 * per event-loop turn (instances report a session per dispatch) and flushed one batch at a time,
 * so a later session never lands before an earlier one of the same shard; a failed write or read is
 * logged, and the host's own copy stands in (a RESUME of a stale session is refused by Discord,
 * and the shard IDENTIFYs instead).
 */
export class ClusterSessionStore {
  private readonly pending = new Map<number, ShardSession | null>();
  private flushScheduled = false;
  /** The flush under way, which also writes what is recorded while it runs. */
  private flushing: Promise<void> | undefined;
  private failing = false;
  private fence: SessionFence | undefined;

  constructor(
    private readonly connection: RedisConnection,
    private readonly logger: Logger,
  ) {}

  /**
   * From now on a session is written only while this host holds its shard's block, at the
   * lease's epoch (placement is on): a host that lost a block cannot overwrite the sessions of
   * the host that took it.
   */
  fenceWith(leases: BlockLeaseStore, leaseOf: (shardId: number) => HeldLease | undefined): void {
    this.fence = { leases, leaseOf };
  }

  /** Records the session of `shardId` (null: it ended), on the next turn. */
  write(shardId: number, session: ShardSession | null): void {
    this.pending.set(shardId, session);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  /**
   * Writes the sessions recorded so far now, rather than on the next turn; resolves once they
   * (and any flush under way) are written or refused.
   */
  async flushNow(): Promise<void> {
    if (this.pending.size > 0 || this.flushing !== undefined) await this.flush();
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

  private flush(): Promise<void> {
    this.flushScheduled = false;
    // One flush at a time: batches sent side by side could land out of order (a script retried
    // after NOSCRIPT, or one batch's writes interleaved with the next's).
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0) {
      const updates = [...this.pending];
      this.pending.clear();
      await (this.fence === undefined
        ? this.flushPlain(updates)
        : this.flushFenced(this.fence, updates));
    }
  }

  private async flushPlain(updates: Array<[number, ShardSession | null]>): Promise<void> {
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

  private async flushFenced(
    fence: SessionFence,
    updates: Array<[number, ShardSession | null]>,
  ): Promise<void> {
    const writes: FencedWrite[] = [];
    const refused: number[] = [];
    for (const [shardId, session] of updates) {
      const lease = fence.leaseOf(shardId);
      if (lease === undefined) refused.push(shardId);
      else writes.push({ lease, field: shardId, value: session && JSON.stringify(session) });
    }
    try {
      const written = await fence.leases.fencedHashWrites(this.key(), writes);
      for (const [index, made] of written.entries()) {
        if (!made) refused.push(writes[index]!.field as number);
      }
      this.recovered();
      for (const shardId of refused) {
        this.logger.warn(
          `The session of shard ${shardId} was not written: this host does not hold its block.`,
        );
      }
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
