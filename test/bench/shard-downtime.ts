// How long each shard went without a live gateway session during a span, read from the gateway
// emulator's records: a connection carries a shard from its accepted IDENTIFY (READY) or RESUME
// (RESUMED) until it closes. A shard with two such connections at once (the overlap of a
// discord.js roll) is live as long as either is.
import type { GatewayEmulator } from '../../src/testing/index.js';

/** One shard's time without a live session inside the span. */
export interface ShardDowntime {
  shardId: number;
  /** The longest stretch without a live connection, ms (0 when never without one). */
  longestMs: number;
  /** All such stretches together, ms. */
  totalMs: number;
  /** How many stretches there were. */
  gaps: number;
}

/** A connection carrying a shard's session from `from` to `to` (epoch ms; Infinity: still open). */
interface LiveSpan {
  shardId: number;
  from: number;
  to: number;
}

/**
 * Each of `shards` shards' downtime between `from` and `to` (epoch ms, monotonic, as the
 * emulator stamps its records).
 */
export function shardDowntimes(
  emulator: GatewayEmulator,
  shards: number,
  from: number,
  to: number,
): ShardDowntime[] {
  const closedAt = new Map<number, number>();
  for (const close of emulator.closes) {
    closedAt.set(
      close.connectionId,
      Math.min(close.at, closedAt.get(close.connectionId) ?? close.at),
    );
  }
  // A session taken over leaves its old connection at once (its close follows).
  for (const takeover of emulator.takeovers) {
    const closed = closedAt.get(takeover.fromConnectionId) ?? Infinity;
    closedAt.set(takeover.fromConnectionId, Math.min(closed, takeover.at));
  }
  const starts = [
    ...emulator.identifies.filter((identify) => identify.accepted),
    ...emulator.resumes.filter((resume) => resume.accepted && resume.shardId !== undefined),
  ];
  const spans: LiveSpan[] = starts.map((start) => ({
    shardId: start.shardId!,
    from: start.at,
    to: closedAt.get(start.connectionId) ?? Infinity,
  }));
  return Array.from({ length: shards }, (_, shardId) =>
    downtimeOf(
      shardId,
      spans.filter((span) => span.shardId === shardId).toSorted((a, b) => a.from - b.from),
      from,
      to,
    ),
  );
}

/** Sweeps the shard's live spans (sorted by start) over the span `from`–`to`. */
function downtimeOf(shardId: number, spans: LiveSpan[], from: number, to: number): ShardDowntime {
  const result: ShardDowntime = { shardId, longestMs: 0, totalMs: 0, gaps: 0 };
  const gap = (length: number) => {
    if (length <= 0) return;
    result.longestMs = Math.max(result.longestMs, length);
    result.totalMs += length;
    result.gaps += 1;
  };
  let liveUntil = from;
  for (const span of spans) {
    if (span.to <= liveUntil) continue;
    if (span.from >= to) break;
    gap(span.from - liveUntil);
    liveUntil = span.to;
  }
  gap(to - liveUntil);
  return result;
}
