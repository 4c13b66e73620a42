// discord.js's own ShardingManager (process mode, one shard per process), bringing the shards of
// djs-shard.fixture.ts online against the gateway emulator: the reference of the discord section,
// and, with `respawnAll` set, of the discord-roll section (`respawnAll()` once they are online).
// It reports every shard's pid (respawned ones too), so that the runner can kill them at the end
// whatever happens.
import { ShardingManager } from 'discord.js';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  epochNow,
  scenarioFromEnv,
  type FleetResult,
  type OnlineResult,
  type RollResult,
} from './fleet-config.js';
import { fail, report } from './measurements.js';
import { sampleMemory } from './proc-stats.js';

const scenario = scenarioFromEnv();
if (scenario.kind !== 'discord.js')
  throw new Error(`djs-manager runs "discord.js", not "${scenario.kind}"`);
process.env.EMULATOR_API = scenario.apiBase;

const manager = new ShardingManager(
  fileURLToPath(new URL('./djs-shard.fixture.js', import.meta.url)),
  {
    totalShards: scenario.shards,
    token: scenario.token,
    mode: 'process',
    // Nothing is meant to die here; a respawn would only blur the end of the run.
    respawn: false,
  },
);
/** The running shards' pids, by shard id (a respawned shard replaces its entry). */
const pids = new Map<number, number>();
manager.on('shardCreate', (shard) => {
  shard.on('spawn', (child) => {
    // Process mode: a ChildProcess (a Worker in worker mode has no pid).
    const pid = 'pid' in child ? child.pid : undefined;
    if (pid === undefined) return;
    pids.set(shard.id, pid);
    void report({ type: 'pids', pids: [pid] });
  });
});

const killShards = () => manager.shards.forEach((shard) => shard.kill());
process.on('disconnect', () => {
  killShards();
  process.exit(1);
});

try {
  const startedAt = epochNow();
  await manager.spawn({
    amount: scenario.shards,
    delay: scenario.delay,
    timeout: scenario.timeout,
  });
  const onlineAt = epochNow();
  const online: OnlineResult = {
    kind: 'online',
    startedAt,
    onlineAt,
    elapsedMs: onlineAt - startedAt,
  };
  if (scenario.memorySettleMs !== undefined) {
    await delay(scenario.memorySettleMs);
    online.processMemory = await sampleMemory([...pids.values()], 5);
  }
  let result: FleetResult = online;
  if (scenario.respawnAll !== undefined) {
    const rollStart = epochNow();
    await manager.respawnAll({ ...scenario.respawnAll, timeout: scenario.timeout });
    const endedAt = epochNow();
    result = {
      kind: 'roll',
      bootMs: online.elapsedMs,
      startedAt: rollStart,
      endedAt,
      elapsedMs: endedAt - rollStart,
      failed: 0,
    } satisfies RollResult;
  }
  killShards();
  await report({ type: 'measured', result });
  process.exit(0);
} catch (error) {
  killShards();
  await fail(error);
}
