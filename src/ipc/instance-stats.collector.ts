import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import type { InstanceStats } from '../protocol/ipc-packet.types.js';

const SAMPLE_RESOLUTION_MS = 20;

/** Samples what an instance reports with each heartbeat: memory and event-loop delay. */
export class InstanceStatsCollector {
  private histogram: ELDHistogram | undefined;

  start(): void {
    if (this.histogram !== undefined) return;
    this.histogram = monitorEventLoopDelay({ resolution: SAMPLE_RESOLUTION_MS });
    this.histogram.enable();
  }

  /** The stats since the previous call. */
  sample(): InstanceStats {
    const memory = process.memoryUsage();
    // The histogram records whole sampling intervals; the lag is what exceeds the resolution.
    const lag = this.histogram === undefined ? 0 : this.histogram.mean / 1e6 - SAMPLE_RESOLUTION_MS;
    this.histogram?.reset();
    return {
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      eventLoopLag: Number.isFinite(lag) && lag > 0 ? Math.round(lag * 100) / 100 : 0,
    };
  }

  stop(): void {
    this.histogram?.disable();
    this.histogram = undefined;
  }
}
