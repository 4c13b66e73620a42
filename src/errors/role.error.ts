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
    // The usual cause: an instance-only provider (a Discord client's factory) created in the
    // manager because one module serves both roles. The fix is to scope that module.
    const advice =
      role === 'manager'
        ? 'this process is the manager: something that only an instance needs (a Discord ' +
          "client's factory, say) was created here. Import the module that provides it with " +
          'ShardingModule.forInstance(BotModule), so that it exists only in instances'
        : 'this process is a sharding instance: something that only the manager needs was ' +
          'created here. Import the module that provides it with ' +
          'ShardingModule.forManager(DashboardModule), so that it exists only in the manager';
    const other = role === 'manager' ? 'instance' : 'manager';
    super(
      'ERR_SHARDING_WRONG_ROLE',
      `${api} is only available in the ${other} role, and ${advice} ` +
        '(isShardingInstance() tells the role before the application is built).',
    );
  }
}
