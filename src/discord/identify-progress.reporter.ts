import type { Logger } from '@nestjs/common';
import type { IdentifyGrant } from './identify.queue.js';

/** A progress line at most every this share of the fleet's shards... */
const STEP_SHARE = 0.1;
/** ...and at most every this many ms, whichever is rarer: a few lines per start-up, not a flood. */
const STEP_MS = 30_000;

/** What an {@link IdentifyProgressReporter} needs to know about the start-up it reports. */
export interface IdentifyProgressOptions {
  /** The shards this manager runs: the start-up is over once that many IDENTIFYs were granted. */
  shards: number;
  /** IDENTIFYs per window (the buckets). */
  maxConcurrency: number;
  /** The window of one IDENTIFY per bucket, in ms (margin included). */
  window: number;
  /** Where the lines go (the broker gives its own Nest `Logger`). */
  logger: Pick<Logger, 'log'>;
}

/**
 * Logs the fleet's first IDENTIFYs as a progress line would: shards identified, share and the
 * time left at the pacing in force (`ceil(left / maxConcurrency) × window`, the lower bound the
 * queue can reach), at a readable rate, then one line when every shard has been identified.
 * Later grants (restarts) are not start-up progress and are not reported.
 */
export class IdentifyProgressReporter {
  private readonly startedAt = Date.now();
  private granted = 0;
  private lastAt = this.startedAt;
  private lastCount = 0;

  constructor(private readonly options: IdentifyProgressOptions) {}

  /** Counts one grant; logs a progress line when one is due. */
  record(grant: Pick<IdentifyGrant, 'at'>): void {
    const { shards, logger } = this.options;
    if (this.granted >= shards) return;
    this.granted++;
    if (this.granted === shards) {
      // One shard needs no progress report, only its IDENTIFY.
      if (shards > 1) {
        logger.log(
          `Identified all ${shards} shard(s) in ${formatDuration(grant.at - this.startedAt)}.`,
        );
      }
      return;
    }
    const stepShards = Math.max(1, Math.ceil(shards * STEP_SHARE));
    if (this.granted - this.lastCount < stepShards || grant.at - this.lastAt < STEP_MS) return;
    this.lastAt = grant.at;
    this.lastCount = this.granted;
    const left = shards - this.granted;
    const eta = Math.ceil(left / this.options.maxConcurrency) * this.options.window;
    logger.log(
      `Identifying: ${this.granted}/${shards} shard(s) (${Math.floor((this.granted / shards) * 100)}%), ` +
        `about ${formatDuration(eta)} left.`,
    );
  }
}

/** `45 s`, `4 min 05 s`. */
function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}
