// The scale section's manager: a Nest application importing ShardingModule, as users write one,
// whose instances are simulated by scale-host.fixture.ts (many per process, real IpcServers on real
// sockets). It measures, with every instance ready and heartbeating at the configured interval:
// its own CPU and allocations per heartbeat, routing by shard and by guild, and broadcastRequest
// to every instance against request() to one; then reports (scale-config.ts).
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ShardingManager, ShardingModule } from '../../src/index.js';
import { MODE_SPAWNERS } from '../../src/manager/spawn/mode-spawners.js';
import { BenchEvent, payloadOf } from './bench-config.js';
import { exitWithParent, fail, report } from './measurements.js';
import {
  scaleScenarioFromEnv,
  type AllocationSite,
  type CallTiming,
  type ScaleResult,
} from './scale-config.js';
import { startHostPool } from './scale-spawner.js';
import { percentile } from './stats.js';

exitWithParent();

const scenario = scaleScenarioFromEnv();
const pool = await startHostPool(scenario.hosts);
await report({ type: 'pids', pids: pool.pids });
MODE_SPAWNERS.process = pool.spawner;

@Module({
  imports: [
    ShardingModule.forRoot({
      // Never started: the pool's spawner runs the instances.
      file: fileURLToPath(new URL('./scale-host.fixture.js', import.meta.url)),
      mode: 'process',
      totalShards: scenario.instances * scenario.shardsPerInstance,
      shardsPerInstance: scenario.shardsPerInstance,
      heartbeatInterval: scenario.heartbeatInterval,
      bootConcurrency: scenario.bootConcurrency,
      spawnOnBootstrap: false,
      helloTimeout: 120_000,
      killGrace: 2_000,
    }),
  ],
})
class ScaleManagerModule {}

try {
  const app = await NestFactory.createApplicationContext(ScaleManagerModule, {
    logger: ['error'],
  });
  const manager = app.get(ShardingManager);
  global.gc?.();
  const idle = process.memoryUsage();
  const bootStart = performance.now();
  await manager.spawn();
  await manager.whenReady(600_000);
  const bootMs = performance.now() - bootStart;
  await delay(scenario.settleMs);
  global.gc?.();
  const fleet = process.memoryUsage();

  const heartbeat = await measureHeartbeats(manager);
  const routing = measureRouting(manager);
  const broadcast = await measureBroadcast(manager);
  const result: ScaleResult = {
    kind: 'scale',
    instances: scenario.instances,
    shards: scenario.instances * scenario.shardsPerInstance,
    hosts: scenario.hosts,
    heartbeatInterval: scenario.heartbeatInterval,
    bootMs,
    managerMemory: {
      idleRss: idle.rss,
      idleHeap: idle.heapUsed,
      fleetRss: fleet.rss,
      fleetHeap: fleet.heapUsed,
    },
    ...heartbeat,
    routing,
    broadcast,
  };
  await report({ type: 'measured', result });
  // The instances need no staged stop: the hosts end with them.
  await pool.close();
  await app.close();
  process.exit(0);
} catch (error) {
  await pool.close();
  await fail(error);
}

/**
 * Over `windowMs` of an idle, ready fleet: the heartbeats the manager received, the CPU it used
 * (user + system) and its GCs; over a second window, what it allocated (V8's sampling heap
 * profiler, objects already collected included), with the sites that allocated most.
 */
async function measureHeartbeats(manager: ShardingManager) {
  let heartbeats = 0;
  const subscription = manager.heartbeat$.subscribe(() => heartbeats++);
  const gcs = { minor: 0, major: 0, pauseMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // NODE_PERFORMANCE_GC_MINOR is 1; everything else (major, incremental, weak) counts as major.
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind === 1) gcs.minor++;
      else gcs.major++;
      gcs.pauseMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const profiler = await startProfiler();
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  await delay(scenario.windowMs);
  const cpu = process.cpuUsage(cpuStart);
  const wallMs = performance.now() - wallStart;
  await profiler?.();
  const counted = heartbeats;
  observer.disconnect();
  // A second window of the same length for the allocations: the sampler's own work would count
  // in the first one's CPU.
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  heartbeats = 0;
  await delay(scenario.windowMs);
  const sampled = heartbeats;
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as {
    profile: { head: SamplingNode };
  };
  session.disconnect();
  subscription.unsubscribe();
  const sites = new Map<string, number>();
  let allocated = 0;
  const walk = (node: SamplingNode) => {
    allocated += node.selfSize;
    if (node.selfSize > 0) {
      const frame = node.callFrame;
      const file = frame.url.replace(/^.*\/(node_modules|build)\//, '');
      const key = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
      sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  const topSites: AllocationSite[] = [...sites]
    .toSorted((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([site, bytes]) => ({ site, bytesPerHeartbeat: bytes / Math.max(1, sampled) }));
  const cpuUs = cpu.user + cpu.system;
  return {
    windowMs: wallMs,
    heartbeats: counted,
    cpuUs,
    cpuSystemUs: cpu.system,
    cpuPercent: (cpuUs / 1000 / wallMs) * 100,
    cpuUsPerHeartbeat: cpuUs / Math.max(1, counted),
    sampledHeartbeats: sampled,
    allocatedBytes: allocated,
    bytesPerHeartbeat: allocated / Math.max(1, sampled),
    gc: gcs,
    topSites,
  };
}

/**
 * With BENCH_CPU_PROF=1: a CPU profile of the CPU window, written to
 * build/bench-profiles/scale-<instances>x<shards per instance>-manager.cpuprofile (read it with
 * profile-summary.js). Its own cost then counts in the window.
 */
async function startProfiler(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.BENCH_CPU_PROF !== '1') return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    const dir = fileURLToPath(new URL('../../bench-profiles/', import.meta.url));
    await mkdir(dir, { recursive: true });
    const name = `scale-${scenario.instances}x${scenario.shardsPerInstance}-manager.cpuprofile`;
    await writeFile(join(dir, name), JSON.stringify(profile));
    session.disconnect();
  };
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/** ns per `instanceForShard` and per `instanceForGuild`, over random shards and guilds. */
function measureRouting(manager: ShardingManager): { shard: CallTiming; guild: CallTiming } {
  const shards = scenario.instances * scenario.shardsPerInstance;
  const calls = scenario.routingCalls;
  const shardIds = Int32Array.from({ length: 4096 }, () => Math.floor(Math.random() * shards));
  // Guild ids as Discord sends them: decimal strings of 64-bit snowflakes.
  const guildIds = Array.from({ length: 4096 }, () =>
    String(
      (BigInt(Date.now() - 1_420_070_400_000) << 22n) |
        BigInt(Math.floor(Math.random() * 4_194_304)),
    ),
  );
  return {
    shard: timeCalls(calls, (index) => manager.instanceForShard(shardIds[index]!)),
    guild: timeCalls(Math.ceil(calls / 10), (index) => manager.instanceForGuild(guildIds[index]!)),
  };
}

/** Times `count` calls of `call` (over 4096 prepared arguments), after 10,000 warm-up calls. */
function timeCalls(count: number, call: (index: number) => number): CallTiming {
  let sink = 0;
  for (let index = 0; index < 10_000; index++) sink += call(index & 4095);
  const start = performance.now();
  for (let index = 0; index < count; index++) sink += call(index & 4095);
  const ns = ((performance.now() - start) * 1e6) / count;
  return { calls: count, nsPerCall: ns, checksum: sink };
}

/**
 * broadcastRequest('echo') to every instance, and request(0, 'echo'), in µs; and the manager's own
 * CPU per broadcast (user + system over the call), which, unlike the wall time, the simulated
 * instances sharing the cores do not inflate.
 */
async function measureBroadcast(manager: ShardingManager) {
  const single: number[] = [];
  const broadcast: number[] = [];
  let broadcastCpuUs = 0;
  let failures = 0;
  for (let round = -scenario.broadcastWarmup; round < scenario.broadcastRounds; round++) {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const results = await manager.broadcastRequest<{ n: number }>(
      BenchEvent.ECHO,
      payloadOf(round),
      { timeout: 60_000 },
    );
    const elapsed = (performance.now() - start) * 1000;
    const cpu = process.cpuUsage(cpuStart);
    if (!results.every((result) => result.status === 'fulfilled' && result.value.n === round))
      failures++;
    if (round >= 0) {
      broadcast.push(elapsed);
      broadcastCpuUs += cpu.user + cpu.system;
    }
    for (let n = 0; n < 10; n++) {
      const one = performance.now();
      await manager.request(0, BenchEvent.ECHO, payloadOf(n));
      if (round >= 0) single.push((performance.now() - one) * 1000);
    }
  }
  const sortedBroadcast = broadcast.toSorted((a, b) => a - b);
  const sortedSingle = single.toSorted((a, b) => a - b);
  return {
    rounds: broadcast.length,
    failures,
    broadcastP50: percentile(sortedBroadcast, 50),
    broadcastP99: percentile(sortedBroadcast, 99),
    singleP50: percentile(sortedSingle, 50),
    singleP99: percentile(sortedSingle, 99),
    managerCpuPerBroadcast: broadcastCpuUs / Math.max(1, broadcast.length),
  };
}
