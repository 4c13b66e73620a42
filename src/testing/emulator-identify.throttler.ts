import { setTimeout as sleep } from 'node:timers/promises';
import type { IdentifyRecord } from './gateway-emulator.records.js';

/** What the throttler reads from its emulator: the IDENTIFYs it has received. */
export interface EmulatorIdentifySource {
  /** Every IDENTIFY received, in order. */
  readonly identifies: readonly IdentifyRecord[];
  on(event: 'identify', listener: (record: IdentifyRecord) => void): unknown;
  off(event: 'identify', listener: (record: IdentifyRecord) => void): unknown;
}

/** Options of an {@link EmulatorIdentifyThrottler}. */
export interface EmulatorIdentifyThrottlerOptions {
  /** One IDENTIFY per bucket per this many ms (the emulator's `identifyWindow`). */
  identifyWindow: number;
  /** Number of buckets (`shard_id % maxConcurrency`; the emulator's `maxConcurrency`). */
  maxConcurrency: number;
  /**
   * Extra ms between two IDENTIFYs of a bucket, on top of the window. Default 25.
   */
  margin?: number;
  /**
   * The emulator whose window is paced (`GatewayEmulator.identifyThrottler()` passes it). With
   * it, the window counts from when the previous IDENTIFY of the bucket reached the emulator, as
   * the emulator (and Discord) count it, so that an IDENTIFY held up between the grant and the
   * gateway (a loaded machine) cannot squeeze the next one into its window. Without it, the
   * window counts from the previous grant. Default: none.
   */
  emulator?: EmulatorIdentifySource;
  /**
   * How long, in ms, the next grant of a bucket waits for a granted shard's IDENTIFY to reach the
   * emulator before going ahead anyway (the shard may have closed instead). Default 5000.
   */
  arrivalTimeout?: number;
}

/** Milliseconds since the Unix epoch, from the monotonic clock the emulator records with. */
const now = (): number => performance.timeOrigin + performance.now();

/**
 * An identify throttler (the `IIdentifyThrottler` shape of `@discordjs/ws`, also taken by
 * discord.js's `ws.buildIdentifyThrottler`) paced by the emulator's own window instead of
 * Discord's hard-coded 5 s, so that many shards reach READY quickly in tests. First come first
 * served within a bucket; a grant waits until the bucket's previous IDENTIFY has reached the
 * emulator and one window (plus margin) has passed since. It paces one `WebSocketManager`;
 * shards in several managers or processes need a shared queue (the sharding manager's).
 *
 * @example
 * ```ts
 * new WebSocketManager({ token, intents: 0, rest, buildIdentifyThrottler: () => emulator.identifyThrottler() });
 * ```
 */
export class EmulatorIdentifyThrottler {
  private readonly window: number;
  /** Per bucket: settles when the latest waiter's turn is over (its IDENTIFY arrived, or it gave up). */
  private readonly turns = new Map<number, Promise<void>>();
  /** Per bucket, without an emulator: when the latest grant was made. */
  private readonly grantedAt = new Map<number, number>();

  constructor(private readonly options: EmulatorIdentifyThrottlerOptions) {
    this.window = options.identifyWindow + (options.margin ?? 25);
  }

  /**
   * Resolves when `shardId` may IDENTIFY. Rejects with `signal`'s reason (an `AbortError`) if it
   * aborts first; the shards behind it in its bucket are not held up by it then.
   */
  async waitForIdentify(shardId: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const bucket = shardId % this.options.maxConcurrency;
    const previous = this.turns.get(bucket) ?? Promise.resolve();
    let end!: () => void;
    const over = new Promise<void>((resolve) => (end = resolve));
    this.turns.set(
      bucket,
      previous.then(() => over),
    );
    try {
      await abortable(previous, signal);
      const last = this.lastIdentifyAt(bucket);
      if (last !== undefined && last + this.window > now()) {
        await sleep(last + this.window - now(), undefined, { signal });
      }
    } catch (error) {
      end();
      throw signal?.aborted ? signal.reason : error;
    }
    this.grantedAt.set(bucket, now());
    void this.arrival(shardId).then(end);
  }

  /** When the bucket's latest IDENTIFY reached the emulator (or, without one, was granted). */
  private lastIdentifyAt(bucket: number): number | undefined {
    const emulator = this.options.emulator;
    if (emulator === undefined) return this.grantedAt.get(bucket);
    return emulator.identifies.findLast((record) => record.accepted && record.bucket === bucket)
      ?.at;
  }

  /** Resolves when an IDENTIFY of `shardId` reached the emulator, or after `arrivalTimeout`. */
  private arrival(shardId: number): Promise<void> {
    const emulator = this.options.emulator;
    if (emulator === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        emulator.off('identify', listener);
        clearTimeout(timer);
        resolve();
      };
      const listener = (record: IdentifyRecord) => {
        if (record.shardId === shardId) done();
      };
      const timer = setTimeout(done, this.options.arrivalTimeout ?? 5_000);
      timer.unref();
      emulator.on('identify', listener);
    });
  }
}

/** `promise`, or a rejection with `signal`'s reason as soon as it aborts. */
function abortable(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
