import type { ShardingMode } from '../../options/sharding-options.interface.js';
import { spawnClusterWorker } from './cluster.spawner.js';
import type { InstanceSpawner } from './instance-handle.interface.js';
import { spawnProcess } from './process.spawner.js';
import { spawnWorker } from './worker.spawner.js';

/**
 * The spawner of each mode, read when a fleet spawns. Internal (not exported by the package): a
 * table rather than a switch so that the scale bench can put its simulated instances, many per
 * process, behind the real manager, as unit tests put fakes behind the link connector.
 */
export const MODE_SPAWNERS: Record<ShardingMode, InstanceSpawner> = {
  process: spawnProcess,
  worker: spawnWorker,
  cluster: spawnClusterWorker,
};
