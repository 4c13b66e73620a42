// The `scale` section of `npm run bench`: the manager with a thousand instance links, past what
// this machine could run as real instances. The instances are simulated, many per process
// (scale-host.fixture.ts: the library's IpcServer on a real socket each, heartbeating with stats),
// behind the real manager (scale-manager.fixture.ts). Two fleets of as many instances, one with one
// shard per instance and one with ten, so that each figure is set against the same figure at a
// tenth of the shards, measured in the same run:
// - the manager's CPU while the fleet heartbeats at the default interval (% of one core), per
//   heartbeat, its GCs, and what it allocates per heartbeat (with the sites that allocate most);
// - instanceForShard / instanceForGuild, ns per call, at 1k and 10k shards (ratio: O(1) is 1.0x);
// - broadcastRequest('echo') to every instance against request(0, 'echo') in the same fleet.
//
// Environment (all optional): BENCH_SCALE_INSTANCES (1000), BENCH_SCALE_SHARDS_PER_INSTANCE (1,10),
// BENCH_SCALE_HOSTS (8), BENCH_SCALE_WINDOW (30000 ms), BENCH_SCALE_HEARTBEAT (the default, 5000 ms),
// BENCH_SCALE_ROUNDS (20 broadcasts).
import { SHARDING_DEFAULTS } from '../../src/index.js';
import { forkBenchChild, nextMessage, stopChild } from './bench-processes.js';
import {
  SCALE_SCENARIO_ENV,
  type RawHeartbeatResult,
  type ScaleResult,
  type ScaleScenario,
} from './scale-config.js';
import { envInteger, envIntegers, fixed, markdown, ratio, round2, toMiB } from './report-format.js';

const instances = envInteger('BENCH_SCALE_INSTANCES', 1_000);
const shardsPerInstance = envIntegers('BENCH_SCALE_SHARDS_PER_INSTANCE', [1, 10]);
const hosts = envInteger('BENCH_SCALE_HOSTS', 8);
const windowMs = envInteger('BENCH_SCALE_WINDOW', 30_000);
const heartbeatInterval = envInteger('BENCH_SCALE_HEARTBEAT', SHARDING_DEFAULTS.heartbeatInterval);
const rounds = envInteger('BENCH_SCALE_ROUNDS', 20);
/** Boot, two windows, the broadcasts and the stop, on 2 busy cores. */
const RUN_TIMEOUT_MS = 900_000;

/** Runs a fleet per shards-per-instance count, prints the tables, returns the JSON. */
export async function runScaleSection(): Promise<Record<string, unknown>> {
  const results: ScaleResult[] = [];
  const base = {
    instances,
    hosts,
    heartbeatInterval,
    bootConcurrency: 64,
    settleMs: Math.min(heartbeatInterval * 2, 10_000),
    windowMs,
    routingCalls: 2_000_000,
    broadcastWarmup: 3,
    broadcastRounds: rounds,
  };
  // The heartbeat traffic alone, over bare sockets: at random phases (a fleet whose instances
  // beat when they happened to boot), and on the library's phase grid, as our instances beat.
  const rawSpread = await runFleet<RawHeartbeatResult>('raw-heartbeat-manager.fixture', {
    ...base,
    shardsPerInstance: 1,
    rawAligned: false,
  });
  const raw = await runFleet<RawHeartbeatResult>('raw-heartbeat-manager.fixture', {
    ...base,
    shardsPerInstance: 1,
    rawAligned: true,
  });
  const rawCpuPerHeartbeat = perHeartbeat(raw);
  for (const result of [rawSpread, raw]) {
    console.error(
      `  raw node:net, ${result.instances} sockets, ${result.aligned ? 'phase grid' : 'random phases'}: ` +
        `${result.heartbeats} heartbeats in ${fixed(result.windowMs / 1000)} s, ` +
        `CPU ${fixed((result.cpuUs / 1000 / result.windowMs) * 100, 2)}% (${fixed(perHeartbeat(result))} µs each, ` +
        `${fixed(result.cpuSystemUs / Math.max(1, result.heartbeats))} µs in the kernel)`,
    );
  }
  for (const perInstance of shardsPerInstance) {
    const result = await runFleet<ScaleResult>('scale-manager.fixture', {
      ...base,
      shardsPerInstance: perInstance,
    });
    results.push(result);
    console.error(
      `  ${result.instances} instances, ${result.shards} shards: up in ${fixed(result.bootMs, 0)} ms; ` +
        `${result.heartbeats} heartbeats in ${fixed(result.windowMs / 1000)} s, CPU ${fixed(result.cpuPercent, 2)}% ` +
        `(${fixed(result.cpuUsPerHeartbeat)} µs each, ${fixed(result.cpuSystemUs / Math.max(1, result.heartbeats))} in the kernel), ${fixed(result.bytesPerHeartbeat, 0)} B allocated each; ` +
        `shard ${fixed(result.routing.shard.nsPerCall)} ns, guild ${fixed(result.routing.guild.nsPerCall)} ns; ` +
        `broadcast p50 ${fixed(result.broadcast.broadcastP50 / 1000)} ms`,
    );
    for (const site of result.topSites.slice(0, 6)) {
      console.error(
        `    ${fixed(site.bytesPerHeartbeat, 0).padStart(6)} B/heartbeat  ${site.site}`,
      );
    }
  }
  const small = results[0]!;
  const large = results.at(-1)!;
  const rows = results.map((result) => ({
    instances: result.instances,
    shards: result.shards,
    bootMs: round2(result.bootMs),
    heartbeatsPerSecond: round2((result.heartbeats / result.windowMs) * 1000),
    expectedPerSecond: round2((result.instances / result.heartbeatInterval) * 1000),
    cpuPercent: round2(result.cpuPercent),
    cpuUsPerHeartbeat: round2(result.cpuUsPerHeartbeat),
    cpuPerHeartbeatOverRaw: round2(result.cpuUsPerHeartbeat / rawCpuPerHeartbeat),
    bytesPerHeartbeat: Math.round(result.bytesPerHeartbeat),
    minorGcPerMinute: round2((result.gc.minor / result.windowMs) * 60_000),
    majorGcPerMinute: round2((result.gc.major / result.windowMs) * 60_000),
    gcPausePercent: round2((result.gc.pauseMs / result.windowMs) * 100),
    managerRssPerLinkKiB: round2(
      (result.managerMemory.fleetRss - result.managerMemory.idleRss) / result.instances / 1024,
    ),
    managerHeapPerLinkKiB: round2(
      (result.managerMemory.fleetHeap - result.managerMemory.idleHeap) / result.instances / 1024,
    ),
    managerFleetRssMiB: toMiB(result.managerMemory.fleetRss),
    shardNs: round2(result.routing.shard.nsPerCall),
    guildNs: round2(result.routing.guild.nsPerCall),
    broadcastP50Ms: round2(result.broadcast.broadcastP50 / 1000),
    broadcastP99Ms: round2(result.broadcast.broadcastP99 / 1000),
    singleP50Ms: round2(result.broadcast.singleP50 / 1000),
    broadcastCpuMs: round2(result.broadcast.managerCpuPerBroadcast / 1000),
    broadcastCpuPerInstanceUs: round2(result.broadcast.managerCpuPerBroadcast / result.instances),
    broadcastFailures: result.broadcast.failures,
  }));

  console.log('');
  console.log(
    `### Scale: a manager with ${instances} instance links (simulated instances, ${hosts} host processes)`,
  );
  console.log('');
  console.log(
    markdown(
      [
        'shards',
        'heartbeats/s (expected)',
        'manager CPU, % of one core',
        'CPU per heartbeat, ours / raw (µs)',
        'ratio',
        'allocated per heartbeat (B)',
        'GCs per minute (minor / major)',
        'manager memory per link (KiB RSS / heap)',
        'instanceForShard (ns)',
        'instanceForGuild (ns)',
        'broadcastRequest p50 / p99 (ms)',
        'request p50 (ms)',
        'manager CPU per broadcast (ms; per instance, µs)',
      ],
      rows.map((row) => [
        String(row.shards),
        `${fixed(row.heartbeatsPerSecond)} (${fixed(row.expectedPerSecond)})`,
        `${fixed(row.cpuPercent, 2)}%`,
        `${fixed(row.cpuUsPerHeartbeat)} / ${fixed(rawCpuPerHeartbeat)}`,
        ratio(row.cpuPerHeartbeatOverRaw),
        String(row.bytesPerHeartbeat),
        `${fixed(row.minorGcPerMinute)} / ${fixed(row.majorGcPerMinute)}`,
        `${fixed(row.managerRssPerLinkKiB)} / ${fixed(row.managerHeapPerLinkKiB)}`,
        fixed(row.shardNs),
        fixed(row.guildNs),
        `${fixed(row.broadcastP50Ms)} / ${fixed(row.broadcastP99Ms)}`,
        fixed(row.singleP50Ms, 2),
        `${fixed(row.broadcastCpuMs)} (${fixed(row.broadcastCpuPerInstanceUs)})`,
      ]),
    ),
  );
  const ratios = {
    shardNs: round2(large.routing.shard.nsPerCall / small.routing.shard.nsPerCall),
    guildNs: round2(large.routing.guild.nsPerCall / small.routing.guild.nsPerCall),
    cpuPerHeartbeat: round2(large.cpuUsPerHeartbeat / small.cpuUsPerHeartbeat),
    broadcastOverSingle: round2(large.broadcast.broadcastP50 / large.broadcast.singleP50),
  };
  console.log('');
  console.log(
    `Heartbeat interval ${heartbeatInterval} ms; CPU: the manager process's user + system time over ` +
      `${windowMs / 1000} s of an idle, ready fleet; allocations: V8's sampling heap profiler over ` +
      'a second window as long (collected objects included) / heartbeats received; memory per ' +
      'link: the manager after a GC with the fleet ready, minus before spawning, / instances. ' +
      `Raw: ${raw.instances} bare node:net connections to as many bare servers sending the same ` +
      'HEARTBEAT frames on the same phase grid, parsed and answered with an ACK and nothing else, ' +
      `measured in the same run (${fixed((raw.cpuUs / 1000 / raw.windowMs) * 100, 2)}% of one core; ` +
      `at random phases, as heartbeats come when instances beat from their boot: ` +
      `${fixed((rawSpread.cpuUs / 1000 / rawSpread.windowMs) * 100, 2)}%, ${fixed(perHeartbeat(rawSpread))} µs each). ` +
      `At ${large.shards} shards against ${small.shards}: instanceForShard ${ratio(ratios.shardNs)}, ` +
      `instanceForGuild ${ratio(ratios.guildNs)}, CPU per heartbeat ${ratio(ratios.cpuPerHeartbeat)}; ` +
      `broadcastRequest to ${instances} / one request: ${ratio(ratios.broadcastOverSingle)} ` +
      `(${ratio(ratios.broadcastOverSingle / instances)} of ${instances} requests one after another; ` +
      `the ${instances} simulated instances share ${hosts} processes and the same cores, so the wall ` +
      "time is much theirs: the manager's own CPU per broadcast is the manager's figure).",
  );
  const failures = rows.reduce((sum, row) => sum + row.broadcastFailures, 0);
  if (failures > 0) console.log(`- ${failures} broadcast(s) did not return every echo.`);
  return {
    instances,
    hosts,
    heartbeatInterval,
    windowMs,
    raw: { ...raw, cpuUsPerHeartbeat: round2(rawCpuPerHeartbeat) },
    rawRandomPhases: { ...rawSpread, cpuUsPerHeartbeat: round2(perHeartbeat(rawSpread)) },
    rows,
    ratios,
    results,
  };
}

/** The baseline's CPU per heartbeat, µs. */
function perHeartbeat(result: RawHeartbeatResult): number {
  return result.cpuUs / Math.max(1, result.heartbeats);
}

async function runFleet<R>(
  fixture: 'scale-manager.fixture' | 'raw-heartbeat-manager.fixture',
  scenario: ScaleScenario,
): Promise<R> {
  // --expose-gc: the memory per link is read after a full collection.
  const child = forkBenchChild(fixture, { [SCALE_SCENARIO_ENV]: JSON.stringify(scenario) }, [
    '--expose-gc',
  ]);
  try {
    const { result } = await nextMessage(child, 'measured', RUN_TIMEOUT_MS);
    return result as R;
  } finally {
    await stopChild(child, 20_000);
  }
}
