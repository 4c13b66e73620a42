// The event stream of the discord-roll section: every `interval` ms, one numbered dispatch to each
// shard's current session on the gateway emulator. Unlike the emulator's own stream, it also
// notes each tick a shard had no live session for (its client closed the session for good and
// has not IDENTIFYed yet): on Discord that event would be lost, whatever the bot does.
import type { GatewayEmulator } from '../../src/testing/index.js';

/** A running ticker. */
export interface StreamTicker {
  /** Stops it (idempotent). */
  stop(): void;
  /** Epoch ms (monotonic) of each event that found no live session, any shard. */
  readonly missed: readonly number[];
}

/** Starts dispatching `event` to shards 0 … `shards` − 1 every `interval` ms. */
export function startStreamTicker(
  emulator: GatewayEmulator,
  shards: number,
  event: string,
  interval: number,
): StreamTicker {
  const missed: number[] = [];
  let tick = 0;
  const timer = setInterval(() => {
    tick += 1;
    for (let shardId = 0; shardId < shards; shardId++) {
      try {
        emulator.dispatch(shardId, event, { tick, shard_id: shardId });
      } catch {
        // No live session (not identified yet, or ended): nobody could receive it.
        missed.push(performance.timeOrigin + performance.now());
      }
    }
  }, interval);
  return { stop: () => clearInterval(timer), missed };
}
