// The `discord` section of `npm run bench`: the time to bring 32 discord.js shards online (every
// shard READY) against the gateway emulator, with max_concurrency 1 and 16, for this library
// (a manager process, 8 instances of test/fixtures/discord-bot.fixture with 4 shards each,
// `whenReady()`) and for discord.js's own ShardingManager (process mode, one shard per process,
// `spawn()` with the delay in the same proportion to the window as its default 5500 ms to
// Discord's 5000 ms). The baseline is the lower bound `ceil(shards / max_concurrency) × window`.
// A fresh emulator (in this runner's process) serves each run and records every IDENTIFY.
//
// Environment (all optional): BENCH_DISCORD_SHARDS (32), BENCH_DISCORD_CONCURRENCY (1,16),
// BENCH_DISCORD_WINDOW (250 ms), BENCH_DISCORD_MARGIN (25 ms), BENCH_DISCORD_PER_INSTANCE (4),
// BENCH_DISCORD_IMPLS (nestjs-sharding,discord.js).
import { GatewayEmulator } from '../../src/testing/index.js';
import type { OnlineResult } from './fleet-config.js';
import { envInteger, envIntegers, fixed, markdown, ratio, round2 } from './report-format.js';
import { runScenario } from './scenario-runner.js';

type Impl = 'nestjs-sharding' | 'discord.js';
const IMPLS: Impl[] = ['nestjs-sharding', 'discord.js'];

const shards = envInteger('BENCH_DISCORD_SHARDS', 32);
const concurrencies = envIntegers('BENCH_DISCORD_CONCURRENCY', [1, 16]);
const identifyWindow = envInteger('BENCH_DISCORD_WINDOW', 250);
const identifyMargin = envInteger('BENCH_DISCORD_MARGIN', 25);
const shardsPerInstance = envInteger('BENCH_DISCORD_PER_INSTANCE', 4);
const impls = implsFromEnv();
/** discord.js's default spawn delay (5500 ms) is 1.1 × Discord's window (5000 ms). */
const DJS_DELAY = Math.round(identifyWindow * 1.1);
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
}

/** Runs every implementation at every max_concurrency, prints the table, returns the JSON. */
export async function runDiscordSection(): Promise<Record<string, unknown>> {
  const runs: OnlineRun[] = [];
  for (const [index, maxConcurrency] of concurrencies.entries()) {
    // Alternate who goes first, as the ipc section does.
    const order = index % 2 === 0 ? impls : impls.toReversed();
    for (const impl of order) {
      const run = await runOnce(impl, maxConcurrency);
      runs.push(run);
      console.error(
        `  ${impl.padEnd(15)} max_concurrency ${String(maxConcurrency).padStart(2)}: ` +
          `${fixed(run.elapsedMs, 0)} ms (first IDENTIFY after ${fixed(run.firstIdentifyMs, 0)} ms, ` +
          `${run.accepted} accepted, ${run.rejectedOp9} op 9)`,
      );
    }
  }
  const rows = runs.map((run) => {
    const other = runs.find(
      (candidate) =>
        candidate.maxConcurrency === run.maxConcurrency && candidate.impl === 'discord.js',
    );
    return {
      ...run,
      elapsedMs: round2(run.elapsedMs),
      firstIdentifyMs: round2(run.firstIdentifyMs),
      identifySpanMs: round2(run.identifySpanMs),
      tailMs: round2(run.tailMs),
      ratioToBound: round2(run.elapsedMs / run.lowerBoundMs),
      oursOverDiscordJs:
        run.impl === 'nestjs-sharding' && other !== undefined
          ? round2(run.elapsedMs / other.elapsedMs)
          : null,
    };
  });
  rows.sort(
    (a, b) => a.maxConcurrency - b.maxConcurrency || IMPLS.indexOf(a.impl) - IMPLS.indexOf(b.impl),
  );

  console.log('');
  console.log(`### Discord: ${shards} shards online (identify window ${identifyWindow} ms)`);
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
        'first IDENTIFY after (ms)',
        'IDENTIFY span (ms)',
        'last IDENTIFY → online (ms)',
        'rejected IDENTIFYs (op 9)',
      ],
      rows.map((row) => [
        row.impl === 'nestjs-sharding'
          ? `nestjs-sharding (${shards / shardsPerInstance} instances × ${shardsPerInstance})`
          : `discord.js ShardingManager (${shards} processes)`,
        String(row.maxConcurrency),
        fixed(row.elapsedMs, 0),
        fixed(row.lowerBoundMs, 0),
        ratio(row.ratioToBound),
        row.oursOverDiscordJs === null ? '-' : ratio(row.oursOverDiscordJs),
        fixed(row.firstIdentifyMs, 0),
        fixed(row.identifySpanMs, 0),
        fixed(row.tailMs, 0),
        String(row.rejectedOp9) + (row.rejectedOther > 0 ? ` (+${row.rejectedOther} other)` : ''),
      ]),
    ),
  );
  console.log('');
  console.log(
    `lower bound = ceil(${shards} / max_concurrency) × ${identifyWindow} ms; ratio to bound = online / bound. ` +
      `nestjs-sharding: spawn() to whenReady(), identifyWindow ${identifyWindow} + identifyMargin ` +
      `${identifyMargin} ms. discord.js: ShardingManager.spawn({ amount: ${shards}, delay: ${DJS_DELAY}, ` +
      `timeout: ${DJS_SPAWN_TIMEOUT_MS} }). One run each, against a fresh emulator; times include ` +
      'starting every process.',
  );
  for (const row of rows) {
    if (row.rejectedOp9 > 0 || row.rejectedOther > 0) {
      console.log(
        `- ${row.impl} at max_concurrency ${row.maxConcurrency}: the emulator rejected ` +
          `${row.rejectedOp9} IDENTIFY(s) with op 9 and ${row.rejectedOther} otherwise.`,
      );
    } else {
      console.log(`- ${row.impl} at max_concurrency ${row.maxConcurrency}: no IDENTIFY rejected.`);
    }
  }
  return {
    shards,
    identifyWindow,
    identifyMargin,
    shardsPerInstance,
    discordJsDelay: DJS_DELAY,
    rows,
  };
}

async function runOnce(impl: Impl, maxConcurrency: number): Promise<OnlineRun> {
  const emulator = await GatewayEmulator.start({
    token: TOKEN,
    shards,
    maxConcurrency,
    identifyWindow,
  });
  try {
    const common = { shards, apiBase: emulator.apiBase, token: TOKEN };
    const result =
      impl === 'nestjs-sharding'
        ? await runScenario<OnlineResult>(
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
          )
        : await runScenario<OnlineResult>(
            'djs-manager.fixture',
            { kind: 'discord.js', ...common, delay: DJS_DELAY, timeout: DJS_SPAWN_TIMEOUT_MS },
            RUN_TIMEOUT_MS,
          );
    const accepted = emulator.identifies.filter((identify) => identify.accepted);
    const rejected = emulator.identifies.filter((identify) => !identify.accepted);
    const times = accepted.map((identify) => identify.at).toSorted((a, b) => a - b);
    const first = Math.min(...emulator.identifies.map((identify) => identify.at));
    return {
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
    };
  } finally {
    await emulator.close();
  }
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
