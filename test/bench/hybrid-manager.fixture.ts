// discord-hybrid-sharding's ClusterManager (process mode, `shardsPerClusters` shards per cluster
// process), bringing the clusters of hybrid-cluster.fixture.ts online against the gateway
// emulator: the second reference of the discord section. It reports every cluster's pid, so that
// the runner can kill them at the end whatever happens, and their memory once all are ready.
import { ClusterManager } from 'discord-hybrid-sharding';
import type { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { epochNow, scenarioFromEnv, type OnlineResult } from './fleet-config.js';
import { fail, report } from './measurements.js';
import { sampleMemory } from './proc-stats.js';

const scenario = scenarioFromEnv();
if (scenario.kind !== 'hybrid')
  throw new Error(`hybrid-manager runs "hybrid", not "${scenario.kind}"`);
process.env.EMULATOR_API = scenario.apiBase;
// Each cluster's own identify pacing (see hybrid-cluster.fixture.ts).
process.env.EMULATOR_WINDOW = String(scenario.identifyWindow);
process.env.EMULATOR_MAX_CONCURRENCY = String(scenario.maxConcurrency);
process.env.EMULATOR_MARGIN = String(scenario.identifyMargin);

const manager = new ClusterManager(
  fileURLToPath(new URL('./hybrid-cluster.fixture.js', import.meta.url)),
  {
    totalShards: scenario.shards,
    shardsPerClusters: scenario.shardsPerCluster,
    mode: 'process',
    token: scenario.token,
    // Nothing is meant to die here; a respawn would only blur the end of the run.
    respawn: false,
  },
);
const pids: number[] = [];
manager.on('clusterCreate', (cluster) => {
  // Its typings leave the Cluster's own events out; `spawn` carries the child process.
  (cluster as unknown as EventEmitter).on('spawn', (child: { pid?: number } | undefined) => {
    if (child?.pid === undefined) return;
    pids.push(child.pid);
    void report({ type: 'pids', pids: [child.pid] });
  });
});
const clusters = Math.ceil(scenario.shards / scenario.shardsPerCluster);
let ready = 0;
let onlineAt = 0;
const allReady = new Promise<void>((resolve) => {
  manager.on('clusterReady', () => {
    if (++ready < clusters) return;
    onlineAt = epochNow();
    resolve();
  });
});

const killClusters = () => manager.clusters.forEach((cluster) => cluster.kill({ force: true }));
process.on('disconnect', () => {
  killClusters();
  process.exit(1);
});

try {
  const startedAt = epochNow();
  // Its queue waits `delay` × the cluster's shard count after each cluster (after it is ready, with
  // a timeout), the last one too: "online" is when the last cluster reported ready, not when
  // spawn() resolves.
  void manager
    .spawn({ amount: scenario.shards, delay: scenario.delay, timeout: scenario.timeout })
    .catch((error: unknown) => fail(error));
  await allReady;
  await delay(scenario.memorySettleMs);
  const memory = await sampleMemory(pids, 5);
  const online: OnlineResult = {
    kind: 'online',
    startedAt,
    onlineAt,
    elapsedMs: onlineAt - startedAt,
    processMemory: memory,
  };
  killClusters();
  await report({ type: 'measured', result: online });
  process.exit(0);
} catch (error) {
  killClusters();
  await fail(error);
}
