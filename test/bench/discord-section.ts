// The `discord` section of `npm run bench`: the time to bring 32 discord.js shards online (every
// shard READY) against the gateway emulator, with max_concurrency 1 and 16, for this library
// (a manager process, 8 instances of test/fixtures/discord-bot.fixture with 4 shards each,
// `whenReady()`) and for discord.js's own ShardingManager (process mode, one shard per process,
// `spawn()` with the delay in the same proportion to the window as its default 5500 ms to
// Discord's 5000 ms) and for discord-hybrid-sharding's ClusterManager (process mode, clusters of
// 4 shards, its default 7000 ms per shard scaled the same way). The baseline is the lower bound
// `ceil(shards / max_concurrency) × window`. A fresh emulator (in this runner's process) serves
// each run and records every IDENTIFY. Once every shard is online, the RSS of each process that
// runs shards is read (instances, discord.js shard processes, clusters).
//
// Environment (all optional): BENCH_DISCORD_SHARDS (32), BENCH_DISCORD_CONCURRENCY (1,16),
// BENCH_DISCORD_WINDOW (250 ms), BENCH_DISCORD_MARGIN (25 ms), BENCH_DISCORD_PER_INSTANCE (4),
// BENCH_DISCORD_IMPLS (nestjs-sharding,discord.js,discord-hybrid-sharding), BENCH_DISCORD_RUNS (3:
// the table shows medians), BENCH_DISCORD_MEMORY_SETTLE (1000 ms before the RSS readings).
import { GatewayEmulator, type IdentifyRecord } from '../../src/testing/index.js';
import type { OnlineResult } from './fleet-config.js';
import { mean } from './stats.js';
import { envInteger, envIntegers, fixed, markdown, ratio, round2, toMiB } from './report-format.js';
import { runScenario } from './scenario-runner.js';
import { median } from './stats.js';

type Impl = 'nestjs-sharding' | 'discord.js' | 'discord-hybrid-sharding';
const IMPLS: Impl[] = ['nestjs-sharding', 'discord.js', 'discord-hybrid-sharding'];

const shards = envInteger('BENCH_DISCORD_SHARDS', 32);
const concurrencies = envIntegers('BENCH_DISCORD_CONCURRENCY', [1, 16]);
const identifyWindow = envInteger('BENCH_DISCORD_WINDOW', 250);
const identifyMargin = envInteger('BENCH_DISCORD_MARGIN', 25);
const shardsPerInstance = envInteger('BENCH_DISCORD_PER_INSTANCE', 4);
const impls = implsFromEnv();
const repeats = envInteger('BENCH_DISCORD_RUNS', 3);
/** discord.js's default spawn delay (5500 ms) is 1.1 × Discord's window (5000 ms). */
const DJS_DELAY = Math.round(identifyWindow * 1.1);
/** discord-hybrid-sharding's default spawn delay (7000 ms per shard of a cluster) is 1.4 × the window. */
const HYBRID_DELAY = Math.round(identifyWindow * 1.4);
const memorySettle = envInteger('BENCH_DISCORD_MEMORY_SETTLE', 1_000);
const DJS_SPAWN_TIMEOUT_MS = 60_000;
const TOKEN = 'bench-emulator-token';
const RUN_TIMEOUT_MS = 240_000;

/** One run against one emulator. */
interface OnlineRun {
  impl: Impl;
  maxConcurrency: number;
  elapsedMs: number;
  lowerBoundMs: number;
  /** From `spawn()` to the first IDENTIFY the emulator received. */
  firstIdentifyMs: number;
  /** From the first to the last accepted IDENTIFY. */
  identifySpanMs: number;
  /** From the last accepted IDENTIFY to every shard online. */
  tailMs: number;
  accepted: number;
  /** IDENTIFYs answered with op 9 (inside their bucket's window). */
  rejectedOp9: number;
  /** IDENTIFYs refused for any other reason. */
  rejectedOther: number;
  /**
   * nestjs-sharding: from the manager's grant to the IDENTIFY's arrival at the emulator, ms
   * (median and largest); what `identifyMargin` has to cover.
   */
  grantToIdentifyP50?: number;
  grantToIdentifyMax?: number;
  /** RSS of each process that runs shards, once all are online, bytes (mean). */
  rssPerProcess: number;
  processes: number;
  /** Each op 9: its shard, its grant-to-arrival time, and how long after the bucket's previous accepted IDENTIFY it arrived. */
  op9?: Array<{ shardId: number; grantToIdentifyMs: number; afterPreviousMs: number }>;
}

/** Runs every implementation at every max_concurrency, prints the table, returns the JSON. */
export async function runDiscordSection(): Promise<Record<string, unknown>> {
  const runs: OnlineRun[] = [];
  let turn = 0;
  for (let repeat = 1; repeat <= repeats; repeat++) {
    for (const maxConcurrency of concurrencies) {
      // Rotate who goes first, as the ipc section alternates.
      const shift = turn++ % impls.length;
      const order = [...impls.slice(shift), ...impls.slice(0, shift)];
      for (const impl of order) {
        const run = await runOnce(impl, maxConcurrency);
        runs.push(run);
        logRun(run, repeat);
      }
    }
  }
  const medianOf = (group: OnlineRun[], pick: (run: OnlineRun) => number) =>
    round2(median(group.map(pick)));
  const rows = concurrencies.flatMap((maxConcurrency) =>
    impls.map((impl) => {
      const group = runs.filter(
        (run) => run.impl === impl && run.maxConcurrency === maxConcurrency,
      );
      const referenceOf = (name: Impl) =>
        runs.filter((run) => run.impl === name && run.maxConcurrency === maxConcurrency);
      const oursOver = (name: Impl) => {
        const reference = referenceOf(name);
        return impl === 'nestjs-sharding' && reference.length > 0
          ? round2(elapsedMs / median(reference.map((run) => run.elapsedMs)))
          : null;
      };
      const elapsedMs = medianOf(group, (run) => run.elapsedMs);
      const lowerBoundMs = group[0]!.lowerBoundMs;
      const latencies = group.flatMap((run) =>
        run.grantToIdentifyMax === undefined ? [] : [run.grantToIdentifyMax],
      );
      return {
        impl,
        maxConcurrency,
        runs: group.length,
        elapsedMs,
        lowerBoundMs,
        ratioToBound: round2(elapsedMs / lowerBoundMs),
        oursOverDiscordJs: oursOver('discord.js'),
        oursOverHybrid: oursOver('discord-hybrid-sharding'),
        rssPerProcessMiB: toMiB(median(group.map((run) => run.rssPerProcess))),
        processes: group[0]!.processes,
        firstIdentifyMs: medianOf(group, (run) => run.firstIdentifyMs),
        identifySpanMs: medianOf(group, (run) => run.identifySpanMs),
        tailMs: medianOf(group, (run) => run.tailMs),
        rejectedOp9: group.map((run) => run.rejectedOp9),
        rejectedOther: group.map((run) => run.rejectedOther),
        grantToIdentifyMax: latencies.length === 0 ? null : round2(Math.max(...latencies)),
      };
    }),
  );

  console.log('');
  console.log(
    `### Discord: ${shards} shards online (identify window ${identifyWindow} ms, ` +
      `median of ${repeats} run${repeats === 1 ? '' : 's'})`,
  );
  console.log('');
  console.log(
    markdown(
      [
        'manager',
        'max_concurrency',
        'all shards online (ms)',
        'lower bound (ms)',
        'ratio to bound',
        'ours / discord.js',
        'ours / hybrid',
        'first IDENTIFY after (ms)',
        'IDENTIFY span (ms)',
        'last IDENTIFY → online (ms)',
        'op 9 per run',
        'RSS per process (MiB)',
      ],
      rows.map((row) => [
        describeImpl(row.impl),
        String(row.maxConcurrency),
        fixed(row.elapsedMs, 0),
        fixed(row.lowerBoundMs, 0),
        ratio(row.ratioToBound),
        row.oursOverDiscordJs === null ? '-' : ratio(row.oursOverDiscordJs),
        row.oursOverHybrid === null ? '-' : ratio(row.oursOverHybrid),
        fixed(row.firstIdentifyMs, 0),
        fixed(row.identifySpanMs, 0),
        fixed(row.tailMs, 0),
        row.rejectedOp9.join(', ') +
          (row.rejectedOther.some((count) => count > 0)
            ? ` (other refusals: ${row.rejectedOther.join(', ')})`
            : ''),
        fixed(row.rssPerProcessMiB),
      ]),
    ),
  );
  console.log('');
  console.log(
    `lower bound = ceil(${shards} / max_concurrency) × ${identifyWindow} ms; ratio to bound = online / bound; ` +
      'ours / discord.js at the same max_concurrency. nestjs-sharding: spawn() to whenReady(), ' +
      `identifyWindow ${identifyWindow} + identifyMargin ${identifyMargin} ms, maxConcurrency set. ` +
      `discord.js: ShardingManager.spawn({ amount: ${shards}, delay: ${DJS_DELAY}, timeout: ` +
      `${DJS_SPAWN_TIMEOUT_MS} }). discord-hybrid-sharding: ClusterManager({ shardsPerClusters: ` +
      `${shardsPerInstance}, mode: 'process' }).spawn({ delay: ${HYBRID_DELAY}, timeout: ` +
      '-1 }) (its default: the next cluster delay × shards after the previous one spawned, ready or not), online at its ' +
      "last clusterReady; within a cluster discord.js paces its shards' IDENTIFYs with the " +
      `emulator's window (+ ${identifyMargin} ms) instead of its built-in 5 s. ` +
      'A fresh emulator per run; times include starting every process ' +
      "(first IDENTIFY after). op 9: IDENTIFYs the emulator refused as inside their bucket's window. " +
      `RSS: /proc/<pid>/status VmRSS of each process running shards, ${memorySettle} ms after all ` +
      'are online (median of 5 readings), mean over the processes, median over the runs.',
  );
  for (const row of rows) {
    const op9 = row.rejectedOp9.reduce((sum, count) => sum + count, 0);
    const other = row.rejectedOther.reduce((sum, count) => sum + count, 0);
    const latency =
      row.grantToIdentifyMax === null
        ? ''
        : `; grant → IDENTIFY at the gateway took up to ${fixed(row.grantToIdentifyMax)} ms ` +
          `(identifyMargin ${identifyMargin} ms)`;
    console.log(
      `- ${row.impl} at max_concurrency ${row.maxConcurrency}: ` +
        (op9 + other === 0
          ? 'no IDENTIFY rejected'
          : `${op9} IDENTIFY(s) rejected with op 9` + (other > 0 ? `, ${other} otherwise` : '')) +
        ` in ${row.runs} run(s)${latency}.`,
    );
  }
  return {
    shards,
    identifyWindow,
    identifyMargin,
    shardsPerInstance,
    discordJsDelay: DJS_DELAY,
    hybridDelay: HYBRID_DELAY,
    repeats,
    rows,
    runs,
  };
}

function logRun(run: OnlineRun, repeat: number): void {
  console.error(
    `  ${repeat}/${repeats} ${run.impl.padEnd(15)} max_concurrency ${String(run.maxConcurrency).padStart(2)}: ` +
      `${fixed(run.elapsedMs, 0)} ms (first IDENTIFY after ${fixed(run.firstIdentifyMs, 0)} ms, ` +
      `${run.accepted} accepted, ${run.rejectedOp9} op 9` +
      (run.grantToIdentifyMax === undefined
        ? ')'
        : `; grant → IDENTIFY p50 ${fixed(run.grantToIdentifyP50!)} ms, max ${fixed(run.grantToIdentifyMax)} ms)`),
  );
  for (const op9 of run.op9 ?? []) {
    console.error(
      `    op 9 for shard ${op9.shardId}: IDENTIFY ${fixed(op9.grantToIdentifyMs)} ms after its grant, ` +
        `${fixed(op9.afterPreviousMs)} ms after its bucket's previous accepted one`,
    );
  }
}

async function runOnce(impl: Impl, maxConcurrency: number): Promise<OnlineRun> {
  const emulator = await GatewayEmulator.start({
    token: TOKEN,
    shards,
    maxConcurrency,
    identifyWindow,
  });
  try {
    const result = await runImpl(impl, maxConcurrency, {
      shards,
      apiBase: emulator.apiBase,
      token: TOKEN,
      memorySettleMs: memorySettle,
    });
    const memory = result.processMemory ?? [];
    const accepted = emulator.identifies.filter((identify) => identify.accepted);
    const rejected = emulator.identifies.filter((identify) => !identify.accepted);
    const times = accepted.map((identify) => identify.at).toSorted((a, b) => a - b);
    const first = Math.min(...emulator.identifies.map((identify) => identify.at));
    const pacing = result.grants === undefined ? {} : grantLatencies(emulator, result.grants);
    return {
      ...pacing,
      impl,
      maxConcurrency,
      elapsedMs: result.elapsedMs,
      lowerBoundMs: Math.ceil(shards / maxConcurrency) * identifyWindow,
      firstIdentifyMs: first - result.startedAt,
      identifySpanMs: times[times.length - 1]! - times[0]!,
      tailMs: result.onlineAt - times[times.length - 1]!,
      accepted: accepted.length,
      rejectedOp9: rejected.filter((identify) => identify.rejection === 'rate-limited').length,
      rejectedOther: rejected.filter((identify) => identify.rejection !== 'rate-limited').length,
      rssPerProcess: mean(memory.map((reading) => reading.rss)),
      processes: memory.length,
    };
  } finally {
    await emulator.close();
  }
}

/** What every implementation's run gets. */
interface CommonScenario {
  shards: number;
  apiBase: string;
  token: string;
  memorySettleMs: number;
}

/** One implementation's manager process, until every shard is online and its memory read. */
function runImpl(
  impl: Impl,
  maxConcurrency: number,
  common: CommonScenario,
): Promise<OnlineResult> {
  switch (impl) {
    case 'nestjs-sharding':
      return runScenario<OnlineResult>(
        'fleet-manager.fixture',
        {
          kind: 'discord',
          ...common,
          shardsPerInstance,
          maxConcurrency,
          identifyWindow,
          identifyMargin,
        },
        RUN_TIMEOUT_MS,
      );
    case 'discord.js':
      return runScenario<OnlineResult>(
        'djs-manager.fixture',
        { kind: 'discord.js', ...common, delay: DJS_DELAY, timeout: DJS_SPAWN_TIMEOUT_MS },
        RUN_TIMEOUT_MS,
      );
    case 'discord-hybrid-sharding':
      return runScenario<OnlineResult>(
        'hybrid-manager.fixture',
        {
          kind: 'hybrid',
          ...common,
          shardsPerCluster: shardsPerInstance,
          delay: HYBRID_DELAY,
          identifyWindow,
          maxConcurrency,
          identifyMargin,
          // Its default and its README's: the next cluster after `delay` × shards, ready or not.
          timeout: -1,
        },
        RUN_TIMEOUT_MS,
      );
  }
}

/** The manager column of the table. */
function describeImpl(impl: Impl): string {
  const groups = Math.ceil(shards / shardsPerInstance);
  switch (impl) {
    case 'nestjs-sharding':
      return `nestjs-sharding (${groups} instances × ${shardsPerInstance})`;
    case 'discord.js':
      return `discord.js ShardingManager (${shards} processes)`;
    case 'discord-hybrid-sharding':
      return `discord-hybrid-sharding (${groups} clusters × ${shardsPerInstance})`;
  }
}

/**
 * How far apart the clocks of two processes (`performance.timeOrigin + performance.now()`) may
 * be: a grant stamped by the manager up to this much after an IDENTIFY stamped by the emulator
 * is still taken for that IDENTIFY's grant.
 */
const CLOCK_SKEW_MS = 3;

/**
 * Matches each IDENTIFY the emulator received to the manager's last grant for its shard before
 * it (within {@link CLOCK_SKEW_MS}), and describes every op 9.
 */
function grantLatencies(
  emulator: GatewayEmulator,
  grants: Array<{ shardId: number; at: number }>,
): Pick<OnlineRun, 'grantToIdentifyP50' | 'grantToIdentifyMax' | 'op9'> {
  const latencyOf = (identify: IdentifyRecord) => {
    const grant = grants.findLast(
      (candidate) =>
        candidate.shardId === identify.shardId && candidate.at <= identify.at + CLOCK_SKEW_MS,
    );
    return grant === undefined ? Number.NaN : identify.at - grant.at;
  };
  const latencies = emulator.identifies.map(latencyOf).filter(Number.isFinite);
  const op9 = emulator.identifies
    .filter((identify) => identify.rejection === 'rate-limited')
    .map((identify) => {
      const previous = emulator.identifies.findLast(
        (candidate) =>
          candidate.accepted && candidate.bucket === identify.bucket && candidate.at <= identify.at,
      );
      return {
        shardId: identify.shardId,
        grantToIdentifyMs: round2(latencyOf(identify)),
        afterPreviousMs: round2(previous === undefined ? Number.NaN : identify.at - previous.at),
      };
    });
  return {
    grantToIdentifyP50: round2(median(latencies)),
    grantToIdentifyMax: round2(Math.max(...latencies)),
    op9,
  };
}

function implsFromEnv(): Impl[] {
  const raw = process.env.BENCH_DISCORD_IMPLS;
  if (raw === undefined || raw === '') return IMPLS;
  const chosen = raw.split(',').map((name) => name.trim());
  for (const name of chosen) {
    if (!IMPLS.includes(name as Impl))
      throw new Error(`BENCH_DISCORD_IMPLS lists "${name}"; known: ${IMPLS.join(', ')}`);
  }
  return IMPLS.filter((name) => chosen.includes(name));
}
