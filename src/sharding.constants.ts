/** Environment (or `workerData`) names a manager gives each instance it spawns. */
export const SHARDING_ENV = {
  /** The manager's snowflake. */
  MANAGER_ID: 'SHARDING_MANAGER_IPC',
  /** The instance's snowflake (its socket name). Its presence makes a process an instance. */
  INSTANCE_ID: 'SHARDING_INSTANCE_IPC',
  /** The instance index. */
  INSTANCE: 'SHARDING_INSTANCE',
  /** The manager's private socket directory. */
  SOCKET_ROOT: 'SHARDING_SOCKET_ROOT',
} as const;

/**
 * Injection token of the instance context (`InstanceContext`: shards, total shards, ids). It
 * resolves after the manager's HELLO, so an async factory that injects it (a Discord client's,
 * say) gets its shards before it logs in. Only provided in the instance role.
 */
export const SHARDING_INSTANCE_CONTEXT = Symbol('SHARDING_INSTANCE_CONTEXT');
