import type { Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Subject, type Observable } from 'rxjs';
import type { BlockLeaseStore, HeldLease } from './block-lease.store.js';

/** A lease this host no longer holds, and why. */
export interface LostLease extends HeldLease {
  /**
   * `unrenewed`: this host could not renew it within half the TTL (paused, cut off from Redis),
   * so it gives it up before Redis can hand it to another host; `refused`: another host holds
   * it.
   */
  reason: 'unrenewed' | 'refused';
}

/**
 * Keeps this host's block leases: claims blocks (waiting while another host holds them), renews
 * them every sixth of the TTL, and gives them up on `lost$` as soon as it cannot be sure it
 * still holds them. The argument: Redis lets a lease run `ttl` from the last renewal it ran,
 * and that renewal ran after this host sent it; so a host that has not completed a renewal
 * within `ttl / 2` of sending one gives its shards up at least `ttl / 2` before anyone else can
 * take them, provided the two clocks run at rates within a factor of 2 (they need not agree).
 * This host's own clock is read only as a monotonic duration (`performance.now()`).
 */
export class LeaseKeeper {
  private readonly held = new Map<number, HeldLease>();
  private readonly lost = new Subject<LostLease>();
  /** When the last renewal that succeeded was sent (`performance.now()`). */
  private renewedAt = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  /** The quick retry after a failed renewal: cleared on close, so nothing renews after it. */
  private retryTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  private renewFailing = false;
  private closed = false;

  /** Every lease given up, as it happens (its shards must stop now). */
  readonly lost$: Observable<LostLease> = this.lost.asObservable();

  constructor(
    private readonly store: BlockLeaseStore,
    private readonly ttl: number,
    private readonly logger: Logger,
  ) {}

  /** The leases held now. */
  leases(): HeldLease[] {
    return [...this.held.values()];
  }

  /** The epoch this host holds `block` at, or undefined. */
  epochOf(block: number): number | undefined {
    return this.held.get(block)?.epoch;
  }

  /**
   * Resolves once this host holds `block` (at once if it does), waiting while another host
   * holds it and retrying while Redis cannot be reached. Rejects when `signal` aborts or the
   * keeper is closed.
   */
  async claim(block: number, signal: AbortSignal): Promise<HeldLease> {
    while (!this.closed) {
      signal.throwIfAborted();
      const existing = this.held.get(block);
      if (existing !== undefined) return existing;
      let wait: number;
      const sentAt = performance.now();
      try {
        const result = await this.store.claim(block, this.ttl);
        if (result.held) {
          const lease = { block, epoch: result.epoch };
          if (this.closed || signal.aborted) {
            // Taken as the keeper closed: nobody would renew it, so it is freed, not kept.
            await this.store.release(lease).catch(() => false);
            break;
          }
          this.held.set(block, lease);
          // A claim is a renewal of this lease: its TTL runs from after `sentAt`.
          if (this.held.size === 1) this.renewedAt = sentAt;
          this.schedule();
          return lease;
        }
        wait = result.ms;
      } catch (error) {
        this.logger.warn(`Could not claim block ${block} (${(error as Error).message}); retrying.`);
        wait = Math.min(this.ttl / 3, 1_000);
      }
      await delay(wait, undefined, { signal });
    }
    signal.throwIfAborted();
    throw new Error('The lease keeper is closed.');
  }

  /** Gives `block` up at once (a graceful stop, or a handover), freeing it in Redis. */
  async release(block: number): Promise<void> {
    const lease = this.held.get(block);
    if (lease === undefined) return;
    this.held.delete(block);
    try {
      await this.store.release(lease);
    } catch {
      // Redis lets it expire instead.
    }
  }

  /** Stops renewing `block`, handed to another host (no `lost$`: its shards were let go first). */
  forget(block: number): void {
    this.held.delete(block);
  }

  /**
   * Stops renewing (the leases then expire in Redis, or were released). Nothing is sent after
   * it: a renewal of a lease the caller then releases would find it free and take it again.
   */
  close(): void {
    this.closed = true;
    clearInterval(this.renewTimer);
    clearInterval(this.watchdog);
    clearTimeout(this.retryTimer);
    this.held.clear();
    this.lost.complete();
  }

  private schedule(): void {
    if (this.closed || this.renewTimer !== undefined) return;
    // A sixth: a renewal may fail, or come late on a busy event loop, twice before half the TTL
    // is gone and the host gives its leases up.
    this.renewTimer = setInterval(() => void this.renew(), this.ttl / 6);
    this.renewTimer.unref();
    // Checked more often than renewals, so that a host waking from a pause gives up its leases
    // on its first turn, before anything it runs can act on them.
    this.watchdog = setInterval(() => this.check(), this.ttl / 10);
    this.watchdog.unref();
  }

  private check(): void {
    if (this.held.size === 0 || performance.now() - this.renewedAt <= this.ttl / 2) return;
    this.logger.warn(
      `No lease renewal for over ${this.ttl / 2} ms: giving up block(s) ` +
        `${[...this.held.keys()].join(', ')} before another host can take them.`,
    );
    this.giveUp([...this.held.values()], 'unrenewed');
  }

  private async renew(): Promise<void> {
    this.check();
    if (this.closed || this.renewing || this.held.size === 0) return;
    this.renewing = true;
    const leases = [...this.held.values()];
    const sentAt = performance.now();
    try {
      const epochs = await this.store.renew(leases, this.ttl);
      // A lease given up meanwhile stays given up: only those still held count as renewed.
      this.renewedAt = sentAt;
      this.renewFailing = false;
      const refused: HeldLease[] = [];
      for (const [index, lease] of leases.entries()) {
        const epoch = epochs[index];
        if (epoch === undefined) refused.push(lease);
        else if (epoch !== lease.epoch && this.held.get(lease.block) === lease) {
          // Redis had forgotten it (restarted) and nobody held it: kept, at a new epoch.
          this.held.set(lease.block, { block: lease.block, epoch });
        }
      }
      this.check();
      if (refused.length > 0) this.giveUp(refused, 'refused');
    } catch (error) {
      // Once per outage: it retries four times a second.
      if (!this.renewFailing) {
        this.logger.warn(`Could not renew leases (${(error as Error).message}); retrying.`);
      }
      this.renewFailing = true;
      // Soon, not in a sixth of the TTL: a short Redis outage (a restart) must not cost the
      // leases, and half the TTL is all the time there is.
      if (!this.closed) {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => void this.renew(), Math.min(250, this.ttl / 10));
        this.retryTimer.unref();
      }
    } finally {
      this.renewing = false;
    }
  }

  private giveUp(leases: readonly HeldLease[], reason: LostLease['reason']): void {
    for (const lease of leases) {
      if (this.held.get(lease.block)?.epoch !== lease.epoch) continue;
      this.held.delete(lease.block);
      this.lost.next({ ...lease, reason });
    }
  }
}
