// What the scale section (scale-section.ts) and its manager (scale-manager.fixture.ts) agree on:
// the scenario, passed as JSON in the environment, and the result reported back.

/** The environment variable that carries a {@link ScaleScenario}. */
export const SCALE_SCENARIO_ENV = 'BENCH_SCALE_SCENARIO';

/** A simulated fleet, and how long each measurement runs. */
export interface ScaleScenario {
  instances: number;
  shardsPerInstance: number;
  /** Processes the simulated instances are spread over. */
  hosts: number;
  /** The manager's `heartbeatInterval`, ms. */
  heartbeatInterval: number;
  /** The manager's `bootConcurrency`. */
  bootConcurrency: number;
  /** Idle time between the fleet being ready and the first window, ms. */
  settleMs: number;
  /** The length of the CPU window, and of the allocation window after it, ms. */
  windowMs: number;
  /** `instanceForShard` calls timed (and a tenth as many `instanceForGuild` calls). */
  routingCalls: number;
  broadcastWarmup: number;
  broadcastRounds: number;
  /** The heartbeat baseline only: beat on the library's phase grid, else at random phases. */
  rawAligned?: boolean;
}

/** The time of one call, averaged over `calls`. */
export interface CallTiming {
  calls: number;
  nsPerCall: number;
  /** The sum of the results, so that the calls cannot be optimized away. */
  checksum: number;
}

/** Where the manager allocated, per heartbeat. */
export interface AllocationSite {
  /** `function file:line`. */
  site: string;
  bytesPerHeartbeat: number;
}

/** What the scale manager reports. */
export interface ScaleResult {
  kind: 'scale';
  instances: number;
  shards: number;
  hosts: number;
  heartbeatInterval: number;
  /** `spawn()` to `whenReady()`, ms. */
  bootMs: number;
  /** The manager process before spawning and with the fleet ready, after a GC, bytes. */
  managerMemory: { idleRss: number; idleHeap: number; fleetRss: number; fleetHeap: number };
  windowMs: number;
  /** Heartbeats received in the CPU window. */
  heartbeats: number;
  cpuUs: number;
  /** The system (kernel) part of `cpuUs`. */
  cpuSystemUs: number;
  /** CPU over the window, in % of one core. */
  cpuPercent: number;
  cpuUsPerHeartbeat: number;
  /** Heartbeats received in the allocation window. */
  sampledHeartbeats: number;
  allocatedBytes: number;
  bytesPerHeartbeat: number;
  /** GCs in the CPU window, and their total pause. */
  gc: { minor: number; major: number; pauseMs: number };
  topSites: AllocationSite[];
  routing: { shard: CallTiming; guild: CallTiming };
  /** µs. */
  broadcast: {
    rounds: number;
    failures: number;
    broadcastP50: number;
    broadcastP99: number;
    singleP50: number;
    singleP99: number;
    /** The manager's CPU (user + system) during one broadcast, µs. */
    managerCpuPerBroadcast: number;
  };
}

/** What the heartbeat baseline's manager (raw-heartbeat-manager.fixture.ts) reports. */
export interface RawHeartbeatResult {
  kind: 'raw-heartbeat';
  instances: number;
  aligned: boolean;
  windowMs: number;
  heartbeats: number;
  /** User + system, µs. */
  cpuUs: number;
  cpuSystemUs: number;
}

/** Reads the scenario from the environment. */
export function scaleScenarioFromEnv(): ScaleScenario {
  const raw = process.env[SCALE_SCENARIO_ENV];
  if (raw === undefined) throw new Error(`${SCALE_SCENARIO_ENV} is not set`);
  return JSON.parse(raw) as ScaleScenario;
}
