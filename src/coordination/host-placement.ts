import type { Logger } from '@nestjs/common';
import type { ShardSession } from '../protocol/session-info.interface.js';
import { BlockLeaseStore, type HeldLease } from './block-lease.store.js';
import type { ClusterSessionStore } from './cluster-session.store.js';
import { LeaseKeeper } from './lease.keeper.js';
import type { RedisConnection } from './redis.connection.js';

/** What placement needs from this host's manager. */
export interface PlacementFleet {
  /** Whether a ready warm spare could take shards now. */
  hasSpare(): boolean;
  /** Gives `shards` to a ready spare, to RESUME with `sessions`; false when there is none. */
  adopt(shards: number[], sessions: Record<number, ShardSession | null>): Promise<boolean>;
  /** Stops running `shards` at once, resumably. */
  drop(shards: number[]): Promise<void>;
}

/** The fleet's shape, for cutting it into blocks. */
export interface PlacementShape {
  /** The fleet's total shard count. */
  totalShards: number;
  /** Shards per block: `max_concurrency`, so that a block holds one shard of each bucket. */
  blockSize: number;
  /** How long a lease lasts without renewal, in ms. */
  leaseTtl: number;
  /** This host's id. */
  hostId: string;
}

// KEYS: every block's lease, then every block's epoch counter. Returns the blocks that were
// held once (an epoch exists) and are held by nobody now: their host is gone.
const ORPHANS = `
local blocks = #KEYS / 2
local orphans = {}
for b = 1, blocks do
  if redis.call('EXISTS', KEYS[b]) == 0 and redis.call('EXISTS', KEYS[blocks + b]) == 1 then
    table.insert(orphans, b - 1)
  end
end
return orphans
`;

/**
 * Which shards this host runs, by block leases: it holds the blocks of the shards it was given
 * before it starts them (waiting while another host holds one), stops a block's shards the
 * moment it cannot be sure it still holds it, takes over (with a warm spare, RESUMing from the
 * sessions in Redis) the blocks of a host whose leases ran out, and writes sessions only for
 * blocks it holds, at their epoch.
 */
export class HostPlacement {
  private readonly leases: BlockLeaseStore;
  private readonly keeper: LeaseKeeper;
  private readonly closing = new AbortController();
  private scanTimer: NodeJS.Timeout | undefined;
  private scanning = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly sessions: ClusterSessionStore,
    private readonly shape: PlacementShape,
    private readonly fleet: PlacementFleet,
    private readonly logger: Logger,
  ) {
    this.leases = new BlockLeaseStore(connection, shape.hostId);
    this.keeper = new LeaseKeeper(this.leases, shape.leaseTtl, logger);
    this.keeper.lost$.subscribe((lost) => {
      const shards = this.shardsOf(lost.block);
      this.logger.warn(
        `Lost the lease of block ${lost.block} (${lost.reason}): stopping shard(s) ${shards.join(', ')}.`,
      );
      void this.fleet.drop(shards);
    });
    sessions.fenceWith(this.leases, (shardId) =>
      this.keeper.leases().find((lease) => lease.block === this.blockOf(shardId)),
    );
  }

  /**
   * Holds the blocks of `shards` (this host's planned ones), waiting while others hold them.
   * Rejects when `signal` aborts (the manager is shutting down) or placement closes.
   */
  async claim(shards: readonly number[], signal: AbortSignal): Promise<void> {
    const stop = AbortSignal.any([signal, this.closing.signal]);
    const blocks = [...new Set(shards.map((shard) => this.blockOf(shard)))];
    for (const block of blocks) {
      const lease = this.keeper.claim(block, stop);
      const slow = setTimeout(
        () =>
          this.logger.warn(
            `Block ${block} is held by another host: waiting for it before starting its shards.`,
          ),
        1_000,
      );
      try {
        await lease;
      } finally {
        clearTimeout(slow);
      }
    }
  }

  /** Starts taking over the blocks of hosts that are gone, every third of the lease TTL. */
  start(): void {
    this.scanTimer = setInterval(() => void this.adoptOrphans(), this.shape.leaseTtl / 3);
    this.scanTimer.unref();
  }

  /** The leases this host holds. */
  held(): HeldLease[] {
    return this.keeper.leases();
  }

  /** Stops placement and frees this host's leases at once (a graceful stop). */
  async close(): Promise<void> {
    clearInterval(this.scanTimer);
    this.closing.abort();
    const held = this.keeper.leases();
    this.keeper.close();
    await Promise.all(held.map((lease) => this.leases.release(lease).catch(() => false)));
  }

  private async adoptOrphans(): Promise<void> {
    if (this.scanning || !this.fleet.hasSpare()) return;
    this.scanning = true;
    try {
      const count = Math.ceil(this.shape.totalShards / this.shape.blockSize);
      const blocks = Array.from({ length: count }, (_, block) => block);
      const orphans = (await this.connection.eval(
        ORPHANS,
        [
          ...blocks.map((block) => this.connection.key('lease', block)),
          ...blocks.map((block) => this.connection.key('epoch', block)),
        ],
        [],
      )) as number[];
      for (const block of orphans) {
        if (!this.fleet.hasSpare()) break;
        const claimed = await this.leases.claim(block, this.shape.leaseTtl);
        if (!claimed.held) continue;
        // Registered with the keeper (it renews it from now on) before anything runs.
        await this.keeper.claim(block, this.closing.signal);
        const shards = this.shardsOf(block);
        const sessions: Record<number, ShardSession | null> = {};
        for (const shard of shards) sessions[shard] = (await this.sessions.read(shard)) ?? null;
        this.logger.log(
          `Taking over block ${block} (shard(s) ${shards.join(', ')}) of a host that is gone.`,
        );
        if (!(await this.fleet.adopt(shards, sessions))) await this.keeper.release(block);
      }
    } catch (error) {
      this.logger.warn(`Could not look for blocks to take over (${(error as Error).message}).`);
    } finally {
      this.scanning = false;
    }
  }

  private blockOf(shardId: number): number {
    return Math.floor(shardId / this.shape.blockSize);
  }

  private shardsOf(block: number): number[] {
    const first = block * this.shape.blockSize;
    const last = Math.min(first + this.shape.blockSize, this.shape.totalShards);
    return Array.from({ length: last - first }, (_, index) => first + index);
  }
}
