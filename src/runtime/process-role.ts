import { isMainThread, workerData } from 'node:worker_threads';
import { ShardingError } from '../errors/sharding.error.js';
import { SHARDING_ENV } from '../sharding.constants.js';
import type { ShardingRole } from '../common/sharding-role.js';

/** What an instance was given by the manager that spawned it. */
export interface InstanceLaunch {
  managerId: string;
  instanceId: string;
  instance: number;
  socketRoot: string;
}

/** The instance role was forced, or detected, but the manager's variables are missing. */
export class MissingManagerError extends ShardingError {
  constructor(missing: string[]) {
    super(
      'ERR_SHARDING_NO_MANAGER',
      `This process runs as a sharding instance but was not started by a manager: ${missing.join(', ')} ` +
        'missing from its environment. Start the manager (the same entry file without these variables) ' +
        'and let it spawn the instances.',
    );
  }
}

/** The variables a manager passes: from `workerData` in a worker thread, else the environment. */
function launchVariables(): Record<string, unknown> {
  if (!isMainThread && typeof workerData === 'object' && workerData !== null) {
    return workerData as Record<string, unknown>;
  }
  return process.env;
}

/** The role of this process: the forced one, or `instance` when a manager spawned it. */
export function detectRole(forced?: ShardingRole): ShardingRole {
  if (forced !== undefined) return forced;
  return typeof launchVariables()[SHARDING_ENV.INSTANCE_ID] === 'string' ? 'instance' : 'manager';
}

/**
 * Whether this process (or worker thread) was spawned by a manager as a sharding instance. Use
 * it in an entry file that serves both roles, before building the Nest application.
 */
export function isShardingInstance(): boolean {
  return detectRole() === 'instance';
}

/** Reads what the manager gave this instance; throws {@link MissingManagerError} if absent. */
export function readInstanceLaunch(): InstanceLaunch {
  const source = launchVariables();
  const missing = Object.values(SHARDING_ENV).filter((name) => typeof source[name] !== 'string');
  const instance = Number(source[SHARDING_ENV.INSTANCE]);
  if (missing.length > 0 || !Number.isSafeInteger(instance) || instance < 0) {
    throw new MissingManagerError(missing.length > 0 ? missing : [SHARDING_ENV.INSTANCE]);
  }
  return {
    managerId: source[SHARDING_ENV.MANAGER_ID] as string,
    instanceId: source[SHARDING_ENV.INSTANCE_ID] as string,
    instance,
    socketRoot: source[SHARDING_ENV.SOCKET_ROOT] as string,
  };
}
