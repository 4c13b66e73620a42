import { setTimeout as delay } from 'node:timers/promises';

/** Options of an {@link EmulatorIdentifyThrottler}. */
export interface EmulatorIdentifyThrottlerOptions {
  /** One IDENTIFY per bucket per this many ms (the emulator's `identifyWindow`). */
  identifyWindow: number;
  /** Number of buckets (`shard_id % maxConcurrency`; the emulator's `maxConcurrency`). */
  maxConcurrency: number;
  /**
   * Extra ms between two grants of a bucket, so that network and event-loop delays between the
   * grant and the IDENTIFY reaching the emulator cannot squeeze two IDENTIFYs into one window.
   * Default 25.
   */
  margin?: number;
}

/**
 * An identify throttler (the `IIdentifyThrottler` shape of `@discordjs/ws`, also taken by
 * discord.js's `ws.buildIdentifyThrottler`) paced by the emulator's own window instead of
 * Discord's hard-coded 5 s, so that many shards reach READY quickly in tests. It paces one
 * `WebSocketManager`; shards in several managers or processes need a shared queue (the
 * sharding manager's).
 *
 * @example
 * ```ts
 * new WebSocketManager({ token, intents: 0, rest, buildIdentifyThrottler: () => emulator.identifyThrottler() });
 * ```
 */
export class EmulatorIdentifyThrottler {
  private readonly identifyWindow: number;
  private readonly maxConcurrency: number;
  private readonly margin: number;
  /** The last waiter of each bucket: a new one queues behind it. */
  private readonly tails = new Map<number, Promise<void>>();
  /** The earliest time of each bucket's next grant. */
  private readonly nextAt = new Map<number, number>();

  constructor(options: EmulatorIdentifyThrottlerOptions) {
    this.identifyWindow = options.identifyWindow;
    this.maxConcurrency = options.maxConcurrency;
    this.margin = options.margin ?? 25;
  }

  /**
   * Resolves when `shardId` may IDENTIFY: first come first served within its bucket, one grant
   * per `identifyWindow + margin`. Rejects with an `AbortError` if `signal` aborts first.
   */
  async waitForIdentify(shardId: number, signal?: AbortSignal): Promise<void> {
    const bucket = shardId % this.maxConcurrency;
    const previous = this.tails.get(bucket) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    // The next waiter waits for the earlier ones too, even if this one is aborted.
    const tail = previous.then(() => done);
    this.tails.set(bucket, tail);
    try {
      await abortable(previous, signal);
      const wait = (this.nextAt.get(bucket) ?? 0) - performance.now();
      if (wait > 0) await delay(wait, undefined, { signal });
      this.nextAt.set(bucket, performance.now() + this.identifyWindow + this.margin);
    } finally {
      release();
      if (this.tails.get(bucket) === tail) this.tails.delete(bucket);
    }
  }
}

/** `promise`, or a rejection with `signal`'s reason as soon as it aborts. */
function abortable(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
