/** Which side of the fleet a process is: the manager, or a sharding instance it spawned. */
export type ShardingRole = 'manager' | 'instance';

/** The values of {@link ShardingRole}. */
export const SHARDING_ROLES: readonly ShardingRole[] = ['manager', 'instance'];

/**
 * Injection token of the role of this process (`'manager'` or `'instance'`), provided by
 * `ShardingModule` in both roles. `DispatchRegistry` reads it to skip the other side's handlers.
 */
export const SHARDING_ROLE = Symbol('nestjs-sharding:role');
