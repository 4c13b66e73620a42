// The fan-out measurement loop, shared by the manager fixture (this library) and the raw
// reference (raw-fanout.fixture.ts), so that both are driven by the very same code.
import type { FanoutMeasure } from './fleet-config.js';
import { processCpuTime } from './proc-stats.js';
import { mean, percentile } from './stats.js';

/** The two calls compared; each resolves with whether every reply was the right echo. */
export interface FanoutCalls {
  /** One request to the first instance. */
  single(n: number): Promise<boolean>;
  /** One request to every instance, resolved when every reply is in. */
  broadcast(n: number): Promise<boolean>;
}

/** Calls per block: the two calls alternate by blocks, in swapped order every other block. */
const BLOCK = 20;

/**
 * `warmup` rounds of both calls (discarded), then `rounds` timed ones of each, alternating by
 * blocks so that drift hits both alike. CPU time of this process is taken per block (outside the
 * timed calls); the instances' CPU time over the whole timed part comes from /proc.
 */
export async function measureFanout(
  calls: FanoutCalls,
  options: { instances: number; warmup: number; rounds: number; instancePids: number[] },
  around: { start?: () => Promise<void>; stop?: () => Promise<void> } = {},
): Promise<FanoutMeasure> {
  for (let n = 0; n < options.warmup; n++) {
    await calls.single(n);
    await calls.broadcast(n);
  }
  let failures = 0;
  const times = { single: [] as number[], broadcast: [] as number[] };
  const cpu = { single: 0, broadcast: 0, singleSystem: 0, broadcastSystem: 0 };
  const runBlock = async (kind: 'single' | 'broadcast', from: number, to: number) => {
    const call = kind === 'single' ? calls.single : calls.broadcast;
    const cpuBefore = process.cpuUsage();
    for (let n = from; n < to; n++) {
      const start = performance.now();
      const ok = await call(n);
      times[kind].push((performance.now() - start) * 1000);
      if (!ok) failures++;
    }
    const used = process.cpuUsage(cpuBefore);
    cpu[kind] += used.user + used.system;
    cpu[kind === 'single' ? 'singleSystem' : 'broadcastSystem'] += used.system;
  };
  const instanceCpu = () => options.instancePids.reduce((sum, pid) => sum + processCpuTime(pid), 0);
  await around.start?.();
  const instanceCpuBefore = instanceCpu();
  const from = monotonicMicros();
  for (let block = 0, n = 0; n < options.rounds; block++, n += BLOCK) {
    const end = Math.min(options.rounds, n + BLOCK);
    const order =
      block % 2 === 0 ? (['single', 'broadcast'] as const) : (['broadcast', 'single'] as const);
    for (const kind of order) await runBlock(kind, n, end);
  }
  const to = monotonicMicros();
  const instanceCpuUsed = instanceCpu() - instanceCpuBefore;
  await around.stop?.();
  const echoes = times.single.length + times.broadcast.length * options.instances;
  return {
    single: distribution(times.single),
    broadcast: distribution(times.broadcast),
    cpuSingle: cpu.single / times.single.length,
    cpuBroadcast: cpu.broadcast / times.broadcast.length,
    cpuSingleSystem: cpu.singleSystem / times.single.length,
    cpuBroadcastSystem: cpu.broadcastSystem / times.broadcast.length,
    instanceCpuPerEcho: instanceCpuUsed / echoes,
    failures,
    timedWindow: { from, to },
  };
}

function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function distribution(values: number[]) {
  const sorted = values.toSorted((a, b) => a - b);
  return {
    samples: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: mean(sorted),
  };
}
