import { Subject, type Observable } from 'rxjs';
import { DISCORD_IDENTIFY_WINDOW } from '../common/discord.constants.js';
import { IdentifyBudgetExhaustedError, IdentifyCancelledError } from '../errors/identify.errors.js';

const DAY = 24 * 60 * 60 * 1000;

/** Options of an {@link IdentifyQueue}. */
export interface IdentifyQueueOptions {
  /** IDENTIFYs allowed at once (`session_start_limit.max_concurrency`). Default 1. */
  maxConcurrency?: number;
  /** The window of one IDENTIFY per bucket, in ms. Default 5000. */
  window?: number;
  /** IDENTIFYs left today (`session_start_limit.remaining`). Default: no limit known. */
  remaining?: number;
  /** When the daily budget resets, in ms from now (`session_start_limit.reset_after`). */
  resetAfter?: number;
  /** The daily budget after a reset (`session_start_limit.total`). Default: `remaining`. */
  total?: number;
  /**
   * Time each bucket's window from the IDENTIFY actually sent, as reported with {@link
   * IdentifyQueue.sent}, instead of from the grant: the value is how long past the window a
   * grant whose report never comes (its instance died, its client never sent) still holds the
   * bucket, in ms. Default: undefined (windows run from the grant; no reports expected).
   */
  sentReportGrace?: number;
}

/** One IDENTIFY slot granted (the items of `ShardingManager.identify$`). */
export interface IdentifyGrant {
  shardId: number;
  bucket: number;
  /** When, in ms since the Unix epoch. */
  at: number;
  /** How long the shard waited in the queue, in ms. */
  waited: number;
  /** Requests still waiting after this grant. */
  waiting: number;
}

/** The state of an {@link IdentifyQueue} (`ShardingManager.identifyProgress()`). */
export interface IdentifyQueueProgress {
  /** IDENTIFY slots granted so far. */
  granted: number;
  /** Requests waiting now. */
  waiting: number;
  /** Buckets (IDENTIFYs allowed per window). */
  maxConcurrency: number;
  /** The window of one IDENTIFY per bucket, in ms (margin included). */
  window: number;
}

interface Waiter {
  shardId: number;
  since: number;
  resolve: () => void;
  reject: (error: Error) => void;
  detach: () => void;
}

interface Bucket {
  queue: Waiter[];
  /** Earliest time the next IDENTIFY of this bucket may go. */
  nextAt: number;
  timer: NodeJS.Timeout | undefined;
  /** The last shard granted whose IDENTIFY-sent report has not come (report mode only). */
  unreported: number | undefined;
}

/**
 * The manager's one identify queue for all its instances (the README's "Identify pacing and sessions"): one IDENTIFY per
 * bucket (`shard_id % max_concurrency`) per window, first come first served within a bucket,
 * waits cancellable, the daily budget checked before each grant. Only IDENTIFY is paced:
 * buckets run in parallel, and nothing else waits.
 */
export class IdentifyQueue {
  private readonly maxConcurrency: number;
  private readonly window: number;
  private readonly buckets = new Map<number, Bucket>();
  private remaining: number | undefined;
  private resetAt: number | undefined;
  private readonly total: number | undefined;
  private readonly sentReportGrace: number | undefined;
  private closed = false;
  private readonly grants = new Subject<IdentifyGrant>();
  private grantedCount = 0;

  /** Every grant, in order. */
  readonly grant$: Observable<IdentifyGrant> = this.grants.asObservable();

  constructor(options: IdentifyQueueOptions = {}) {
    this.maxConcurrency = options.maxConcurrency ?? 1;
    this.window = options.window ?? DISCORD_IDENTIFY_WINDOW;
    this.remaining = options.remaining;
    this.total = options.total ?? options.remaining;
    this.sentReportGrace = options.sentReportGrace;
    this.resetAt = options.resetAfter === undefined ? undefined : Date.now() + options.resetAfter;
  }

  /** Grants so far, and requests waiting now. */
  get progress(): IdentifyQueueProgress {
    let waiting = 0;
    for (const bucket of this.buckets.values()) waiting += bucket.queue.length;
    return {
      granted: this.grantedCount,
      waiting,
      maxConcurrency: this.maxConcurrency,
      window: this.window,
    };
  }

  /**
   * The daily budget as this queue counts it: IDENTIFYs left and ms until the reset (undefined
   * when unknown), for answering instances that ask for `/gateway/bot`.
   */
  get budget(): {
    total: number | undefined;
    remaining: number | undefined;
    resetAfter: number | undefined;
  } {
    return {
      total: this.total,
      remaining: this.remaining,
      resetAfter: this.resetAt === undefined ? undefined : Math.max(0, this.resetAt - Date.now()),
    };
  }

  /**
   * Resolves when `shardId` may IDENTIFY. Rejects with {@link IdentifyCancelledError} when
   * `signal` aborts (or {@link cancel} is called) first, and with
   * {@link IdentifyBudgetExhaustedError} when the daily budget is used up.
   */
  acquire(shardId: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || this.closed) return Promise.reject(new IdentifyCancelledError(shardId));
    const bucket = this.bucket(shardId % this.maxConcurrency);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => this.remove(bucket, waiter, new IdentifyCancelledError(shardId));
      const waiter: Waiter = {
        shardId,
        since: Date.now(),
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      bucket.queue.push(waiter);
      this.pump(shardId % this.maxConcurrency);
    });
  }

  /** Cancels every wait of `shardId` (its instance is stopping, or it asked again). */
  cancel(shardId: number): void {
    const bucket = this.buckets.get(shardId % this.maxConcurrency);
    if (bucket === undefined) return;
    for (const waiter of bucket.queue.filter((candidate) => candidate.shardId === shardId)) {
      this.remove(bucket, waiter, new IdentifyCancelledError(shardId));
    }
  }

  /**
   * `shardId` has sent its IDENTIFY (its instance says so; the call comes when the report
   * arrived, so after the real send): its bucket's next window runs from now. Discord times the
   * window from the IDENTIFY it receives, and a loaded instance may send long after its grant.
   * Only moves a window later, never earlier than the grant's; ignored unless the queue was
   * built with `sentReportGrace`.
   */
  sent(shardId: number): void {
    if (this.sentReportGrace === undefined || this.closed) return;
    const id = shardId % this.maxConcurrency;
    const bucket = this.buckets.get(id);
    if (bucket === undefined) return;
    const next = Date.now() + this.window;
    if (bucket.unreported === shardId) {
      // The report of the latest grant replaces its fallback; `next` is past the grant's window.
      bucket.unreported = undefined;
      bucket.nextAt = next;
    } else {
      // A late report (its fallback already let another grant go): it can only push back.
      bucket.nextAt = Math.max(bucket.nextAt, next);
    }
    clearTimeout(bucket.timer);
    bucket.timer = undefined;
    this.pump(id);
  }

  /** Rejects every wait and stops the timers; later requests are refused. */
  close(): void {
    this.closed = true;
    for (const bucket of this.buckets.values()) {
      clearTimeout(bucket.timer);
      for (const waiter of bucket.queue.splice(0)) {
        waiter.detach();
        waiter.reject(new IdentifyCancelledError(waiter.shardId));
      }
    }
    this.grants.complete();
  }

  private bucket(id: number): Bucket {
    let bucket = this.buckets.get(id);
    if (bucket === undefined) {
      bucket = { queue: [], nextAt: 0, timer: undefined, unreported: undefined };
      this.buckets.set(id, bucket);
    }
    return bucket;
  }

  private remove(bucket: Bucket, waiter: Waiter, error: Error): void {
    const index = bucket.queue.indexOf(waiter);
    if (index === -1) return;
    bucket.queue.splice(index, 1);
    waiter.detach();
    waiter.reject(error);
  }

  private pump(id: number): void {
    const bucket = this.bucket(id);
    if (bucket.timer !== undefined || bucket.queue.length === 0) return;
    const now = Date.now();
    if (now < bucket.nextAt) {
      bucket.timer = setTimeout(() => {
        bucket.timer = undefined;
        this.pump(id);
      }, bucket.nextAt - now);
      return;
    }
    if (this.remaining !== undefined && this.remaining <= 0) {
      if (this.resetAt !== undefined && this.total !== undefined && this.total > 0) {
        if (now >= this.resetAt) {
          // A new day: the budget is whole again, and the next reset is a day away.
          this.remaining = this.total;
          this.resetAt = now + DAY;
        } else {
          // Wait for the reset rather than refuse: a refusal makes gateway clients retry at once,
          // in a loop. The waits stay cancellable.
          bucket.nextAt = this.resetAt;
          this.pump(id);
          return;
        }
      } else {
        const waiter = bucket.queue.shift()!;
        waiter.detach();
        waiter.reject(new IdentifyBudgetExhaustedError(this.resetAt));
        this.pump(id);
        return;
      }
    }
    const waiter = bucket.queue.shift()!;
    waiter.detach();
    if (this.remaining !== undefined) this.remaining--;
    // Without a report (yet), the bucket is held for the window and the grace: never shorter
    // than a window from the grant, and bounded if the report never comes.
    bucket.nextAt = now + this.window + (this.sentReportGrace ?? 0);
    if (this.sentReportGrace !== undefined) bucket.unreported = waiter.shardId;
    this.grantedCount++;
    waiter.resolve();
    this.grants.next({
      shardId: waiter.shardId,
      bucket: id,
      at: now,
      waited: now - waiter.since,
      waiting: this.progress.waiting,
    });
    this.pump(id);
  }
}
