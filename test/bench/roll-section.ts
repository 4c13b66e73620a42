// The `discord-roll` section of `npm run bench`: replacing every process of a running 16-shard
// bot (new code deployed, say) against the gateway emulator, with max_concurrency 1 and a short
// identify window, each way of doing it set against a baseline measured in the same run:
// - @discordjs/ws bots (test/fixtures/ws-bot, 4 instances × 4 shards): `rollingRestart()`, each
//   instance's shards handed to its new generation with RESUME, against the plain way, a
//   `restart(i)` of each instance awaited in turn (staged kill, new generation, IDENTIFY);
// - discord.js bots: `rollingRestart()` of test/fixtures/discord-bot instances (4 × 4; the new
//   generation IDENTIFYs, paced, and is READY before the old one stops), against discord.js's
//   ShardingManager (16 shard processes) `respawnAll()`, its delays scaled to the identify window
//   as the discord section scales `spawn()`'s.
// Figures, all from the emulator's records over the restart (from the call to its resolution):
// total time, the longest stretch any shard had no live session (shard-downtime.ts), IDENTIFYs,
// RESUMEs, op 9; for the ws bots also the events lost: with an event to every shard every
// `BENCH_ROLL_EVENT_INTERVAL` ms (stream-ticker.ts), those sent during the restart that no
// instance reported, plus those that found no live session to go to.
//
// Environment (all optional): BENCH_ROLL_SHARDS (16), BENCH_ROLL_PER_INSTANCE (4),
// BENCH_ROLL_WINDOW (250 ms), BENCH_ROLL_MARGIN (25 ms), BENCH_ROLL_EVENT_INTERVAL (50 ms),
// BENCH_ROLL_RUNS (3: the tables show medians), BENCH_ROLL_CASES (all of ws-rolling,
// ws-one-by-one, djs-rolling, djs-respawn-all).
import type { GatewayEmulator } from '../../src/testing/index.js';
import {
  EMULATOR_TOKEN,
  emulatorFleetFromEnv,
  RUN_TIMEOUT_MS,
  sessionCounts,
  SETTLE_MS,
  startEmulator,
  STREAM_EVENT,
  type SessionCounts,
} from './emulator-fleet.js';
import type { RollResult, RollScenario } from './fleet-config.js';
import { envChoices, envInteger, fixed, markdown, perRun, ratio, round2 } from './report-format.js';
import { runScenario } from './scenario-runner.js';
import { shardDowntimes } from './shard-downtime.js';
import { median } from './stats.js';
import { startStreamTicker, streamLosses, type StreamTicker } from './stream-ticker.js';

const CASES = ['ws-rolling', 'ws-one-by-one', 'djs-rolling', 'djs-respawn-all'] as const;
type RollCase = (typeof CASES)[number];
/** Each measured way against its baseline, run in turn. */
const PAIRS: Array<[RollCase, RollCase]> = [
  ['ws-rolling', 'ws-one-by-one'],
  ['djs-rolling', 'djs-respawn-all'],
];

const sizes = emulatorFleetFromEnv('BENCH_ROLL');
const { shards, shardsPerInstance, identifyWindow, identifyMargin, eventInterval } = sizes;
const repeats = envInteger('BENCH_ROLL_RUNS', 3);
const cases = envChoices('BENCH_ROLL_CASES', CASES);
/**
 * discord.js's defaults in the proportion of Discord's 5000 ms window to ours: `spawn()` delay
 * 5500 ms, `respawnAll()` shardDelay 5000 ms and respawnDelay 500 ms.
 */
const DJS_SPAWN_DELAY = Math.round(identifyWindow * 1.1);
const DJS_SHARD_DELAY = identifyWindow;
const DJS_RESPAWN_DELAY = Math.round(identifyWindow * 0.1);
const DJS_TIMEOUT_MS = 60_000;

/** One restart of the whole fleet, against one emulator. */
interface RollRun extends SessionCounts {
  case: RollCase;
  /** Spawn to every shard online, before the restart, ms. */
  bootMs: number;
  elapsedMs: number;
  /** The longest time any shard had no live session, ms, and which shard. */
  longestDowntimeMs: number;
  longestDowntimeShard: number;
  /** Shards that had no live session at some moment. */
  shardsOffline: number;
  /** The shards' downtimes added up, ms. */
  totalDowntimeMs: number;
  /** Instances whose replacement failed. */
  failed: number;
  /** ws bots: stream events sent during the restart, and those lost (not reported, or no session). */
  eventsSent?: number;
  eventsUnseen?: number;
  eventsNoSession?: number;
}

/** Runs every case `repeats` times, prints the tables, returns the JSON. */
export async function runRollSection(): Promise<Record<string, unknown>> {
  const runs: RollRun[] = [];
  let turn = 0;
  for (let repeat = 1; repeat <= repeats; repeat++) {
    for (const pair of PAIRS) {
      // Alternate who goes first, as the other sections do.
      const order = turn++ % 2 === 0 ? pair : pair.toReversed();
      for (const rollCase of order.filter((name) => cases.includes(name))) {
        const run = await runOnce(rollCase);
        runs.push(run);
        logRun(run, repeat);
      }
    }
  }
  const rows = cases.map((rollCase) => summarize(rollCase, runs));
  const rowOf = (rollCase: RollCase) => rows.find((row) => row.case === rollCase);
  for (const row of rows) {
    const baseline = rowOf(baselineOf(row.case));
    if (baseline === undefined || baseline === row) continue;
    row.timeOverBaseline = round2(row.elapsedMs / baseline.elapsedMs);
    row.downtimeOverBaseline = round2(row.longestDowntimeMs / baseline.longestDowntimeMs);
  }

  const runsNote = `median of ${repeats} run${repeats === 1 ? '' : 's'}`;
  const wsRows = rows.filter((row) => row.case.startsWith('ws-'));
  if (wsRows.length > 0) {
    console.log('');
    console.log(
      `### Rolling restart: ${shards} shards, @discordjs/ws instances ` +
        `(${instanceCount()} × ${shardsPerInstance}, identify window ${identifyWindow} ms, ${runsNote})`,
    );
    console.log('');
    console.log(
      markdown(
        [
          'restart',
          'total (ms)',
          'time / one by one',
          'longest shard downtime (ms)',
          'downtime / one by one',
          'shards offline',
          'IDENTIFY',
          'RESUME',
          'op 9',
          'stream events',
          'events lost',
        ],
        wsRows.map((row) => [
          row.label,
          fixed(row.elapsedMs, 0),
          ratioCell(row),
          fixed(row.longestDowntimeMs, 0),
          downtimeRatioCell(row),
          perRun(row.shardsOffline),
          perRun(row.identified),
          perRun(row.resumed),
          perRun(row.rejectedOp9),
          perRun(row.streamEvents),
          perRun(row.eventsLost),
        ]),
      ),
    );
  }
  const djsRows = rows.filter((row) => row.case.startsWith('djs-'));
  if (djsRows.length > 0) {
    console.log('');
    console.log(
      `### Rolling restart: ${shards} shards, discord.js bots (identify window ${identifyWindow} ms, ${runsNote})`,
    );
    console.log('');
    console.log(
      markdown(
        [
          'restart',
          'total (ms)',
          'time / respawnAll',
          'longest shard downtime (ms)',
          'downtime / respawnAll',
          'shards offline',
          'IDENTIFY',
          'op 9',
        ],
        djsRows.map((row) => [
          row.label,
          fixed(row.elapsedMs, 0),
          ratioCell(row),
          fixed(row.longestDowntimeMs, 0),
          downtimeRatioCell(row),
          perRun(row.shardsOffline),
          perRun(row.identified),
          perRun(row.rejectedOp9),
        ]),
      ),
    );
  }
  console.log('');
  console.log(
    'From the call to its resolution; downtime: the longest stretch any shard had no gateway ' +
      'connection with a READY or RESUMED session (emulator records: IDENTIFY, RESUME, close). ' +
      'A RESUME handover leaves a shard without a connection from the old side closing it to the ' +
      'RESUME; the events of that stretch are replayed. ' +
      'Counts are per run (several values: they differed between runs). ' +
      `Stream events: one to every shard every ${eventInterval} ms during the restart; lost: ` +
      'never reported by an instance, or with no live session to go to (the old one ended, the ' +
      'new one not READY yet). ' +
      `discord.js: ShardingManager({ totalShards: ${shards}, mode: 'process' }), ` +
      `spawn({ delay: ${DJS_SPAWN_DELAY} }), then respawnAll({ shardDelay: ${DJS_SHARD_DELAY}, ` +
      `respawnDelay: ${DJS_RESPAWN_DELAY} }) (its defaults 5000 and 500 ms scaled to the ` +
      `${identifyWindow} ms window). nestjs-sharding: identifyWindow ${identifyWindow} + ` +
      `identifyMargin ${identifyMargin} ms, rollingRestart() with concurrency 1.`,
  );
  for (const run of runs.filter((each) => each.failed > 0 || each.takeovers > 0)) {
    console.log(
      `- ${run.case}: ${run.failed} instance(s) kept their old generation, ` +
        `${run.takeovers} session(s) taken over.`,
    );
  }
  return {
    ...sizes,
    discordJs: {
      spawnDelay: DJS_SPAWN_DELAY,
      shardDelay: DJS_SHARD_DELAY,
      respawnDelay: DJS_RESPAWN_DELAY,
    },
    repeats,
    rows,
    runs,
  };
}

async function runOnce(rollCase: RollCase): Promise<RollRun> {
  const emulator = await startEmulator(sizes);
  let ticker: StreamTicker | undefined;
  try {
    const common = { shards, apiBase: emulator.apiBase, token: EMULATOR_TOKEN };
    let result: RollResult;
    if (rollCase === 'djs-respawn-all') {
      result = await runScenario<RollResult>(
        'djs-manager.fixture',
        {
          kind: 'discord.js',
          ...common,
          delay: DJS_SPAWN_DELAY,
          timeout: DJS_TIMEOUT_MS,
          respawnAll: { shardDelay: DJS_SHARD_DELAY, respawnDelay: DJS_RESPAWN_DELAY },
        },
        RUN_TIMEOUT_MS,
      );
    } else {
      const bot = rollCase.startsWith('ws-') ? 'ws' : 'discord.js';
      // The stream runs from the start; only what it sends during the restart counts.
      if (bot === 'ws') ticker = startStreamTicker(emulator, shards, STREAM_EVENT, eventInterval);
      const scenario: RollScenario = {
        kind: 'roll',
        bot,
        method: rollCase.endsWith('-rolling') ? 'rolling' : 'one-by-one',
        ...common,
        shardsPerInstance,
        maxConcurrency: 1,
        identifyWindow,
        identifyMargin,
        settleMs: SETTLE_MS,
        ...(bot === 'ws' && { streamEvent: STREAM_EVENT }),
      };
      result = await runScenario<RollResult>('fleet-manager.fixture', scenario, RUN_TIMEOUT_MS);
    }
    ticker?.stop();
    return analyze(rollCase, emulator, result, ticker);
  } finally {
    ticker?.stop();
    await emulator.close();
  }
}

/** The run's figures from the emulator's records between the restart's start and end. */
function analyze(
  rollCase: RollCase,
  emulator: GatewayEmulator,
  result: RollResult,
  ticker: StreamTicker | undefined,
): RollRun {
  const { startedAt: from, endedAt: to } = result;
  const downtimes = shardDowntimes(emulator, shards, from, to);
  const longest = downtimes.reduce((worst, shard) =>
    shard.longestMs > worst.longestMs ? shard : worst,
  );
  const run: RollRun = {
    case: rollCase,
    bootMs: round2(result.bootMs),
    elapsedMs: round2(result.elapsedMs),
    longestDowntimeMs: round2(longest.longestMs),
    longestDowntimeShard: longest.shardId,
    shardsOffline: downtimes.filter((shard) => shard.gaps > 0).length,
    totalDowntimeMs: round2(downtimes.reduce((sum, shard) => sum + shard.totalMs, 0)),
    ...sessionCounts(emulator, from, to),
    failed: result.failed,
  };
  if (ticker !== undefined && result.seen !== undefined) {
    const losses = streamLosses(emulator, ticker, STREAM_EVENT, result.seen, from, to);
    run.eventsSent = losses.sent;
    run.eventsUnseen = losses.unseen;
    run.eventsNoSession = losses.noSession;
  }
  return run;
}

/** A case's medians (times) and per-run values (counts). */
function summarize(rollCase: RollCase, runs: RollRun[]) {
  const group = runs.filter((run) => run.case === rollCase);
  const medianOf = (pick: (run: RollRun) => number) => round2(median(group.map(pick)));
  // Per run, in run order; null where the case has no such figure (events of discord.js bots).
  const counts = (pick: (run: RollRun) => number | undefined) => {
    const values = group.map(pick);
    return values.some((value) => value === undefined) ? null : (values as number[]);
  };
  return {
    case: rollCase,
    label: labelOf(rollCase),
    runs: group.length,
    bootMs: medianOf((run) => run.bootMs),
    elapsedMs: medianOf((run) => run.elapsedMs),
    longestDowntimeMs: medianOf((run) => run.longestDowntimeMs),
    totalDowntimeMs: medianOf((run) => run.totalDowntimeMs),
    shardsOffline: counts((run) => run.shardsOffline),
    identified: counts((run) => run.identified),
    resumed: counts((run) => run.resumed),
    rejectedOp9: counts((run) => run.rejectedOp9),
    // What the stream produced during the restart: dispatched, or found no session to go to.
    streamEvents: counts((run) =>
      run.eventsSent === undefined ? undefined : run.eventsSent + run.eventsNoSession!,
    ),
    eventsLost: counts((run) =>
      run.eventsUnseen === undefined ? undefined : run.eventsUnseen + run.eventsNoSession!,
    ),
    timeOverBaseline: null as number | null,
    downtimeOverBaseline: null as number | null,
  };
}

type Row = ReturnType<typeof summarize>;

function ratioCell(row: Row): string {
  return ratioOrBaseline(row, row.timeOverBaseline);
}

function downtimeRatioCell(row: Row): string {
  return ratioOrBaseline(row, row.downtimeOverBaseline);
}

/** `value` as a ratio; the baseline's own row says so; without its baseline, `n/a`. */
function ratioOrBaseline(row: Row, value: number | null): string {
  if (baselineOf(row.case) === row.case) return '(baseline)';
  return value === null ? 'n/a' : ratio(value);
}

function baselineOf(rollCase: RollCase): RollCase {
  return PAIRS.find((pair) => pair.includes(rollCase))![1];
}

function instanceCount(): number {
  return Math.ceil(shards / shardsPerInstance);
}

function labelOf(rollCase: RollCase): string {
  const fleet = `${instanceCount()} instances × ${shardsPerInstance}`;
  switch (rollCase) {
    case 'ws-rolling':
      return `nestjs-sharding rollingRestart() (${fleet}, RESUME)`;
    case 'ws-one-by-one':
      return `nestjs-sharding restart(i) one by one (${fleet})`;
    case 'djs-rolling':
      return `nestjs-sharding rollingRestart() (${fleet}, overlap)`;
    case 'djs-respawn-all':
      return `discord.js ShardingManager.respawnAll() (${shards} processes)`;
  }
}

function logRun(run: RollRun, repeat: number): void {
  const events =
    run.eventsSent === undefined
      ? ''
      : `, events ${run.eventsSent} sent, ${run.eventsUnseen} unseen, ${run.eventsNoSession} with no session`;
  console.error(
    `  ${repeat}/${repeats} ${run.case.padEnd(15)}: ${fixed(run.elapsedMs, 0)} ms ` +
      `(boot ${fixed(run.bootMs, 0)} ms), longest downtime ${fixed(run.longestDowntimeMs, 0)} ms ` +
      `(shard ${run.longestDowntimeShard}, ${run.shardsOffline} shards offline), ` +
      `${run.identified} IDENTIFY, ${run.resumed} RESUME, ${run.rejectedOp9} op 9, ` +
      `${run.rejectedResumes} RESUME refused, ${run.takeovers} takeovers, ${run.failed} failed` +
      events,
  );
}
