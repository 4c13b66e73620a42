import type { Logger } from '@nestjs/common';
import type { ShardSession } from '../protocol/session-info.interface.js';
import { BlockLeaseStore, type BlockState, type HeldLease } from './block-lease.store.js';
import type { ClusterHostsView } from './cluster-hosts.view.js';
import type { ClusterSessionStore } from './cluster-session.store.js';
import { LeaseKeeper } from './lease.keeper.js';
import type { RedisConnection } from './redis.connection.js';

/**
 * How long the shards of a lost lease may take to stop, in ms. The lease is given up `ttl / 2`
 * after its last renewal was sent, noticed up to `ttl / 10` later (the keeper's watchdog), and
 * Redis hands it to another host `ttl` after that renewal at the earliest: a quarter leaves
 * `0.15 × ttl` for the SIGKILL of an instance that did not let go in time, and for its exit.
 */
export function dropDeadline(ttl: number): number {
  return ttl / 4;
}

/** What placement needs from this host's manager. */
export interface PlacementFleet {
  /** Whether a ready warm spare could take shards now. */
  hasSpare(): boolean;
  /** Gives `shards` to a ready spare, to RESUME with `sessions`; false when there is none. */
  adopt(shards: number[], sessions: Record<number, ShardSession | null>): Promise<boolean>;
  /**
   * Stops running `shards` at once, resumably; with `within` (ms), by then for sure (an
   * instance that has not let them go by then is SIGKILLed).
   */
  drop(shards: number[], within?: number): Promise<void>;
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

/**
 * Which shards this host runs, by block leases: it holds the blocks of the shards it was given
 * before it starts them (waiting while another host holds one), stops a block's shards the
 * moment it cannot be sure it still holds it, and writes sessions only for blocks it holds, at
 * their epoch. Every third of the lease TTL it surveys the blocks: it hands over those another
 * host asked for (its shards released first, their sessions written, then the lease passed on),
 * runs on a warm spare (RESUMing from the sessions in Redis) those handed to it and those of a
 * host that is gone, and, holding fewer than its share, asks the busiest host for one.
 */
export class HostPlacement {
  private readonly leases: BlockLeaseStore;
  private readonly keeper: LeaseKeeper;
  private readonly closing = new AbortController();
  private scanTimer: NodeJS.Timeout | undefined;
  private scanning = false;
  /** Blocks given up whose shards are still being stopped: not taken again until they are. */
  private readonly dropping = new Set<number>();
  /** Set from a failed survey until one succeeds: one log line per outage. */
  private surveyFailing = false;

  constructor(
    connection: RedisConnection,
    private readonly sessions: ClusterSessionStore,
    private readonly shape: PlacementShape,
    private readonly fleet: PlacementFleet,
    private readonly logger: Logger,
    private readonly view?: ClusterHostsView,
  ) {
    this.leases = new BlockLeaseStore(connection, shape.hostId);
    this.keeper = new LeaseKeeper(this.leases, shape.leaseTtl, logger);
    this.keeper.lost$.subscribe((lost) => {
      const shards = this.shardsOf(lost.block);
      this.logger.warn(
        `Lost the lease of block ${lost.block} (${lost.reason}): stopping shard(s) ${shards.join(', ')}.`,
      );
      this.dropping.add(lost.block);
      void this.fleet
        .drop(shards, dropDeadline(this.shape.leaseTtl))
        .catch(() => undefined)
        .finally(() => this.dropping.delete(lost.block));
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

  /** Starts the survey of the blocks, every third of the lease TTL. */
  start(): void {
    this.scanTimer = setInterval(() => void this.survey(), this.shape.leaseTtl / 3);
    this.scanTimer.unref();
    // The operator's view at once, not a third of the TTL later; it acts on nothing.
    this.leases
      .survey(this.blockCount())
      .then((states) => this.view?.update(states, this.shape))
      .catch(() => undefined);
  }

  /** The leases this host holds. */
  held(): HeldLease[] {
    return this.keeper.leases();
  }

  /** The epoch at which this host holds the block of `shardId` now, or undefined. */
  epochOfShard(shardId: number): number | undefined {
    return this.keeper.epochOf(this.blockOf(shardId));
  }

  /** Who holds the block of `shardId` in Redis now, at which epoch (undefined: nobody). */
  holderOfShard(shardId: number): Promise<{ host: string; epoch: number } | undefined> {
    return this.leases.holder(this.blockOf(shardId));
  }

  /**
   * Stops placement and frees this host's leases at once (a graceful stop), once the sessions
   * recorded so far are written under them: freed first, they would be refused, and the next
   * holder would IDENTIFY rather than RESUME.
   */
  async close(): Promise<void> {
    clearInterval(this.scanTimer);
    this.closing.abort();
    await this.sessions.flushNow();
    const held = this.keeper.leases();
    this.keeper.close();
    await Promise.all(held.map((lease) => this.leases.release(lease).catch(() => false)));
  }

  private async survey(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      const states = await this.leases.survey(this.blockCount());
      this.view?.update(states, this.shape);
      const handedOff = new Set<number>();
      for (const state of states) {
        if (
          !state.mine ||
          state.requestedBy === undefined ||
          state.requestNonce === undefined ||
          state.requestNonce === this.leases.nonce
        ) {
          continue;
        }
        const to = { host: state.requestedBy, nonce: state.requestNonce };
        if (await this.handOff(state.block, to)) handedOff.add(state.block);
      }
      for (const state of states) {
        if (!this.fleet.hasSpare()) break;
        // `mine`, not the host id: a block still held by this host's predecessor (a restart
        // with the same id) is not this process's, and becomes an orphan when its lease expires.
        const handedToMe =
          state.mine &&
          !handedOff.has(state.block) &&
          this.keeper.epochOf(state.block) === undefined;
        const orphan = state.holder === undefined && state.everHeld;
        // A block this host just gave up may expire before its old instance has let go of it.
        if ((handedToMe || orphan) && !this.dropping.has(state.block)) {
          await this.take(state.block, orphan);
        }
      }
      if (this.fleet.hasSpare()) await this.askForBlock(states);
      this.surveyFailing = false;
    } catch (error) {
      if (!this.surveyFailing) {
        this.logger.warn(`Could not survey the blocks (${(error as Error).message}).`);
      }
      this.surveyFailing = true;
      return;
    } finally {
      this.scanning = false;
    }
  }

  /** Runs `block` on a spare: an orphan claimed first, or one handed to this host. */
  private async take(block: number, orphan: boolean): Promise<void> {
    if (orphan && !(await this.leases.claim(block, this.shape.leaseTtl)).held) return;
    // Registered with the keeper (it renews it from now on) before anything runs.
    await this.keeper.claim(block, this.closing.signal);
    const shards = this.shardsOf(block);
    try {
      const sessions: Record<number, ShardSession | null> = {};
      for (const shard of shards) sessions[shard] = (await this.sessions.read(shard)) ?? null;
      this.logger.log(
        `Taking block ${block} (shard(s) ${shards.join(', ')}) ` +
          (orphan ? 'over from a host that is gone.' : 'handed over to this host.'),
      );
      if (!(await this.fleet.adopt(shards, sessions))) await this.keeper.release(block);
    } catch (error) {
      await this.letGo(block, `could not take it (${(error as Error).message})`);
    }
  }

  /**
   * Hands `block` to host `to`: its shards stop here first (resumably), their last sessions go
   * to Redis under this host's lease, and only then does the lease pass to `to`.
   */
  private async handOff(block: number, to: { host: string; nonce: string }): Promise<boolean> {
    const lease = this.keeper.leases().find((held) => held.block === block);
    if (lease === undefined) return false;
    const shards = this.shardsOf(block);
    this.logger.log(`Handing block ${block} (shard(s) ${shards.join(', ')}) to host "${to.host}".`);
    try {
      await this.fleet.drop(shards);
      await this.sessions.flushNow();
      if (await this.leases.transfer(lease, to.host, to.nonce, this.shape.leaseTtl)) {
        this.keeper.forget(block);
        return true;
      }
      await this.letGo(block, "it was no longer this host's to hand over");
    } catch (error) {
      await this.letGo(block, `could not hand it over (${(error as Error).message})`);
    }
    return false;
  }

  /**
   * After a failed take or handover: makes sure the shards of `block` no longer run here (a
   * drop by the lease's deadline; nothing to do if they were already stopped), then frees its
   * lease. Kept instead, it would be renewed with nothing running its shards, and no other host
   * would ever take them; freed, it is an orphan that a host with a spare takes at its survey.
   */
  private async letGo(block: number, why: string): Promise<void> {
    this.logger.warn(`Block ${block}: ${why}; stopping its shards here and freeing it.`);
    await this.fleet.drop(this.shardsOf(block), dropDeadline(this.shape.leaseTtl)).catch(() => {
      // The instance is replaced without them either way.
    });
    await this.keeper.release(block);
  }

  /** Holding fewer blocks than a fair share, asks the busiest host for one of its blocks. */
  private async askForBlock(states: readonly BlockState[]): Promise<void> {
    const me = this.shape.hostId;
    if (states.some((state) => state.requestNonce === this.leases.nonce)) return;
    const counts = new Map<string, number>();
    for (const state of states) {
      if (state.holder !== undefined) counts.set(state.holder, (counts.get(state.holder) ?? 0) + 1);
    }
    const share = Math.floor(states.length / new Set([...counts.keys(), me]).size);
    if ((counts.get(me) ?? 0) >= share) return;
    let busiest: string | undefined;
    for (const [host, count] of counts) {
      if (host !== me && count > share && count > (counts.get(busiest ?? '') ?? 0)) busiest = host;
    }
    const wanted = states.findLast(
      (state) => state.holder === busiest && state.requestedBy === undefined,
    );
    if (busiest === undefined || wanted === undefined) return;
    if (await this.leases.request(wanted.block, this.shape.leaseTtl)) {
      this.logger.log(`Asked host "${busiest}" to hand block ${wanted.block} over.`);
    }
  }

  private blockCount(): number {
    return Math.ceil(this.shape.totalShards / this.shape.blockSize);
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
