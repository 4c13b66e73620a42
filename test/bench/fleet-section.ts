// The `fleet` section of `npm run bench`: real fleets (a manager process running ShardingModule,
// instances running test/fixtures/sharding-app.fixture), each figure set against a baseline
// measured in the same run:
// - fanout: `broadcastRequest('echo')` to 1, 8 and 32 instances, against a single
//   `request(0, 'echo')` in the same fleet (process mode, one shard per instance); and, as a
//   reference, the same loop over bare node:net sockets to as many bare servers;
// - restart: an instance's SIGKILL to its replacement's `ready`, with a 1 ms restart delay,
//   against the same instance's cold start (spawn to `ready` of generation 1); plus one kill under
//   the default restart policy, for its delay;
// - memory: RSS per instance in each mode, against a bare `node -e "setInterval(()=>{},1000)"` and
//   against a bare Nest application context; and what each piece of an instance (Nest, this
//   library, discord.js; discord-hybrid-sharding for its clusters) adds to a bare node.
//
// Environment (all optional): BENCH_FLEET_SIZES (1,8,32), BENCH_FLEET_WARMUP (200),
// BENCH_FLEET_ROUNDS (1000), BENCH_RESTART_FLEETS (3), BENCH_RESTART_KILLS (4),
// BENCH_MEMORY_INSTANCES (4), BENCH_MEMORY_SETTLE (2000 ms).
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  MANAGER_SHARD_ID,
  SHARDING_DEFAULTS,
  SnowflakeService,
  type ShardingMode,
} from '../../src/index.js';
import { createSocketRoot, removeSocketRoot } from '../../src/ipc/index.js';
import { BenchEnv } from './bench-config.js';
import { forkBenchChild, nextMessage, spawnNode, stopChild } from './bench-processes.js';
import type { FanoutResult, KillSample, MemoryResult, RestartResult } from './fleet-config.js';
import type { ImportCostReading } from './import-cost.fixture.js';
import { sampleMemory, type Memory } from './proc-stats.js';
import {
  envInteger,
  envIntegers,
  fixed,
  markdown,
  mib,
  ratio,
  round2,
  toMiB,
} from './report-format.js';
import { runScenario } from './scenario-runner.js';
import { mean, median } from './stats.js';

/** The parts of the section, selectable as `fleet-fanout`, `fleet-restart`, `fleet-memory`. */
export const FLEET_PARTS = ['fanout', 'restart', 'memory'] as const;
export type FleetPart = (typeof FLEET_PARTS)[number];

const sizes = envIntegers('BENCH_FLEET_SIZES', [1, 8, 32]);
const warmup = envInteger('BENCH_FLEET_WARMUP', 200);
const rounds = envInteger('BENCH_FLEET_ROUNDS', 1_000);
const restartFleets = envInteger('BENCH_RESTART_FLEETS', 3);
const restartKills = envInteger('BENCH_RESTART_KILLS', 4);
const memoryInstances = envInteger('BENCH_MEMORY_INSTANCES', 4);
const memorySettle = envInteger('BENCH_MEMORY_SETTLE', 2_000);
const MEMORY_SAMPLES = 5;
const snowflakes = new SnowflakeService();
/** Generous: 32 Nest instances booting at once on 2 cores, then the rounds. */
const SCENARIO_TIMEOUT_MS = 240_000;

/** Runs the chosen parts, prints their tables, and returns what the results file keeps. */
export async function runFleetSection(parts: FleetPart[]): Promise<Record<string, unknown>> {
  const json: Record<string, unknown> = {};
  if (parts.includes('fanout')) json.fanout = await fanoutPart();
  if (parts.includes('restart')) json.restart = await restartPart();
  if (parts.includes('memory')) json.memory = await memoryPart();
  return json;
}

async function fanoutPart() {
  const results: FanoutResult[] = [];
  for (const [index, instances] of sizes.entries()) {
    // Ours and the raw reference in turn, in swapped order for every other size.
    const order = index % 2 === 0 ? ([ours, raw] as const) : ([raw, ours] as const);
    for (const run of order) {
      const result = await run(instances);
      results.push(result);
      console.error(
        `  fan-out ${String(instances).padStart(2)} ${result.impl.padEnd(15)}: broadcast p50 ` +
          `${fixed(result.broadcast.p50)} µs, single p50 ${fixed(result.single.p50)} µs, ` +
          `instance CPU/echo ${fixed(result.instanceCpuPerEcho)} µs ` +
          `(up in ${fixed(result.bootMs, 0)} ms, ${result.failures} failed calls)`,
      );
    }
  }
  const rows = sizes.map((instances) => {
    const lib = results.find(
      (result) => result.impl === 'nestjs-sharding' && result.instances === instances,
    )!;
    const ref = results.find(
      (result) => result.impl === 'raw-net' && result.instances === instances,
    )!;
    return {
      instances,
      broadcastP50: round2(lib.broadcast.p50),
      singleP50: round2(lib.single.p50),
      ratioP50: round2(lib.broadcast.p50 / lib.single.p50),
      broadcastP99: round2(lib.broadcast.p99),
      singleP99: round2(lib.single.p99),
      ratioP99: round2(lib.broadcast.p99 / lib.single.p99),
      /** Wall time each instance beyond the first adds to a broadcast, at p50. */
      perExtraInstanceP50:
        instances > 1 ? round2((lib.broadcast.p50 - lib.single.p50) / (instances - 1)) : null,
      cpuBroadcast: round2(lib.cpuBroadcast),
      cpuSingle: round2(lib.cpuSingle),
      instanceCpuPerEcho: round2(lib.instanceCpuPerEcho),
      failures: lib.failures,
      bootMs: round2(lib.bootMs),
      raw: {
        broadcastP50: round2(ref.broadcast.p50),
        broadcastP99: round2(ref.broadcast.p99),
        singleP50: round2(ref.single.p50),
        ratioP50: round2(ref.broadcast.p50 / ref.single.p50),
        cpuBroadcast: round2(ref.cpuBroadcast),
        instanceCpuPerEcho: round2(ref.instanceCpuPerEcho),
        failures: ref.failures,
      },
      oursOverRawBroadcastP50: round2(lib.broadcast.p50 / ref.broadcast.p50),
      oursOverRawBroadcastP99: round2(lib.broadcast.p99 / ref.broadcast.p99),
    };
  });
  console.log('');
  console.log('### Fleet: broadcastRequest fan-out (process mode, 1 shard per instance)');
  console.log('');
  console.log(
    markdown(
      [
        'instances',
        'broadcastRequest p50 (µs)',
        'request p50 (µs)',
        'ratio p50',
        'broadcastRequest p99 (µs)',
        'request p99 (µs)',
        'ratio p99',
        'per extra instance, p50 (µs)',
      ],
      rows.map((row) => [
        String(row.instances),
        fixed(row.broadcastP50),
        fixed(row.singleP50),
        ratio(row.ratioP50),
        fixed(row.broadcastP99),
        fixed(row.singleP99),
        ratio(row.ratioP99),
        row.perExtraInstanceP50 === null ? '-' : fixed(row.perExtraInstanceP50),
      ]),
    ),
  );
  console.log('');
  console.log(
    `ratio = broadcastRequest('echo') to every instance / request(0, 'echo') in the same fleet: ` +
      `${rounds} rounds of each after ${warmup} warm-up rounds, in alternating blocks of 20, ` +
      'unpinned. Per extra instance: (broadcast p50 - request p50) / (instances - 1).',
  );
  console.log('');
  console.log(
    markdown(
      [
        'instances',
        'raw net: broadcast p50 (µs)',
        'raw net: ratio p50',
        'broadcast p50, ours / raw',
        'raw net: broadcast p99 (µs)',
        'broadcast p99, ours / raw',
        'requester CPU per broadcast, ours / raw (µs)',
        'instance CPU per echo, ours / raw (µs)',
      ],
      rows.map((row) => [
        String(row.instances),
        fixed(row.raw.broadcastP50),
        ratio(row.raw.ratioP50),
        ratio(row.oursOverRawBroadcastP50),
        fixed(row.raw.broadcastP99),
        ratio(row.oursOverRawBroadcastP99),
        `${fixed(row.cpuBroadcast)} / ${fixed(row.raw.cpuBroadcast)}`,
        `${fixed(row.instanceCpuPerEcho)} / ${fixed(row.raw.instanceCpuPerEcho)}`,
      ]),
    ),
  );
  console.log('');
  console.log(
    'Reference: the same loop over bare node:net sockets to as many bare socket servers ' +
      '(raw-server.fixture), measured in the same run: what fanning out costs this machine ' +
      'without the library. CPU: user + system of the requesting process per call; instances: ' +
      'all threads (/proc schedstat) over the timed rounds, per echo answered.',
  );
  const failures = results.reduce((sum, result) => sum + result.failures, 0);
  if (failures > 0) console.log(`- ${failures} call(s) did not return every echo (see the JSON).`);
  return { warmup, rounds, rows, results };
}

/** This library: a manager process and `instances` sharding-app instances. */
function ours(instances: number): Promise<FanoutResult> {
  return runScenario<FanoutResult>(
    'fleet-manager.fixture',
    { kind: 'fanout', instances, warmup, rounds },
    SCENARIO_TIMEOUT_MS,
  );
}

/** The reference: `instances` bare socket servers and a bare client process. */
async function raw(instances: number): Promise<FanoutResult> {
  const socketRoot = await createSocketRoot();
  const servers: ChildProcess[] = [];
  try {
    const started = performance.now();
    const sockets = Array.from({ length: instances }, (_, index) =>
      join(socketRoot, `raw${index}`),
    );
    for (const path of sockets) {
      servers.push(forkBenchChild('raw-server.fixture', { [BenchEnv.RAW_SOCKET]: path }));
    }
    await Promise.all(
      servers.map((server) => nextMessage(server, 'listening', SCENARIO_TIMEOUT_MS)),
    );
    const bootMs = performance.now() - started;
    const result = await runScenario<FanoutResult>(
      'raw-fanout.fixture',
      {
        kind: 'fanout',
        instances,
        warmup,
        rounds,
        raw: {
          sockets,
          pids: servers.map((server) => server.pid!),
          idTemplate: snowflakes.generate(MANAGER_SHARD_ID),
        },
      },
      SCENARIO_TIMEOUT_MS,
    );
    return { ...result, bootMs };
  } finally {
    // They leave when the client closes their socket; stragglers are killed.
    await Promise.all(servers.map((server) => stopChild(server, 2_000)));
    await removeSocketRoot(socketRoot);
  }
}

async function restartPart() {
  const fast: RestartResult[] = [];
  for (let fleet = 1; fleet <= restartFleets; fleet++) {
    const result = await runScenario<RestartResult>(
      'fleet-manager.fixture',
      { kind: 'restart', kills: restartKills, policy: 'fast', settleMs: 300 },
      SCENARIO_TIMEOUT_MS,
    );
    fast.push(result);
    console.error(
      `  restart fleet ${fleet}/${restartFleets}: cold start ${fixed(result.coldStart, 0)} ms, ` +
        `death to ready ${result.kills.map((kill) => fixed(kill.deathToReady, 0)).join(', ')} ms`,
    );
  }
  // A hung instance (SIGSTOP): found by missed heartbeats (3 × 500 ms), then SIGKILLed at once.
  const hung = await runScenario<RestartResult>(
    'fleet-manager.fixture',
    {
      kind: 'restart',
      kills: restartKills,
      policy: 'fast',
      settleMs: 300,
      signal: 'SIGSTOP',
      heartbeatInterval: 500,
    },
    SCENARIO_TIMEOUT_MS,
  );
  console.error(
    `  hung fleet: cold start ${fixed(hung.coldStart, 0)} ms, span ${hung.heartbeatSpan} ms, ` +
      `hang to ready ${hung.kills.map((kill) => fixed(kill.deathToReady, 0)).join(', ')} ms`,
  );
  const defaultPolicy = await runScenario<RestartResult>(
    'fleet-manager.fixture',
    { kind: 'restart', kills: 1, policy: 'default', settleMs: 300 },
    SCENARIO_TIMEOUT_MS,
  );
  console.error(
    `  restart, default policy: delay ${defaultPolicy.kills[0]!.policyDelay} ms, death to ready ` +
      `${fixed(defaultPolicy.kills[0]!.deathToReady, 0)} ms`,
  );

  const coldStart = median(fast.map((result) => result.coldStart));
  const kills = fast.flatMap((result) => result.kills);
  const phase = (pick: (kill: KillSample) => number) => median(kills.map(pick));
  const rows: Array<{ measurement: string; medianMs: number; ratio: number }> = [
    ['death → replacement ready (restart delay 1 ms)', phase((kill) => kill.deathToReady)],
    ['  death → manager notices (stopping)', phase((kill) => kill.deathToStopping)],
    ['  death → old generation exited', phase((kill) => kill.deathToExited)],
    ['  death → replacement spawning', phase((kill) => kill.deathToSpawning)],
    ['  replacement spawning → ready', phase((kill) => kill.spawnToReady)],
  ].map(([measurement, value]) => ({
    measurement: measurement as string,
    medianMs: round2(value as number),
    ratio: round2((value as number) / coldStart),
  }));
  const hungBound = hung.heartbeatSpan! + hung.coldStart;
  const hungToReady = median(hung.kills.map((kill) => kill.deathToReady));
  const defaultKill = defaultPolicy.kills[0]!;
  const { initialDelay, jitter } = SHARDING_DEFAULTS.restart;

  console.log('');
  console.log('### Fleet: replacing a SIGKILLed instance (process mode)');
  console.log('');
  console.log(
    markdown(
      ['measurement', 'median (ms)', 'cold start (ms)', 'ratio'],
      rows.map((row) => [
        row.measurement.replace(/^ {2}/, '· '),
        fixed(row.medianMs),
        fixed(coldStart),
        ratio(row.ratio),
      ]),
    ),
  );
  console.log('');
  console.log(
    `ratio = time from process.kill(pid, 'SIGKILL') / cold start (spawn → ready of generation 1), ` +
      `medians of ${kills.length} kills in ${fast.length} fleets of 1 instance, and of their ` +
      `${fast.length} cold starts; restart: { initialDelay: 1, maxDelay: 1, jitter: 0 }.`,
  );
  console.log('');
  console.log(
    markdown(
      ['measurement', 'median (ms)', 'heartbeat span + cold start (ms)', 'ratio'],
      [
        [
          'hung (SIGSTOP) → replacement ready (restart delay 1 ms)',
          fixed(hungToReady),
          `${hung.heartbeatSpan} + ${fixed(hung.coldStart)}`,
          ratio(hungToReady / hungBound),
        ],
      ],
    ),
  );
  console.log('');
  console.log(
    `ratio = time from process.kill(pid, 'SIGSTOP') to the replacement's ready / (the missed-` +
      `heartbeat span + this fleet's cold start), median of ${hung.kills.length} hangs; target 1.10x.`,
  );
  console.log(
    `- Note, the default policy: its first delay is ${initialDelay} ms ±${jitter * 100}% ` +
      `(${initialDelay * (1 - jitter)}-${initialDelay * (1 + jitter)} ms); one kill under it chose ` +
      `${defaultKill.policyDelay} ms and took ${fixed(defaultKill.deathToReady, 0)} ms to ready ` +
      `(${ratio(defaultKill.deathToReady / coldStart)} the cold start).`,
  );
  return {
    policy: { initialDelay: 1, maxDelay: 1, jitter: 0 },
    coldStartMs: round2(coldStart),
    rows,
    defaultPolicy: {
      firstDelayMs: initialDelay,
      jitter,
      observedDelayMs: defaultKill.policyDelay,
      deathToReadyMs: round2(defaultKill.deathToReady),
    },
    hung: {
      heartbeatSpanMs: hung.heartbeatSpan,
      coldStartMs: round2(hung.coldStart),
      hungToReadyMs: round2(hungToReady),
      ratio: round2(hungToReady / hungBound),
    },
    results: [...fast, hung, defaultPolicy],
  };
}

async function memoryPart() {
  const bare = await bareNodeMemory();
  console.error(`  bare node: ${mib(bare.rss)} MiB (anonymous ${mib(bare.anon)} MiB)`);
  const nest = await nestContextMemory();
  console.error(`  bare Nest context: ${mib(nest.rss)} MiB (anonymous ${mib(nest.anon)} MiB)`);
  const modes: ShardingMode[] = ['process', 'worker', 'cluster'];
  const results: MemoryResult[] = [];
  for (const mode of modes) {
    const result = await runScenario<MemoryResult>(
      'fleet-manager.fixture',
      {
        kind: 'memory',
        mode,
        instances: memoryInstances,
        settleMs: memorySettle,
        samples: MEMORY_SAMPLES,
      },
      SCENARIO_TIMEOUT_MS,
    );
    results.push(result);
    console.error(
      `  memory ${mode.padEnd(7)}: manager ${mib(result.managerIdle.rss)} → ` +
        `${mib(result.managerFleet.rss)} MiB, instances ` +
        `${result.instanceMemory.map((memory) => mib(memory.rss)).join(', ') || '(threads of the manager)'} MiB`,
    );
  }
  const rows = results.map((result) => {
    const perInstance = (field: keyof Memory) =>
      result.mode === 'worker'
        ? (result.managerFleet[field] - result.managerIdle[field]) / result.instances
        : mean(result.instanceMemory.map((memory) => memory[field]));
    return {
      mode: result.mode,
      rssPerInstanceMiB: toMiB(perInstance('rss')),
      bareNodeRssMiB: toMiB(bare.rss),
      ratio: round2(perInstance('rss') / bare.rss),
      anonPerInstanceMiB: toMiB(perInstance('anon')),
      bareNodeAnonMiB: toMiB(bare.anon),
      anonRatio: round2(perInstance('anon') / bare.anon),
      bareNestRssMiB: toMiB(nest.rss),
      nestRatio: round2(perInstance('rss') / nest.rss),
      overNestMiB: toMiB(perInstance('rss') - nest.rss),
      managerIdleRssMiB: toMiB(result.managerIdle.rss),
      managerFleetRssMiB: toMiB(result.managerFleet.rss),
    };
  });
  console.log('');
  console.log(`### Fleet: memory per instance (${memoryInstances} instances of sharding-app)`);
  console.log('');
  console.log(
    markdown(
      [
        'mode',
        'RSS per instance (MiB)',
        'bare node RSS (MiB)',
        'ratio',
        'bare Nest context RSS (MiB)',
        'ratio',
        'anonymous RSS per instance (MiB)',
        'bare node anonymous (MiB)',
        'ratio',
        'manager RSS, 0 → all instances (MiB)',
      ],
      rows.map((row) => [
        row.mode,
        fixed(row.rssPerInstanceMiB),
        fixed(row.bareNodeRssMiB),
        ratio(row.ratio),
        fixed(row.bareNestRssMiB),
        ratio(row.nestRatio),
        fixed(row.anonPerInstanceMiB),
        fixed(row.bareNodeAnonMiB),
        ratio(row.anonRatio),
        `${fixed(row.managerIdleRssMiB)} → ${fixed(row.managerFleetRssMiB)}`,
      ]),
    ),
  );
  console.log('');
  console.log(
    'ratio = per instance / a bare `node -e "setInterval(()=>{},1000)"` started in the same run; ' +
      `each figure the median of ${MEMORY_SAMPLES} readings of /proc/<pid>/status, ${memorySettle} ms ` +
      'after every instance is ready (bare node: after its start). process, cluster: mean over the ' +
      'instance processes; worker: (manager with every instance - manager with none) / instances. ' +
      'VmRSS counts pages shared by every node process (the binary: RssFile), RssAnon only the ' +
      "process's own (heaps, stacks). Bare Nest context: `NestFactory.createApplicationContext` of " +
      'an empty module, idle, forked like a process-mode instance, read the same way in the same run.',
  );
  const imports = await importCosts();
  return {
    instances: memoryInstances,
    settleMs: memorySettle,
    bareNode: bare,
    bareNestContext: nest,
    rows,
    imports,
    results,
  };
}

/**
 * What each piece of an instance adds to a bare node (import-cost.fixture.ts): one process for a
 * Nest instance's pieces, one for a discord-hybrid-sharding cluster's.
 */
async function importCosts() {
  const chains = [
    ['nest', 'nest-context', 'nestjs-sharding', 'discord.js'],
    ['discord.js', 'discord-hybrid-sharding'],
  ];
  const results: ImportCostReading[][] = [];
  for (const chain of chains) {
    const child = forkBenchChild('import-cost.fixture', { BENCH_IMPORT_STEPS: chain.join(',') }, [
      '--expose-gc',
    ]);
    try {
      const { result } = await nextMessage(child, 'measured', SCENARIO_TIMEOUT_MS);
      results.push(result as ImportCostReading[]);
    } finally {
      await stopChild(child, 5_000);
    }
  }
  // Each chain starts from its own bare node (the first row of the chain, nothing added).
  const rows = results.flatMap((readings) =>
    readings.map((reading, index) => {
      const before = readings[Math.max(0, index - 1)]!;
      return {
        step: index === 0 ? 'bare node' : reading.step,
        after: index === 0 ? '-' : before.step,
        rssMiB: toMiB(reading.rss - before.rss),
        heapMiB: toMiB(reading.heapUsed - before.heapUsed),
        totalRssMiB: toMiB(reading.rss),
      };
    }),
  );
  console.log('');
  console.log('### Fleet: what each piece adds to a bare node');
  console.log('');
  console.log(
    markdown(
      ['piece', 'after', 'RSS added (MiB)', 'heap added (MiB)', 'RSS then (MiB)'],
      rows.map((row) => [
        row.step,
        row.after,
        fixed(row.rssMiB),
        fixed(row.heapMiB),
        fixed(row.totalRssMiB),
      ]),
    ),
  );
  console.log('');
  console.log(
    'One process per chain imports the pieces in order and reads process.memoryUsage() after two ' +
      'full GCs following each (--expose-gc); nest = reflect-metadata, @nestjs/common and ' +
      '@nestjs/core (rxjs with them); nest-context = an empty application context created; ' +
      "nestjs-sharding = this library's main entry (node-ipc with it). Import order decides who is " +
      'charged for what two pieces share (rxjs: Nest).',
  );
  return { chains, readings: results, rows };
}

/** Memory of an idle bare Nest application context after the memory part's settle time. */
async function nestContextMemory(): Promise<Memory> {
  const child = forkBenchChild('nest-context.fixture', {});
  try {
    await nextMessage(child, 'listening', SCENARIO_TIMEOUT_MS);
    await delay(memorySettle);
    const [memory] = await sampleMemory([child.pid!], MEMORY_SAMPLES);
    return memory!;
  } finally {
    await stopChild(child, 0);
  }
}

/** Memory of a bare node process after the memory part's settle time. */
async function bareNodeMemory(): Promise<Memory> {
  const bare = spawnNode(['-e', 'setInterval(()=>{},1000)']);
  try {
    await once(bare, 'spawn');
    await delay(memorySettle);
    const [memory] = await sampleMemory([bare.pid!], MEMORY_SAMPLES);
    return memory!;
  } finally {
    if (bare.exitCode === null && bare.signalCode === null) {
      const exited = once(bare, 'exit');
      bare.kill('SIGKILL');
      await exited;
    }
  }
}
