// What the runner and the manager fixture (fleet-manager.fixture.ts) agree on for the fleet and
// discord sections: the scenario a manager process runs, and what it reports back.
import type { ShardingMode } from '../../src/index.js';
import type { Memory } from './proc-stats.js';

/** The environment variable that carries a {@link FleetScenario} as JSON. */
export const SCENARIO_ENV = 'BENCH_FLEET_SCENARIO';

/** 1a: `broadcastRequest('echo')` to `instances` instances against `request(0, 'echo')`. */
export interface FanoutScenario {
  kind: 'fanout';
  instances: number;
  /** raw-fanout.fixture.ts only: the bare servers' sockets and pids. */
  raw?: { sockets: string[]; pids: number[]; idTemplate: string };
  /** Rounds of both calls before the timed ones. */
  warmup: number;
  /** Timed rounds of both calls (one single request and one broadcast request each). */
  rounds: number;
}

/** 1b: SIGKILL the only instance `kills` times and time its replacement. */
export interface RestartScenario {
  kind: 'restart';
  kills: number;
  /** `fast`: a 1 ms restart delay without jitter; `default`: the library's default policy. */
  policy: 'fast' | 'default';
  /** Idle time before each kill, so that the previous generation has settled. */
  settleMs: number;
  /**
   * How the instance dies: `SIGKILL`, or `SIGSTOP` (hung: found by missed heartbeats, every
   * `heartbeatInterval` ms, 3 missed). Default `SIGKILL`.
   */
  signal?: 'SIGKILL' | 'SIGSTOP';
  /** Heartbeat interval for `SIGSTOP`, ms. */
  heartbeatInterval?: number;
}

/** 1c: RSS of `instances` instances in one mode. */
export interface MemoryScenario {
  kind: 'memory';
  mode: ShardingMode;
  instances: number;
  /** Idle time before each RSS reading (after the boot, then after the instances are ready). */
  settleMs: number;
  /** RSS readings taken, 100 ms apart; the median counts. */
  samples: number;
}

/** 2: bring `shards` discord.js shards online against the emulator at `api`. */
export interface DiscordScenario {
  kind: 'discord';
  shards: number;
  shardsPerInstance: number;
  maxConcurrency: number;
  identifyWindow: number;
  identifyMargin: number;
  /** The emulator's API base without version (discord.js `rest.api`). */
  apiBase: string;
  token: string;
  /** When set: idle time after every shard is online before the instances' memory is read, ms. */
  memorySettleMs?: number;
}

/** 2, the reference: discord.js's own ShardingManager (djs-manager.fixture.ts). */
export interface DiscordJsScenario {
  kind: 'discord.js';
  shards: number;
  /** `spawn({ delay })`, ms. */
  delay: number;
  /** `spawn({ timeout })`, ms. */
  timeout: number;
  apiBase: string;
  token: string;
  /** When set: idle time after every shard is online before the shards' memory is read, ms. */
  memorySettleMs?: number;
  /**
   * When set, once every shard is online: `respawnAll({ shardDelay, respawnDelay, timeout })`,
   * timed (a {@link RollResult} is reported instead of an {@link OnlineResult}).
   */
  respawnAll?: { shardDelay: number; respawnDelay: number };
}

/** 2, the second reference: discord-hybrid-sharding's ClusterManager (hybrid-manager.fixture.ts). */
export interface HybridScenario {
  kind: 'hybrid';
  shards: number;
  /** `shardsPerClusters`. */
  shardsPerCluster: number;
  /** `spawn({ delay })`, ms (it waits that much per shard of a cluster, after the cluster is ready). */
  delay: number;
  /** Each cluster's discord.js paces its own shards' IDENTIFYs: with these (the emulator's). */
  identifyWindow: number;
  maxConcurrency: number;
  identifyMargin: number;
  /** `spawn({ timeout })`, ms. */
  timeout: number;
  apiBase: string;
  token: string;
  /** Idle time between every cluster ready and the memory readings, ms. */
  memorySettleMs: number;
}

/**
 * 3: replace every instance of a running fleet against the emulator at `apiBase`, either with
 * `rollingRestart()` or with a plain `restart(i)` of each instance, awaited in turn.
 */
export interface RollScenario {
  kind: 'roll';
  /** `ws`: test/fixtures/ws-bot (@discordjs/ws, hands its shards over with RESUME); `discord.js`: test/fixtures/discord-bot. */
  bot: 'ws' | 'discord.js';
  method: 'rolling' | 'one-by-one';
  shards: number;
  shardsPerInstance: number;
  maxConcurrency: number;
  identifyWindow: number;
  identifyMargin: number;
  apiBase: string;
  token: string;
  /**
   * Idle time after the fleet is ready (and every session reached the manager) before the
   * restart, and after it before the events seen are reported (so that those in flight arrive).
   */
  settleMs: number;
  /** Record the stream's events (`t`) that the instances report (`GATEWAY_EVENT`). */
  streamEvent?: string;
}

/**
 * 4: SIGKILL instances of a running @discordjs/ws fleet (test/fixtures/ws-bot) against the
 * emulator at `apiBase`, one at a time, each once the fleet has settled from the one before.
 */
export interface FailoverScenario extends Omit<RollScenario, 'kind' | 'bot' | 'method'> {
  kind: 'failover';
  /** The `spares` option. */
  spares: number;
  /** `default`: the library's restart policy; `fast`: `{ initialDelay: 1, maxDelay: 1 }`. */
  policy: 'default' | 'fast';
  /**
   * Instances killed, in turn: the k-th kill takes the instance then running shard
   * `k × shardsPerInstance` (mod `shards`), so that no instance dies twice in a run (the default
   * policy would back off) until every one has.
   */
  kills: number;
}

export type FleetScenario =
  | FanoutScenario
  | RestartScenario
  | MemoryScenario
  | DiscordScenario
  | DiscordJsScenario
  | HybridScenario
  | RollScenario
  | FailoverScenario;

/** Percentiles of samples, µs. */
export interface Distribution {
  samples: number;
  p50: number;
  p99: number;
  mean: number;
}

/** What the fan-out loop measures (fanout-loop.ts). */
export interface FanoutMeasure {
  /** Wall time of a request to the first instance, µs. */
  single: Distribution;
  /** Wall time of a request to every instance, until every reply is in, µs. */
  broadcast: Distribution;
  /** CPU time (user + system) of the requesting process per call, µs. */
  cpuSingle: number;
  cpuBroadcast: number;
  /** The system part of those, µs. */
  cpuSingleSystem: number;
  cpuBroadcastSystem: number;
  /**
   * CPU time of all instances over the timed rounds (every thread, from
   * /proc/<pid>/task/<tid>/schedstat) per echo they answered, µs.
   */
  instanceCpuPerEcho: number;
  /** Calls that did not come back with the right echo from every instance (should be 0). */
  failures: number;
  /**
   * When the timed rounds ran, in µs of the monotonic clock (`process.hrtime`, which V8 CPU
   * profiles use too): profile-summary.ts `--window` keeps only these samples.
   */
  timedWindow: { from: number; to: number };
}

/**
 * 1a, for one fleet size: this library (`request(0, 'echo')` and `broadcastRequest('echo')` of a
 * manager) or the raw reference (the same loop over bare `node:net` sockets to bare servers).
 */
export interface FanoutResult extends FanoutMeasure {
  kind: 'fanout';
  impl: 'nestjs-sharding' | 'raw-net';
  instances: number;
  /** Spawn to every instance ready (raw: every server listening), ms. */
  bootMs: number;
}

/** One kill, in ms from `process.kill` (phases from `status$`). */
export interface KillSample {
  /** To the replacement's `ready`. */
  deathToReady: number;
  /** To the dead generation's `stopping` (the manager noticed). */
  deathToStopping: number;
  /** To the dead generation's `exited` (staged kill done, link closed). */
  deathToExited: number;
  /** To the replacement's `spawning` (after the restart delay). */
  deathToSpawning: number;
  /** The replacement's own start: `spawning` to `ready`. */
  spawnToReady: number;
  /** The delay the policy chose (`restart$`). */
  policyDelay: number;
}

export interface RestartResult {
  kind: 'restart';
  policy: RestartScenario['policy'];
  /** Generation 1: `spawning` to `ready`, ms. */
  coldStart: number;
  /** For `SIGSTOP`: the silence after which the manager gives an instance up, ms. */
  heartbeatSpan?: number;
  kills: KillSample[];
}

export interface MemoryResult {
  kind: 'memory';
  mode: ShardingMode;
  instances: number;
  /** The manager process before spawning any instance. */
  managerIdle: Memory;
  /** The manager process with every instance ready. */
  managerFleet: Memory;
  /** Each instance process (empty in worker mode: they are threads of the manager). */
  instanceMemory: Memory[];
}

/** How long it took to bring every shard online; epoch ms (`performance.timeOrigin` based). */
export interface OnlineResult {
  kind: 'online';
  /** Just before `spawn()`. */
  startedAt: number;
  /** When every shard was online (`whenReady()` / `spawn()` resolved). */
  onlineAt: number;
  elapsedMs: number;
  /** nestjs-sharding: every IDENTIFY slot the manager granted (`identify$`), epoch ms. */
  grants?: Array<{ shardId: number; at: number }>;
  /** Each process running shards (instances, discord.js shards, clusters), once all are online. */
  processMemory?: Memory[];
}

/** A restart of the whole fleet (3); epoch ms (`performance.timeOrigin` based). */
export interface RollResult {
  kind: 'roll';
  /** From spawn to every shard online, ms. */
  bootMs: number;
  /** Just before the restart began (`rollingRestart()`, the first `restart(i)`, `respawnAll()`). */
  startedAt: number;
  /** When it resolved. */
  endedAt: number;
  elapsedMs: number;
  /** Instances whose replacement failed (`rollingRestart()` results rejected). */
  failed: number;
  /** With `streamEvent`: the sequence numbers of those events the manager received, per shard. */
  seen?: Record<number, number[]>;
}

/** One SIGKILL of a {@link FailoverResult}; epoch ms (`performance.timeOrigin` based). */
export interface FailoverKill {
  /** The instance killed, and the shards it ran. */
  instance: number;
  shards: number[];
  /** Just before `process.kill`. */
  killedAt: number;
  /**
   * When the fleet had settled: each of `shards` reported READY or RESUMED by an instance, and
   * every instance ready (the dead one back, as the next spare or with its shards).
   */
  settledAt: number;
  /** The instance running `shards` once settled. */
  takenBy: number;
}

/** SIGKILLs of a running fleet (4). */
export interface FailoverResult {
  kind: 'failover';
  /** From spawn to every shard online, ms. */
  bootMs: number;
  kills: FailoverKill[];
  /** The sequence numbers of the stream's events the manager received, per shard. */
  seen: Record<number, number[]>;
}

export type FleetResult =
  FanoutResult | RestartResult | MemoryResult | OnlineResult | RollResult | FailoverResult;

/** Reads the scenario from the environment. */
export function scenarioFromEnv(): FleetScenario {
  const raw = process.env[SCENARIO_ENV];
  if (raw === undefined) throw new Error(`${SCENARIO_ENV} is not set`);
  return JSON.parse(raw) as FleetScenario;
}

/** Now, in epoch ms with sub-ms precision, comparable across processes of one machine. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}
