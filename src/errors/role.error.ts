import type { ShardingRole } from '../common/sharding-role.js';
import { ShardingError } from './sharding.error.js';

/**
 * Something that exists only on one side of the fleet was used on the other: `ShardingManager`
 * in an instance, or `ShardingInstance`, `IpcServer` or the instance context in the manager.
 */
export class WrongRoleError extends ShardingError {
  constructor(
    /** What was used, e.g. `ShardingManager.request`. */
    readonly api: string,
    /** The role of this process. */
    readonly role: ShardingRole,
  ) {
    const advice =
      role === 'manager'
        ? 'this process is the manager. Provide instance-only things (a Discord client, say) in ' +
          'a module that only instances import'
        : 'this process is a sharding instance. Use it behind a check that this is the manager';
    const other = role === 'manager' ? 'instance' : 'manager';
    super(
      'ERR_SHARDING_WRONG_ROLE',
      `${api} is only available in the ${other} role, and ${advice} ` +
        '(isShardingInstance() tells which role a process has before the application is built).',
    );
  }
}
