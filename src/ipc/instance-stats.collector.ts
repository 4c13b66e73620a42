import { performance } from 'node:perf_hooks';
import type { InstanceStats } from '../protocol/ipc-packet.types.js';

/**
 * Samples what an instance reports with each heartbeat: memory, and how late its event loop ran
 * the heartbeat's own timer.
 *
 * Why no sampler of its own: `monitorEventLoopDelay` wakes the instance at its resolution (50 times
 * a second at 20 ms), which cost an idle instance more CPU than all its IPC traffic. The heartbeat
 * timer is already there; how late it fires is a direct sample of the delay every callback saw at
 * that moment (a blocked or saturated loop runs it late by as long as it stays busy), at no extra
 * wake-up.
 */
export class InstanceStatsCollector {
  /** When the pending heartbeat timer is due, on the `performance.now()` clock; NaN when none. */
  private due = Number.NaN;

  /** Records that the heartbeat timer was just set to fire in `delay` ms. */
  expect(delay: number): void {
    this.due = performance.now() + delay;
  }

  /** The stats for the heartbeat being sent now. */
  sample(): InstanceStats {
    const memory = process.memoryUsage();
    // A timer can fire up to a ms early (it counts from the loop's cached time): never below 0.
    const lateness = performance.now() - this.due;
    this.due = Number.NaN;
    return {
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      eventLoopLag: lateness > 0 ? Math.round(lateness * 100) / 100 : 0,
    };
  }

  /** Forgets the pending timer (the heartbeats stopped). */
  stop(): void {
    this.due = Number.NaN;
  }
}
