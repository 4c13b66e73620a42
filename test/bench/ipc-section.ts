// The `ipc` section of `npm run bench`: request latency and one-way throughput of the library's
// IPC link, against a hand-written `node:net` baseline with the same frames and packets, measured
// in the same run.
//
// Every run uses fresh processes (a server fixture for the instance side, a client fixture for the
// manager side; this runner only orchestrates and stays idle meanwhile). Library and baseline runs
// alternate within each round, in swapped order every other round, and each figure is the median
// over the rounds, so that drift on a shared machine hits both sides alike.
//
// Environment (all optional):
// - BENCH_ROUNDS (default 5); BENCH_MEASUREMENTS=latency or =throughput to run one only;
// - BENCH_WARMUP, BENCH_SAMPLES, BENCH_MESSAGES, BENCH_BATCH: the sizes (see DEFAULT_SIZES);
// - BENCH_PIN=0: let the OS place the processes instead of pinning them (see cpuPlacement);
// - BENCH_CPU_PROF=1: a V8 CPU profile of every child, in build/bench-profiles or
//   BENCH_PROFILE_DIR (read them with profile-summary.ts); BENCH_CPU_PROF_INTERVAL in µs (250).
import { rmSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANAGER_SHARD_ID, SnowflakeService } from '../../src/index.js';
import { createSocketRoot, removeSocketRoot } from '../../src/ipc/index.js';
import {
  BenchEnv,
  DEFAULT_SIZES,
  type BenchImpl,
  type BenchMeasurement,
  type BenchResult,
  type BenchSizes,
  type LatencyResult,
  type ThroughputResult,
} from './bench-config.js';
import { forkBenchChild, killAll, nextMessage, pinToCpu, stopChild } from './bench-processes.js';
import { median } from './stats.js';

/** The target: the library within 1.2x of the raw socket on latency and throughput. */
const TARGET_RATIO = 1.2;
const LISTEN_TIMEOUT_MS = 15_000;
const RUN_TIMEOUT_MS = 60_000;
/** How long a child may take to leave by itself after its run (profiles are written on exit). */
const EXIT_GRACE_MS = 3_000;

const BUILD_DIR = fileURLToPath(new URL('../../', import.meta.url));
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR ?? join(BUILD_DIR, 'bench-profiles');

/** One measurement of one implementation, in its own pair of processes. */
interface BenchRun {
  round: number;
  impl: BenchImpl;
  result: BenchResult;
}

/** One line of the results table. */
interface ResultRow {
  measurement: string;
  unit: string;
  'nestjs-sharding': number;
  'raw net socket': number;
  /** nestjs-sharding / raw net socket. */
  ratio: number;
  /**
   * Whether the row meets the 1.2x target (for throughput: ratio >= 1 / 1.2); `null` for the
   * mean and CPU rows, which only explain the others.
   */
  withinTarget: boolean | null;
}

const env = process.env;
const rounds = positiveInteger('BENCH_ROUNDS', 5);
const sizes: BenchSizes = {
  warmupRequests: positiveInteger('BENCH_WARMUP', DEFAULT_SIZES.warmupRequests),
  latencySamples: positiveInteger('BENCH_SAMPLES', DEFAULT_SIZES.latencySamples),
  throughputMessages: positiveInteger('BENCH_MESSAGES', DEFAULT_SIZES.throughputMessages),
  throughputBatch: positiveInteger('BENCH_BATCH', DEFAULT_SIZES.throughputBatch),
};
const measurements = measurementsFromEnv();
const profiling = env.BENCH_CPU_PROF === '1';
const placement = cpuPlacement();
/** Whether pinning worked so far; the first failure turns it off for the rest of the run. */
let pinning = placement !== undefined;
const profileInterval = positiveInteger('BENCH_CPU_PROF_INTERVAL', 250);
const snowflakes = new SnowflakeService();

/**
 * Runs the ipc section: prints the runs as they finish (stderr) and the markdown table (stdout);
 * returns what `build/bench-results.json` keeps of it (at its top level, as before the other
 * sections existed).
 */
export async function runIpcSection(): Promise<Record<string, unknown>> {
  console.log(
    `${rounds} rounds; latency: ${sizes.warmupRequests} warm-up + ${sizes.latencySamples} sequential ` +
      `requests; throughput: ${sizes.throughputMessages} messages, synced every ${sizes.throughputBatch}` +
      (profiling ? `; CPU profiles in ${PROFILE_DIR}` : ''),
  );
  console.log(
    placement === undefined
      ? 'Processes unpinned (BENCH_PIN=0 or not Linux).'
      : `Pinned: latency client+server on CPU ${placement.latency.server}; throughput client on ` +
          `CPU ${placement.throughput.client}, server on CPU ${placement.throughput.server}.`,
  );
  if (profiling) {
    await rm(PROFILE_DIR, { recursive: true, force: true });
    await mkdir(PROFILE_DIR, { recursive: true });
  }

  const socketRoot = await createSocketRoot();
  // The `finally` below does not run when a signal ends the runner; this does, synchronously.
  process.once('exit', () => rmSync(socketRoot, { recursive: true, force: true }));
  const runs: BenchRun[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      // Swapping the order every other round cancels a bias for whoever runs first.
      const order: BenchImpl[] =
        round % 2 === 1 ? ['nestjs-sharding', 'raw-net'] : ['raw-net', 'nestjs-sharding'];
      for (const measurement of measurements) {
        for (const impl of order) {
          const result = await runOnce(impl, measurement, round, socketRoot);
          runs.push({ round, impl, result });
          console.error(`  round ${round}/${rounds} ${impl.padEnd(15)} ${describeResult(result)}`);
        }
      }
    }
  } finally {
    await killAll();
    await removeSocketRoot(socketRoot);
  }

  const rows = summarize(runs);
  console.log('');
  console.log(markdownTable(rows));
  console.log('');
  console.log(
    `ratio = nestjs-sharding / raw net socket, median of ${rounds} rounds. Target: within ` +
      `${TARGET_RATIO}x (latency ratio <= ${TARGET_RATIO}, throughput ratio >= ${(1 / TARGET_RATIO).toFixed(2)}). ` +
      'Mean and CPU rows are not targets. CPU rows: user + system time of both processes in the measured window, per operation: ' +
      'the cost of the work without scheduling delays (it still grows on a slowed-down host).',
  );
  for (const { measurement, withinTarget } of rows) {
    if (withinTarget === null) continue;
    console.log(`- ${measurement}: ${withinTarget ? 'within target' : 'NOT within target'}`);
  }
  return {
    rounds,
    sizes,
    targetRatio: TARGET_RATIO,
    cpuPlacement: pinning ? placement : 'unpinned',
    columns: ['measurement', 'nestjs-sharding', 'raw net socket', 'ratio'],
    rows,
    runs,
  };
}

/** One measurement in a fresh server process and a fresh client process. */
async function runOnce(
  impl: BenchImpl,
  measurement: BenchMeasurement,
  round: number,
  socketRoot: string,
): Promise<BenchResult> {
  const common: Record<string, string> = {
    [BenchEnv.MEASUREMENT]: measurement,
    [BenchEnv.SIZES]: JSON.stringify(sizes),
  };
  let linkEnv: Record<string, string>;
  if (impl === 'nestjs-sharding') {
    // What a manager gives the instance it spawns (the SHARDING_* variables).
    linkEnv = {
      SHARDING_MANAGER_IPC: snowflakes.generate(MANAGER_SHARD_ID),
      SHARDING_INSTANCE_IPC: snowflakes.generate(0),
      SHARDING_INSTANCE: '0',
      SHARDING_SOCKET_ROOT: socketRoot,
    };
  } else {
    linkEnv = {
      [BenchEnv.RAW_SOCKET]: join(socketRoot, `raw-${round}-${measurement}`),
      [BenchEnv.ID_TEMPLATE]: snowflakes.generate(MANAGER_SHARD_ID),
    };
  }
  const prefix = impl === 'nestjs-sharding' ? 'lib' : 'raw';
  const name = `${prefix}-${measurement}-r${round}`;
  const cpus = placement?.[measurement];
  const server = forkBenchChild(
    `${prefix}-server.fixture`,
    { ...common, ...linkEnv },
    profileArgs(`${name}-server`),
  );
  pin(server, cpus?.server);
  let client: ReturnType<typeof forkBenchChild> | undefined;
  try {
    await nextMessage(server, 'listening', LISTEN_TIMEOUT_MS);
    client = forkBenchChild(
      `${prefix}-client.fixture`,
      { ...common, ...linkEnv },
      profileArgs(`${name}-client`),
    );
    pin(client, cpus?.client);
    const { result } = await nextMessage(client, 'result', RUN_TIMEOUT_MS);
    return result;
  } finally {
    // The client closes its link and exits; the server then sees its manager gone and exits.
    if (client !== undefined) await stopChild(client, EXIT_GRACE_MS);
    await stopChild(server, EXIT_GRACE_MS);
  }
}

function throughput(result: ThroughputResult): number {
  return result.perSecond;
}

function cpuPerOperation(result: BenchResult): number {
  return result.cpuClient + result.cpuServer;
}

/** Medians over the rounds, per implementation, and their ratios. */
function summarize(runs: BenchRun[]): ResultRow[] {
  const pick = <R extends BenchResult>(
    impl: BenchImpl,
    kind: R['kind'],
    value: (result: R) => number,
  ) =>
    median(
      runs
        .filter((run) => run.impl === impl && run.result.kind === kind)
        .map((run) => value(run.result as R)),
    );
  // The target is on p50, p99 and throughput; the mean and the CPU rows explain them.
  const latencyRow = (
    label: string,
    value: (result: LatencyResult) => number,
    targeted = true,
  ): ResultRow => {
    const ours = pick('nestjs-sharding', 'latency', value);
    const raw = pick('raw-net', 'latency', value);
    const within = targeted ? ours / raw <= TARGET_RATIO : null;
    return makeRow(`request latency ${label}`, 'µs', ours, raw, within);
  };
  const cpuRow = (label: string, kind: BenchResult['kind']): ResultRow => {
    const ours = pick('nestjs-sharding', kind, cpuPerOperation);
    const raw = pick('raw-net', kind, cpuPerOperation);
    return makeRow(`CPU per ${label}, manager + instance`, 'µs', ours, raw, null);
  };
  const oursRate = pick('nestjs-sharding', 'throughput', throughput);
  const rawRate = pick('raw-net', 'throughput', throughput);
  return [
    latencyRow('p50', (result) => result.p50),
    latencyRow('p99', (result) => result.p99),
    latencyRow('mean', (result) => result.mean, false),
    makeRow('one-way throughput', 'msg/s', oursRate, rawRate, rawRate / oursRate <= TARGET_RATIO),
    cpuRow('request', 'latency'),
    cpuRow('one-way message', 'throughput'),
    // A measurement left out with BENCH_MEASUREMENTS has no figures.
  ].filter((row) => Number.isFinite(row.ratio));
}

function makeRow(
  measurement: string,
  unit: string,
  ours: number,
  raw: number,
  withinTarget: boolean | null,
): ResultRow {
  return {
    measurement: `${measurement} (${unit})`,
    unit,
    'nestjs-sharding': round2(ours),
    'raw net socket': round2(raw),
    ratio: round2(ours / raw),
    withinTarget,
  };
}

function formatValue(value: number, unit: string): string {
  return unit === 'msg/s' ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

/** The results as a markdown table with the four requested columns. */
export function markdownTable(rows: ResultRow[]): string {
  const lines = [
    '| measurement | nestjs-sharding | raw net socket | ratio |',
    '|---|---:|---:|---:|',
    ...rows.map(
      (row) =>
        `| ${row.measurement} | ${formatValue(row['nestjs-sharding'], row.unit)} | ` +
        `${formatValue(row['raw net socket'], row.unit)} | ${row.ratio.toFixed(2)}x |`,
    ),
  ];
  return lines.join('\n');
}

function describeResult(result: BenchResult): string {
  const cpu = `CPU/op ${result.cpuClient.toFixed(1)} + ${result.cpuServer.toFixed(1)} µs`;
  if (result.kind === 'latency') {
    return (
      `latency    p50 ${result.p50.toFixed(1)} µs, p99 ${result.p99.toFixed(1)} µs, ` +
      `mean ${result.mean.toFixed(1)} µs; ${cpu}`
    );
  }
  const rate = Math.round(result.perSecond).toLocaleString('en-US');
  return `throughput ${rate} msg/s (${result.elapsedMs.toFixed(0)} ms); ${cpu}`;
}

/** The machine the bench runs on. */
export function describeMachine() {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: os.availableParallelism(),
    logicalCpus: cpus.length,
    platform: `${process.platform} ${os.release()} ${process.arch}`,
  };
}

/** Where the client and the server of each measurement run; `undefined`: unpinned. */
type CpuPlacement = Record<BenchMeasurement, { client: number; server: number }>;

/**
 * Pins the processes of each run, because where the OS puts them decides the latency more than
 * anything measured here. On a VM whose idle vCPUs halt (this project's CI: cpuidle haltpoll with
 * guest_halt_poll_ns=0), a request between two vCPUs pays two cross-vCPU wake-ups; within one
 * vCPU it pays two context switches. The OS picks one or the other per run, which made the p50 of
 * identical runs jump between 25 and 150 µs. So:
 * - latency: client and server share one CPU: the round trip is then the two processes' own
 *   work, which is what the library changes, and it is reproducible;
 * - throughput: client and server get a CPU each, so that sender and receiver run in parallel,
 *   as a manager and its instances do on a multi-core host.
 * With one CPU, both measurements share it. BENCH_PIN=0 turns pinning off.
 */
function cpuPlacement(): CpuPlacement | undefined {
  if (env.BENCH_PIN === '0' || process.platform !== 'linux') return undefined;
  const last = os.cpus().length - 1;
  const other = Math.max(0, last - 1);
  return { latency: { client: last, server: last }, throughput: { client: other, server: last } };
}

function pin(child: ReturnType<typeof forkBenchChild>, cpu: number | undefined): void {
  if (!pinning || cpu === undefined) return;
  if (!pinToCpu(child, cpu)) {
    pinning = false;
    console.error('  (taskset failed: the processes run unpinned from here on)');
  }
}

/** `--cpu-prof` flags for one child when profiling, else none. */
function profileArgs(name: string): string[] {
  if (!profiling) return [];
  return [
    '--cpu-prof',
    `--cpu-prof-dir=${PROFILE_DIR}`,
    `--cpu-prof-name=${name}.cpuprofile`,
    `--cpu-prof-interval=${profileInterval}`,
  ];
}

function positiveInteger(name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** BENCH_MEASUREMENTS=latency or =throughput runs one of them only (for profiling, tracing). */
function measurementsFromEnv(): BenchMeasurement[] {
  const all: BenchMeasurement[] = ['latency', 'throughput'];
  const raw = env.BENCH_MEASUREMENTS;
  if (raw === undefined || raw === '') return all;
  const chosen = raw.split(',').map((name) => name.trim());
  for (const name of chosen) {
    if (!all.includes(name as BenchMeasurement)) {
      throw new Error(`BENCH_MEASUREMENTS lists "${name}"; known: ${all.join(', ')}`);
    }
  }
  return all.filter((name) => chosen.includes(name));
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
