import type { RestartOptions } from '../options/sharding-options.interface.js';

/** What the policy says about the next restart of one instance. */
export type RestartDecision =
  { giveUp: false; attempt: number; delay: number } | { giveUp: true; attempt: number };

/**
 * Exponential backoff with jitter and a cap of restarts per window, for one instance. A run of
 * `window` without a restart resets the backoff.
 */
export class RestartPolicy {
  private readonly restarts: number[] = [];

  constructor(
    private readonly options: Required<RestartOptions>,
    private readonly random: () => number = Math.random,
  ) {}

  /** Records a restart about to happen at `now` and says how long to wait first. */
  next(now: number = Date.now()): RestartDecision {
    while (this.restarts.length > 0 && this.restarts[0]! <= now - this.options.window)
      this.restarts.shift();
    const attempt = this.restarts.length + 1;
    if (attempt > this.options.maxRestarts) return { giveUp: true, attempt };
    this.restarts.push(now);
    const { initialDelay, maxDelay, multiplier, jitter } = this.options;
    const base = Math.min(maxDelay, initialDelay * multiplier ** (attempt - 1));
    const spread = 1 + jitter * (this.random() * 2 - 1);
    return { giveUp: false, attempt, delay: Math.round(base * spread) };
  }

  /** Forgets past restarts (after a manual restart, say). */
  reset(): void {
    this.restarts.length = 0;
  }
}
