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

/** What became of the stream's events sent between `from` and `to` (epoch ms). */
export interface StreamLosses {
  /** Dispatched to a session (live, or resumable and replayed later). */
  sent: number;
  /** Of those, never reported by an instance. */
  unseen: number;
  /** Ticks that found no live session: on Discord, lost whatever the bot does. */
  noSession: number;
}

/**
 * Counts the stream's losses between `from` and `to` against `seen`, the sequence numbers the
 * instances reported per shard.
 */
export function streamLosses(
  emulator: GatewayEmulator,
  ticker: StreamTicker,
  event: string,
  seen: Record<number, number[]>,
  from: number,
  to: number,
): StreamLosses {
  const reported = new Set(
    Object.entries(seen).flatMap(([shardId, seqs]) => seqs.map((seq) => `${shardId}:${seq}`)),
  );
  const sent = emulator
    .sentEvents()
    .filter((sentEvent) => sentEvent.t === event && sentEvent.at >= from && sentEvent.at <= to);
  return {
    sent: sent.length,
    unseen: sent.filter((sentEvent) => !reported.has(`${sentEvent.shardId}:${sentEvent.seq}`))
      .length,
    noSession: ticker.missed.filter((at) => at >= from && at <= to).length,
  };
}
