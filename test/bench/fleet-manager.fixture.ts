// A manager process for the fleet and discord sections: a Nest application importing
// ShardingModule, as users write one, running one scenario (fleet-config.ts) and reporting its
// result. It reports every instance pid it sees, so that the runner can kill them at the end
// whatever happens; the instances also leave by themselves when this process dies.
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { filter, firstValueFrom, startWith, Subject } from 'rxjs';
import {
  OnDispatch,
  ShardingManager,
  ShardingModule,
  type InstanceStatusChange,
  type ShardingModuleOptions,
} from '../../src/index.js';
import { payloadOf } from './bench-config.js';
import { measureFanout } from './fanout-loop.js';
import {
  epochNow,
  scenarioFromEnv,
  type DiscordScenario,
  type FailoverKill,
  type FailoverResult,
  type FailoverScenario,
  type FanoutResult,
  type FanoutScenario,
  type FleetResult,
  type KillSample,
  type MemoryResult,
  type MemoryScenario,
  type OnlineResult,
  type RestartResult,
  type RestartScenario,
  type RollResult,
  type RollScenario,
} from './fleet-config.js';
import { exitWithParent, fail, report } from './measurements.js';
import { sampleMemory } from './proc-stats.js';

exitWithParent();

const fixture = (name: string) =>
  fileURLToPath(new URL(`../fixtures/${name}.fixture.js`, import.meta.url));

/** Long enough for 32 Nest instances booting at once on 2 cores. */
const READY_TIMEOUT_MS = 120_000;

/** The roll scenario's stream events as the instances reported them: shard → sequence numbers. */
const streamSeen = new Map<number, number[]>();
let streamEvent: string | undefined;

/** Every gateway event the instances report, as they arrive. */
const gatewayEvents = new Subject<{ shardId: number; t: string; seq: number }>();

@Injectable()
class GatewayEventSink {
  // The discord-bot and ws-bot fixtures report every gateway event they receive; a manager
  // without a handler would log each one as unhandled.
  @OnDispatch('GATEWAY_EVENT', { role: 'manager' })
  record(event: { shardId: number; t: string; seq: number }) {
    gatewayEvents.next(event);
    if (streamEvent === undefined || event.t !== streamEvent) return;
    let seqs = streamSeen.get(event.shardId);
    if (seqs === undefined) streamSeen.set(event.shardId, (seqs = []));
    seqs.push(event.seq);
  }
}

/** Boots a manager application (not spawned yet) with the bench's common options. */
async function bootManager(
  options: ShardingModuleOptions,
): Promise<{ manager: ShardingManager; close: () => Promise<void> }> {
  @Module({
    imports: [
      ShardingModule.forRoot({
        file: fixture('sharding-app'),
        spawnOnBootstrap: false,
        helloTimeout: 60_000,
        killGrace: 2_000,
        execArgv: instanceProfileArgs(),
        ...options,
      }),
    ],
    providers: [GatewayEventSink],
  })
  class BenchManagerModule {}

  // Errors only: the restart scenario's "instance failed" warnings are what it measures.
  const app = await NestFactory.createApplicationContext(BenchManagerModule, {
    logger: ['error'],
  });
  const manager = app.get(ShardingManager);
  // Every pid as soon as it is known, for the runner's last-resort kill.
  const reported = new Set<number>();
  manager.status$.subscribe(() => {
    const pids = manager
      .status()
      .map((status) => status.pid)
      .filter((pid): pid is number => pid !== undefined && pid !== process.pid);
    const fresh = pids.filter((pid) => !reported.has(pid));
    if (fresh.length === 0) return;
    for (const pid of fresh) reported.add(pid);
    void report({ type: 'pids', pids: fresh });
  });
  return { manager, close: () => app.close() };
}

async function fanout(scenario: FanoutScenario): Promise<FanoutResult> {
  const { manager, close } = await bootManager({
    totalShards: scenario.instances,
    shardsPerInstance: 1,
  });
  try {
    const bootStart = performance.now();
    await manager.whenReady(READY_TIMEOUT_MS);
    const bootMs = performance.now() - bootStart;
    // Let the instances' start-up work (JIT, GC, first heartbeats) die down.
    await delay(1_000);

    const profiler = await makeProfiler(`fanout-${scenario.instances}-manager`);
    const measure = await measureFanout(
      {
        single: async (n) => {
          try {
            const reply = await manager.request<{ n: number }>(0, 'echo', payloadOf(n));
            return reply.n === n;
          } catch {
            return false;
          }
        },
        broadcast: async (n) => {
          const results = await manager.broadcastRequest<{ n: number }>('echo', payloadOf(n));
          return (
            results.length === scenario.instances &&
            results.every((result) => result.status === 'fulfilled' && result.value.n === n)
          );
        },
      },
      {
        ...scenario,
        instancePids: manager.status().map((status) => status.pid!),
      },
      { start: profiler?.start, stop: profiler?.stop },
    );
    return {
      kind: 'fanout',
      impl: 'nestjs-sharding',
      instances: scenario.instances,
      bootMs,
      ...measure,
    };
  } finally {
    await close();
  }
}

async function restart(scenario: RestartScenario): Promise<RestartResult> {
  const signal = scenario.signal ?? 'SIGKILL';
  const heartbeatInterval = scenario.heartbeatInterval ?? 5_000;
  const missedHeartbeats = 3;
  const { manager, close } = await bootManager({
    totalShards: 1,
    heartbeatInterval,
    missedHeartbeats,
    // The fast policy: restart 1 ms after the exit (the smallest delay the options accept), and
    // never give up within the run.
    restart:
      scenario.policy === 'fast'
        ? { initialDelay: 1, maxDelay: 1, jitter: 0, maxRestarts: 1_000 }
        : { maxRestarts: 1_000 },
  });
  try {
    // Every transition of instance 0, stamped when it happens (status$ is synchronous).
    const marks: Array<InstanceStatusChange & { t: number }> = [];
    manager.status$.subscribe((change) => marks.push({ ...change, t: performance.now() }));
    const delays: number[] = [];
    manager.restart$.subscribe((planned) => delays.push(planned.delay));
    const mark = (generation: number, to: string) => {
      const found = marks.find((change) => change.generation === generation && change.to === to);
      if (found === undefined) throw new Error(`no "${to}" for generation ${generation}`);
      return found.t;
    };

    await manager.spawn();
    await manager.whenReady(READY_TIMEOUT_MS);
    const coldStart = mark(1, 'ready') - mark(1, 'spawning');

    const kills: KillSample[] = [];
    for (let generation = 1; generation <= scenario.kills; generation++) {
      await delay(scenario.settleMs);
      const pid = manager.status()[0]!.pid!;
      const replaced = firstValueFrom(
        manager.status$.pipe(
          filter((change) => change.generation === generation + 1 && change.to === 'ready'),
        ),
      );
      const killedAt = performance.now();
      process.kill(pid, signal);
      await replaced;
      kills.push({
        deathToReady: mark(generation + 1, 'ready') - killedAt,
        deathToStopping: mark(generation, 'stopping') - killedAt,
        deathToExited: mark(generation, 'exited') - killedAt,
        deathToSpawning: mark(generation + 1, 'spawning') - killedAt,
        spawnToReady: mark(generation + 1, 'ready') - mark(generation + 1, 'spawning'),
        policyDelay: delays[generation - 1] ?? Number.NaN,
      });
    }
    const result: RestartResult = { kind: 'restart', policy: scenario.policy, coldStart, kills };
    if (signal === 'SIGSTOP') result.heartbeatSpan = heartbeatInterval * missedHeartbeats;
    return result;
  } finally {
    await close();
  }
}

async function memory(scenario: MemoryScenario): Promise<MemoryResult> {
  const { manager, close } = await bootManager({
    mode: scenario.mode,
    totalShards: scenario.instances,
    shardsPerInstance: 1,
  });
  try {
    await delay(scenario.settleMs);
    const [managerIdle] = await sampleMemory([process.pid], scenario.samples);
    await manager.spawn();
    await manager.whenReady(READY_TIMEOUT_MS);
    await delay(scenario.settleMs);
    const pids = scenario.mode === 'worker' ? [] : manager.status().map((status) => status.pid!);
    const [managerFleet, ...instanceMemory] = await sampleMemory(
      [process.pid, ...pids],
      scenario.samples,
    );
    return {
      kind: 'memory',
      mode: scenario.mode,
      instances: scenario.instances,
      managerIdle: managerIdle!,
      managerFleet: managerFleet!,
      instanceMemory,
    };
  } finally {
    await close();
  }
}

async function online(scenario: DiscordScenario): Promise<OnlineResult> {
  const { manager, close } = await bootManager({
    file: fixture('discord-bot'),
    totalShards: scenario.shards,
    shardsPerInstance: scenario.shardsPerInstance,
    maxConcurrency: scenario.maxConcurrency,
    identifyWindow: scenario.identifyWindow,
    identifyMargin: scenario.identifyMargin,
    env: { EMULATOR_API: scenario.apiBase, DISCORD_TOKEN: scenario.token },
  });
  try {
    const grants: Array<{ shardId: number; at: number }> = [];
    // Stamped here rather than with the grant's own `at` (Date.now(), whole ms).
    manager.identify$.subscribe((grant) => grants.push({ shardId: grant.shardId, at: epochNow() }));
    const startedAt = epochNow();
    await manager.spawn();
    await manager.whenReady(READY_TIMEOUT_MS);
    const onlineAt = epochNow();
    const result: OnlineResult = {
      kind: 'online',
      startedAt,
      onlineAt,
      elapsedMs: onlineAt - startedAt,
      grants,
    };
    if (scenario.memorySettleMs !== undefined) {
      await delay(scenario.memorySettleMs);
      result.processMemory = await sampleMemory(
        manager.status().map((status) => status.pid!),
        5,
      );
    }
    return result;
  } finally {
    await close();
  }
}

/** Boots the manager of a bot fleet against the emulator (not spawned yet). */
function bootBotManager(
  scenario: Omit<RollScenario, 'kind' | 'method'>,
  options: ShardingModuleOptions = {},
): ReturnType<typeof bootManager> {
  streamEvent = scenario.streamEvent;
  return bootManager({
    file: fixture(scenario.bot === 'ws' ? 'ws-bot' : 'discord-bot'),
    totalShards: scenario.shards,
    shardsPerInstance: scenario.shardsPerInstance,
    maxConcurrency: scenario.maxConcurrency,
    identifyWindow: scenario.identifyWindow,
    identifyMargin: scenario.identifyMargin,
    // The ws-bot fixture takes /gateway/bot from the manager, which asks the emulator.
    token: scenario.token,
    api: `${scenario.apiBase}/v10`,
    env: { EMULATOR_API: scenario.apiBase, DISCORD_TOKEN: scenario.token },
    ...options,
  });
}

/**
 * Spawns the fleet and waits until it is ready and the manager holds every shard's session: a
 * @discordjs/ws replacement (or spare) RESUMEs only the sessions the manager holds (discord.js
 * bots IDENTIFY anew, and do not report theirs). Returns the boot time, ms.
 */
async function spawnBotFleet(manager: ShardingManager, bot: RollScenario['bot'], shards: number) {
  const bootStart = performance.now();
  await manager.spawn();
  await manager.whenReady(READY_TIMEOUT_MS);
  const bootMs = performance.now() - bootStart;
  if (bot !== 'ws') return bootMs;
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (manager.sessions().size < shards) {
    if (performance.now() > deadline) throw new Error('the sessions never reached the manager');
    await delay(20);
  }
  return bootMs;
}

async function roll(scenario: RollScenario): Promise<RollResult> {
  const { manager, close } = await bootBotManager(scenario);
  try {
    const bootMs = await spawnBotFleet(manager, scenario.bot, scenario.shards);
    await delay(scenario.settleMs);

    const startedAt = epochNow();
    let failed = 0;
    if (scenario.method === 'rolling') {
      const results = await manager.rollingRestart();
      failed = results.filter((result) => result.status === 'rejected').length;
    } else {
      for (const status of manager.status()) {
        await manager.restart(status.instance).catch(() => failed++);
      }
    }
    const endedAt = epochNow();
    await delay(scenario.settleMs);
    const result: RollResult = {
      kind: 'roll',
      bootMs,
      startedAt,
      endedAt,
      elapsedMs: endedAt - startedAt,
      failed,
    };
    if (streamEvent !== undefined) result.seen = Object.fromEntries(streamSeen);
    return result;
  } finally {
    await close();
  }
}

async function failover(scenario: FailoverScenario): Promise<FailoverResult> {
  const { manager, close } = await bootBotManager(
    { ...scenario, bot: 'ws' },
    {
      spares: scenario.spares,
      ...(scenario.policy === 'fast' && { restart: { initialDelay: 1, maxDelay: 1 } }),
    },
  );
  try {
    const bootMs = await spawnBotFleet(manager, 'ws', scenario.shards);
    const kills: FailoverKill[] = [];
    for (let kill = 0; kill < scenario.kills; kill++) {
      await delay(scenario.settleMs);
      const marker = (kill * scenario.shardsPerInstance) % scenario.shards;
      const victim = manager.status().find((status) => status.shards.includes(marker));
      if (victim?.pid === undefined) throw new Error(`no instance runs shard ${marker}`);
      const shards = [...victim.shards];
      // Subscribed before the kill: a spare's RESUMED may come before this loop runs again.
      const back = Promise.all(
        shards.map((shardId) =>
          firstValueFrom(
            gatewayEvents.pipe(
              filter(
                (event) =>
                  event.shardId === shardId && (event.t === 'RESUMED' || event.t === 'READY'),
              ),
            ),
          ),
        ),
      );
      const killedAt = epochNow();
      process.kill(victim.pid, 'SIGKILL');
      await back;
      // The dead instance's next generation is up (so a spare is ready for the next kill).
      await firstValueFrom(
        manager.status$.pipe(
          startWith(undefined),
          filter(() =>
            manager
              .status()
              .every((status) => status.state === 'ready' && status.pid !== victim.pid),
          ),
        ),
      );
      kills.push({
        instance: victim.instance,
        shards,
        killedAt,
        settledAt: epochNow(),
        takenBy: manager.instanceForShard(marker),
      });
    }
    await delay(scenario.settleMs);
    return { kind: 'failover', bootMs, kills, seen: Object.fromEntries(streamSeen) };
  } finally {
    await close();
  }
}

/**
 * With BENCH_CPU_PROF=1, a V8 CPU profile of this manager process over the timed rounds, written
 * as `<name>.cpuprofile` in build/bench-profiles or BENCH_PROFILE_DIR (read it with
 * profile-summary.ts). Taken in-process: `--cpu-prof` would be inherited by the instances, which
 * get the manager's `execArgv`.
 */
async function makeProfiler(
  name: string,
): Promise<{ start: () => Promise<void>; stop: () => Promise<void> } | undefined> {
  if (process.env.BENCH_CPU_PROF !== '1') return undefined;
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', {
    interval: Number(process.env.BENCH_CPU_PROF_INTERVAL ?? 250),
  });
  return {
    start: async () => {
      await post('Profiler.start');
    },
    async stop() {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      session.disconnect();
      const dir =
        process.env.BENCH_PROFILE_DIR ??
        fileURLToPath(new URL('../../bench-profiles', import.meta.url));
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    },
  };
}

/**
 * With BENCH_INSTANCE_PROF=1, `--cpu-prof` for every instance (boot included), into
 * build/bench-profiles or BENCH_PROFILE_DIR, one file per process (CPU.<date>.<pid>...).
 */
function instanceProfileArgs(): string[] {
  if (process.env.BENCH_INSTANCE_PROF !== '1') return [];
  const dir =
    process.env.BENCH_PROFILE_DIR ??
    fileURLToPath(new URL('../../bench-profiles', import.meta.url));
  return [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    `--cpu-prof-interval=${process.env.BENCH_CPU_PROF_INTERVAL ?? '250'}`,
  ];
}

try {
  const scenario = scenarioFromEnv();
  let result: FleetResult;
  switch (scenario.kind) {
    case 'fanout':
      result = await fanout(scenario);
      break;
    case 'restart':
      result = await restart(scenario);
      break;
    case 'memory':
      result = await memory(scenario);
      break;
    case 'discord':
      result = await online(scenario);
      break;
    case 'roll':
      result = await roll(scenario);
      break;
    case 'failover':
      result = await failover(scenario);
      break;
    default:
      throw new Error(`the fleet manager fixture does not run "${scenario.kind}"`);
  }
  await report({ type: 'measured', result });
  process.exit(0);
} catch (error) {
  await fail(error);
}
