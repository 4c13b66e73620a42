// What the bench's processes agree on: sizes, event names, environment variable names and the
// messages the client fixtures report to the runner over the fork channel.

/** The two implementations compared: this library, and a hand-written `node:net` baseline. */
export type BenchImpl = 'nestjs-sharding' | 'raw-net';

/** The two measurements. */
export type BenchMeasurement = 'latency' | 'throughput';

/** Sizes of one run; the defaults keep the whole bench under two minutes on 2 cores. */
export interface BenchSizes {
  /** Requests sent before latency samples are taken, so that both sides are JIT-compiled. */
  warmupRequests: number;
  /** Sequential requests whose round trips are recorded. */
  latencySamples: number;
  /** One-way messages sent in the throughput run. */
  throughputMessages: number;
  /** Messages sent between two flow-control syncs (see `measureThroughput`). */
  throughputBatch: number;
}

/** Default sizes; each can be overridden with the `BENCH_*` variable of the same meaning. */
export const DEFAULT_SIZES: BenchSizes = {
  warmupRequests: 3_000,
  latencySamples: 20_000,
  throughputMessages: 100_000,
  throughputBatch: 1_000,
};

/** Event names used by the bench; both servers answer the same ones. */
export const BenchEvent = {
  /** Request: the server replies with the data it got. */
  ECHO: 'echo',
  /** One-way: the server counts it. */
  SINK: 'sink',
  /** Request: the server replies with how many SINK events it has counted. */
  SINK_SYNC: 'sink-sync',
  /** Request: the server replies with its `process.cpuUsage()` (user + system, µs). */
  CPU_USAGE: 'cpu-usage',
} as const;

/** Environment variables the runner gives its children (besides the `SHARDING_*` ones). */
export const BenchEnv = {
  MEASUREMENT: 'BENCH_MEASUREMENT',
  SIZES: 'BENCH_SIZES',
  /** The raw baseline's socket path. */
  RAW_SOCKET: 'BENCH_RAW_SOCKET',
  /** A real snowflake, so that raw event ids have the same length on the wire as ours. */
  ID_TEMPLATE: 'BENCH_ID_TEMPLATE',
} as const;

/**
 * CPU time both processes spent in the measured window, per request or message, in µs: the cost
 * of the work without the scheduling delays that wall-clock figures include (it still grows when
 * the host slows the VM down, so compare it within one run).
 */
export interface CpuCost {
  /** The manager side (client fixture). */
  cpuClient: number;
  /** The instance side (server fixture). */
  cpuServer: number;
}

/** Round trips of sequential requests, in microseconds. */
export interface LatencyResult extends CpuCost {
  kind: 'latency';
  samples: number;
  p50: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/** One-way messages per second, until the receiver confirmed the last one. */
export interface ThroughputResult extends CpuCost {
  kind: 'throughput';
  messages: number;
  elapsedMs: number;
  perSecond: number;
}

/** What a client fixture reports when its measurement is done. */
export type BenchResult = LatencyResult | ThroughputResult;

/** Messages from a bench child to the runner. */
export type BenchChildMessage =
  | { type: 'listening'; path: string }
  | { type: 'result'; result: BenchResult }
  | { type: 'failed'; message: string }
  /** Processes the child started (instances, shards): the runner kills them too at the end. */
  | { type: 'pids'; pids: number[] }
  /** A fleet or discord scenario's result (see fleet-config.ts). */
  | { type: 'measured'; result: unknown };

/** Reads the sizes the runner passed in `BENCH_SIZES`. */
export function sizesFromEnv(env: NodeJS.ProcessEnv = process.env): BenchSizes {
  const raw = env[BenchEnv.SIZES];
  return raw === undefined
    ? DEFAULT_SIZES
    : { ...DEFAULT_SIZES, ...(JSON.parse(raw) as Partial<BenchSizes>) };
}

/** The payload of message `n`: small, as most bot-internal events are. */
export function payloadOf(n: number): { n: number; text: string } {
  return { n, text: 'hello' };
}
