// The measurement loops, shared by both client fixtures so that the library and the baseline are
// driven by the very same code: only the transport differs.
import {
  BenchEnv,
  BenchEvent,
  payloadOf,
  sizesFromEnv,
  type BenchChildMessage,
  type BenchMeasurement,
  type BenchResult,
  type BenchSizes,
  type CpuCost,
  type LatencyResult,
  type ThroughputResult,
} from './bench-config.js';
import { mean, percentile } from './stats.js';

/** The manager's end of a link, as the measurements use it (`IpcClient` fits as it is). */
export interface BenchTransport {
  /** Sends a request and resolves with the reply's data. */
  request(event: string, data?: unknown): Promise<unknown>;
  /** Sends a one-way event. */
  send(event: string, data?: unknown): void;
}

/**
 * Sequential request round trips: one request in flight at a time, `warmupRequests` first
 * (discarded), then `latencySamples` timed ones. Returns microseconds.
 */
export async function measureLatency(
  transport: BenchTransport,
  sizes: BenchSizes,
): Promise<LatencyResult> {
  for (let n = 0; n < sizes.warmupRequests; n++) {
    await transport.request(BenchEvent.ECHO, payloadOf(n));
  }
  const samples = new Float64Array(sizes.latencySamples);
  const cpu = await startCpuMeter(transport);
  for (let n = 0; n < samples.length; n++) {
    const start = performance.now();
    const reply = (await transport.request(BenchEvent.ECHO, payloadOf(n))) as { n: number };
    samples[n] = (performance.now() - start) * 1000;
    // A wrong reply would make the numbers meaningless; the check is outside the timed span.
    if (reply.n !== n) throw new Error(`echo ${n} came back as ${JSON.stringify(reply)}`);
  }
  const cost = await cpu.stop(samples.length);
  const sorted = samples.toSorted();
  return {
    kind: 'latency',
    samples: samples.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: mean(samples),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    ...cost,
  };
}

/**
 * One-way throughput: `throughputMessages` SINK events, timed until the receiver confirms it
 * counted all of them.
 *
 * Flow control: after each batch a SINK_SYNC request follows on the same socket, so its reply
 * means the receiver has handled the whole batch. The sender waits for the previous batch's sync
 * before writing the next batch, so at most two batches are ever unread: the library's guarded
 * writer (8 MiB pending cap) is never hit, and the receiver is never idle while the sender waits.
 */
export async function measureThroughput(
  transport: BenchTransport,
  sizes: BenchSizes,
): Promise<ThroughputResult> {
  const total = sizes.throughputMessages;
  const cpu = await startCpuMeter(transport);
  const start = performance.now();
  let previousSync: Promise<unknown> = Promise.resolve(0);
  let sent = 0;
  while (sent < total) {
    const end = Math.min(total, sent + sizes.throughputBatch);
    for (; sent < end; sent++) transport.send(BenchEvent.SINK, payloadOf(sent));
    const sync = transport.request(BenchEvent.SINK_SYNC, sent);
    await previousSync;
    previousSync = sync;
  }
  const received = await previousSync;
  const elapsedMs = performance.now() - start;
  const cost = await cpu.stop(total);
  if (received !== total)
    throw new Error(`the receiver counted ${String(received)} of ${total} messages`);
  return {
    kind: 'throughput',
    messages: total,
    elapsedMs,
    perSecond: (total / elapsedMs) * 1000,
    ...cost,
  };
}

/**
 * Starts measuring the CPU time of both processes; `stop(count)` returns it per operation. The
 * server's figure comes from a request before and after the window (outside the timed span), so
 * it includes one round trip of its own, which is negligible next to thousands of operations.
 */
async function startCpuMeter(
  transport: BenchTransport,
): Promise<{ stop: (count: number) => Promise<CpuCost> }> {
  const serverBefore = (await transport.request(BenchEvent.CPU_USAGE)) as number;
  const clientBefore = process.cpuUsage();
  return {
    async stop(count) {
      const client = process.cpuUsage(clientBefore);
      const serverAfter = (await transport.request(BenchEvent.CPU_USAGE)) as number;
      return {
        cpuClient: (client.user + client.system) / count,
        cpuServer: (serverAfter - serverBefore) / count,
      };
    },
  };
}

/** The CPU time this process has used so far (user + system), in µs: the servers' CPU_USAGE reply. */
export function cpuTime(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Runs the measurement named in `BENCH_MEASUREMENT`. */
export function runMeasurement(transport: BenchTransport): Promise<BenchResult> {
  const measurement = process.env[BenchEnv.MEASUREMENT] as BenchMeasurement | undefined;
  const sizes = sizesFromEnv();
  switch (measurement) {
    case 'latency':
      return measureLatency(transport, sizes);
    case 'throughput':
      return measureThroughput(transport, sizes);
    default:
      return Promise.reject(new Error(`unknown ${BenchEnv.MEASUREMENT}: ${String(measurement)}`));
  }
}

/**
 * Sends a message to the runner and resolves once it is handed to the fork channel, so that a
 * `process.exit` right after it does not lose it.
 */
export function report(message: BenchChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(message, undefined, {}, () => resolve());
  });
}

/**
 * Makes a bench child leave when its runner goes away (even SIGKILLed), so that no process
 * outlives the bench.
 */
export function exitWithParent(): void {
  process.on('disconnect', () => process.exit(1));
}

/** Reports a failure to the runner, then exits non-zero. */
export async function fail(error: unknown): Promise<never> {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  await report({ type: 'failed', message });
  process.exit(1);
}
