// The `discord-failover` section of `npm run bench`: an instance of a running 16-shard bot dies
// (SIGKILL) and its shards come back, against the gateway emulator, with max_concurrency 1 and a
// short identify window. @discordjs/ws bots (test/fixtures/ws-bot, 4 instances × 4 shards), each
// case a fresh fleet in which instances are killed one at a time, the fleet settled in between
// (the dead one back, every instance ready), no instance twice:
// - `spare`: `spares: 1`, the default restart policy: a ready spare takes the dead instance's
//   shards at once (RESTRUCTURING with their sessions) and RESUMEs them;
// - `no-spare`, the baseline: the default restart policy (1 s, doubling): the dead instance's
//   next generation boots and RESUMEs them;
// - `no-spare-fast`: the same with `restart: { initialDelay: 1, maxDelay: 1 }`, a second baseline
//   (the boot alone).
// Figures, from the emulator's records: from the kill to every one of the dead instance's shards
// RESUMED (or READY, after an IDENTIFY), IDENTIFYs, RESUMEs, op 9, takeovers, other shards that
// went offline meanwhile, and the events lost: with an event to every shard every
// `BENCH_FAILOVER_EVENT_INTERVAL` ms (stream-ticker.ts), those sent from the kill to the settled
// fleet that no instance reported, plus those that found no live session to go to.
//
// Environment (all optional): BENCH_FAILOVER_SHARDS (16), BENCH_FAILOVER_PER_INSTANCE (4),
// BENCH_FAILOVER_WINDOW (250 ms), BENCH_FAILOVER_MARGIN (25 ms), BENCH_FAILOVER_EVENT_INTERVAL
// (50 ms), BENCH_FAILOVER_KILLS (4 per fleet), BENCH_FAILOVER_RUNS (2 fleets per case),
// BENCH_FAILOVER_CASES (all of spare, no-spare, no-spare-fast).
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
import type { FailoverKill, FailoverResult, FailoverScenario } from './fleet-config.js';
import { envChoices, envInteger, fixed, markdown, perRun, ratio, round2 } from './report-format.js';
import { runScenario } from './scenario-runner.js';
import { shardDowntimes } from './shard-downtime.js';
import { median } from './stats.js';
import { startStreamTicker, streamLosses } from './stream-ticker.js';

const CASES = ['spare', 'no-spare', 'no-spare-fast'] as const;
type FailoverCase = (typeof CASES)[number];
/** What every ratio is against. */
const BASELINE: FailoverCase = 'no-spare';

const sizes = emulatorFleetFromEnv('BENCH_FAILOVER');
const { shards, shardsPerInstance, identifyWindow, identifyMargin, eventInterval } = sizes;
const instances = Math.ceil(shards / shardsPerInstance);
/** No instance dies twice in a fleet (the default policy would back off the second time). */
const killsPerFleet = Math.min(envInteger('BENCH_FAILOVER_KILLS', 4), instances);
const repeats = envInteger('BENCH_FAILOVER_RUNS', 2);
const cases = envChoices('BENCH_FAILOVER_CASES', CASES);

/** One SIGKILL, measured. */
interface KillRun extends SessionCounts {
  case: FailoverCase;
  /** Which fleet of the case (1 …), and the kill in it. */
  repeat: number;
  kill: number;
  instance: number;
  takenBy: number;
  /** Kill to the last of the dead instance's shards RESUMED (or READY), ms. */
  backMs: number;
  /** Kill to the fleet settled (the dead instance back too), ms. */
  settledMs: number;
  /** Shards the dead instance did not run that had no live session at some moment. */
  othersOffline: number;
  eventsSent: number;
  eventsUnseen: number;
  eventsNoSession: number;
}

/** Runs every case `repeats` times, prints the table, returns the JSON. */
export async function runFailoverSection(): Promise<Record<string, unknown>> {
  const kills: KillRun[] = [];
  const boots: Array<{ case: FailoverCase; bootMs: number }> = [];
  for (let repeat = 1; repeat <= repeats; repeat++) {
    // A different case goes first each time, as the other sections do.
    const shift = (repeat - 1) % cases.length;
    for (const failoverCase of [...cases.slice(shift), ...cases.slice(0, shift)]) {
      const { bootMs, runs } = await runOnce(failoverCase, repeat);
      boots.push({ case: failoverCase, bootMs: round2(bootMs) });
      for (const run of runs) logKill(run);
      kills.push(...runs);
    }
  }
  const rows = cases.map((failoverCase) => summarize(failoverCase, kills));
  const baseline = rows.find((row) => row.case === BASELINE);
  for (const row of rows) {
    if (baseline === undefined || row === baseline) continue;
    row.backOverBaseline = round2(row.backMs / baseline.backMs);
  }

  console.log('');
  console.log(
    `### Failover after SIGKILL: ${shards} shards, @discordjs/ws instances ` +
      `(${instances} × ${shardsPerInstance}, identify window ${identifyWindow} ms, ` +
      `${repeats * killsPerFleet} kills per case)`,
  );
  console.log('');
  console.log(
    markdown(
      [
        'failover',
        'kill → shards RESUMED, median (ms)',
        'min – max (ms)',
        'median / no spare',
        'kill → fleet settled (ms)',
        'IDENTIFY',
        'RESUME',
        'op 9',
        'other shards offline',
        'stream events',
        'events lost',
      ],
      rows.map((row) => [
        row.label,
        fixed(row.backMs, 0),
        `${fixed(row.backMinMs, 0)} – ${fixed(row.backMaxMs, 0)}`,
        row.case === BASELINE
          ? '(baseline)'
          : row.backOverBaseline === null
            ? 'n/a'
            : ratio(row.backOverBaseline),
        fixed(row.settledMs, 0),
        perRun(row.identified),
        perRun(row.resumed),
        perRun(row.rejectedOp9),
        perRun(row.othersOffline),
        String(row.streamEvents),
        String(row.eventsLost),
      ]),
    ),
  );
  console.log('');
  console.log(
    `From process.kill(pid, 'SIGKILL') of an instance to the last of its ${shardsPerInstance} ` +
      'shards RESUMED (emulator records; READY if one had to IDENTIFY); medians and range over ' +
      `the kills; ${killsPerFleet} instance(s) killed one after the other in each of ${repeats} ` +
      'fresh fleet(s) per case, each once the fleet had settled (the dead instance back and ready). ' +
      'IDENTIFY, RESUME, op 9 and other shards offline (shards of live instances that lost their ' +
      'session meanwhile) are per kill, from the kill to the settled fleet (several values: they ' +
      `differed between kills). Stream events: one to every shard every ${eventInterval} ms, ` +
      'all kills together; lost: never reported by an instance, or with no live session to go ' +
      `to. nestjs-sharding: identifyWindow ${identifyWindow} + identifyMargin ${identifyMargin} ` +
      'ms, default restart policy (1 s, doubling, ±20%) unless said.',
  );
  for (const run of kills.filter((each) => each.takeovers > 0 || each.rejectedResumes > 0)) {
    console.log(
      `- ${run.case}, fleet ${run.repeat}, kill ${run.kill}: ${run.takeovers} session(s) taken ` +
        `over, ${run.rejectedResumes} RESUME(s) refused.`,
    );
  }
  return {
    ...sizes,
    killsPerFleet,
    repeats,
    rows,
    boots,
    kills,
  };
}

async function runOnce(
  failoverCase: FailoverCase,
  repeat: number,
): Promise<{ bootMs: number; runs: KillRun[] }> {
  const emulator = await startEmulator(sizes);
  // The stream runs from the start; only what it sends from a kill to the settled fleet counts.
  const ticker = startStreamTicker(emulator, shards, STREAM_EVENT, eventInterval);
  try {
    const scenario: FailoverScenario = {
      kind: 'failover',
      spares: failoverCase === 'spare' ? 1 : 0,
      policy: failoverCase === 'no-spare-fast' ? 'fast' : 'default',
      kills: killsPerFleet,
      ...sizes,
      maxConcurrency: 1,
      apiBase: emulator.apiBase,
      token: EMULATOR_TOKEN,
      settleMs: SETTLE_MS,
      streamEvent: STREAM_EVENT,
    };
    const result = await runScenario<FailoverResult>(
      'fleet-manager.fixture',
      scenario,
      RUN_TIMEOUT_MS,
    );
    ticker.stop();
    const runs = result.kills.map((kill, index) => {
      const { sent, unseen, noSession } = streamLosses(
        emulator,
        ticker,
        STREAM_EVENT,
        result.seen,
        kill.killedAt,
        kill.settledAt,
      );
      return {
        case: failoverCase,
        repeat,
        kill: index + 1,
        ...measureKill(emulator, kill),
        eventsSent: sent,
        eventsUnseen: unseen,
        eventsNoSession: noSession,
      };
    });
    return { bootMs: result.bootMs, runs };
  } finally {
    ticker.stop();
    await emulator.close();
  }
}

/** One kill's figures from the emulator's records, from the kill to the settled fleet. */
function measureKill(
  emulator: GatewayEmulator,
  kill: FailoverKill,
): Omit<KillRun, 'case' | 'repeat' | 'kill' | `events${string}`> {
  const { killedAt: from, settledAt: to } = kill;
  // A shard is back at its first session started after the kill (RESUMED, else READY).
  const backAt = kill.shards.map((shardId) => {
    const starts = [...emulator.identifies, ...emulator.resumes]
      .filter((start) => start.accepted && start.shardId === shardId && start.at >= from)
      .map((start) => start.at);
    return starts.length === 0 ? Number.NaN : Math.min(...starts);
  });
  const others = shardDowntimes(emulator, shards, from, to).filter(
    (downtime) => !kill.shards.includes(downtime.shardId),
  );
  return {
    instance: kill.instance,
    takenBy: kill.takenBy,
    backMs: round2(Math.max(...backAt) - from),
    settledMs: round2(to - from),
    ...sessionCounts(emulator, from, to),
    othersOffline: others.filter((downtime) => downtime.gaps > 0).length,
  };
}

/** A case's medians and range (times), per-kill values (counts) and totals (events). */
function summarize(failoverCase: FailoverCase, kills: KillRun[]) {
  const group = kills.filter((run) => run.case === failoverCase);
  const backs = group.map((run) => run.backMs);
  const sum = (pick: (run: KillRun) => number) =>
    group.reduce((total, run) => total + pick(run), 0);
  return {
    case: failoverCase,
    label: labelOf(failoverCase),
    kills: group.length,
    backMs: round2(median(backs)),
    backMinMs: Math.min(...backs),
    backMaxMs: Math.max(...backs),
    settledMs: round2(median(group.map((run) => run.settledMs))),
    identified: group.map((run) => run.identified),
    resumed: group.map((run) => run.resumed),
    rejectedOp9: group.map((run) => run.rejectedOp9),
    othersOffline: group.map((run) => run.othersOffline),
    // What the stream produced: dispatched, or found no session to go to.
    streamEvents: sum((run) => run.eventsSent + run.eventsNoSession),
    eventsLost: sum((run) => run.eventsUnseen + run.eventsNoSession),
    backOverBaseline: null as number | null,
  };
}

function labelOf(failoverCase: FailoverCase): string {
  switch (failoverCase) {
    case 'spare':
      return 'nestjs-sharding, `spares: 1` (spare RESUMEs)';
    case 'no-spare':
      return 'nestjs-sharding, no spare (restart, RESUME)';
    case 'no-spare-fast':
      return 'nestjs-sharding, no spare, `restart: { initialDelay: 1, maxDelay: 1 }`';
  }
}

function logKill(run: KillRun): void {
  console.error(
    `  ${run.case.padEnd(13)} fleet ${run.repeat} kill ${run.kill} (instance ${run.instance} → ` +
      `${run.takenBy}): shards back in ${fixed(run.backMs, 0)} ms, settled in ` +
      `${fixed(run.settledMs, 0)} ms, ${run.identified} IDENTIFY, ${run.resumed} RESUME, ` +
      `${run.rejectedOp9} op 9, ${run.rejectedResumes} RESUME refused, ${run.takeovers} ` +
      `takeovers, ${run.othersOffline} other shards offline, events ${run.eventsSent} sent, ` +
      `${run.eventsUnseen} unseen, ${run.eventsNoSession} with no session`,
  );
}
