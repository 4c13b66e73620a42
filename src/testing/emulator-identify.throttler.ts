import { IdentifyQueue } from '../discord/identify.queue.js';

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
 * `WebSocketManager` with the library's {@link IdentifyQueue}; shards in several managers or
 * processes need a shared queue (the sharding manager's).
 *
 * @example
 * ```ts
 * new WebSocketManager({ token, intents: 0, rest, buildIdentifyThrottler: () => emulator.identifyThrottler() });
 * ```
 */
export class EmulatorIdentifyThrottler {
  private readonly queue: IdentifyQueue;

  constructor(options: EmulatorIdentifyThrottlerOptions) {
    this.queue = new IdentifyQueue({
      maxConcurrency: options.maxConcurrency,
      window: options.identifyWindow + (options.margin ?? 25),
    });
  }

  /**
   * Resolves when `shardId` may IDENTIFY: first come first served within its bucket, one grant
   * per `identifyWindow + margin`. Rejects with `signal`'s reason (an `AbortError`) if it aborts
   * first.
   */
  async waitForIdentify(shardId: number, signal?: AbortSignal): Promise<void> {
    try {
      await this.queue.acquire(shardId, signal);
    } catch (error) {
      // The queue says IdentifyCancelledError; a throttler's caller expects its own abort reason.
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
  }
}
