import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { IdentifyBroker } from './discord/identify.broker.js';
import { DISPATCH_ROLE } from './dispatch/dispatch.constants.js';
import { DispatchExplorer } from './dispatch/dispatch.explorer.js';
import { DispatchRegistry } from './dispatch/dispatch.registry.js';
import { ShardingInstance } from './instance/sharding.instance.js';
import { IpcServer } from './ipc/ipc.server.js';
import { ShardingManager } from './manager/sharding.manager.js';
import { resolveShardingOptions, type ResolvedShardingOptions } from './options/resolve-options.js';
import type { ShardingModuleOptions, ShardingRole } from './options/sharding-options.interface.js';
import { detectRole } from './options/sharding-role.js';
import { SHARDING_INSTANCE_CONTEXT } from './sharding.constants.js';
import {
  RESOLVED_SHARDING_OPTIONS,
  SHARDING_MODULE_OPTIONS,
  SHARDING_ROLE,
  ShardingConfigurableModule,
} from './sharding.module-definition.js';
import { SnowflakeService } from './snowflake/snowflake.service.js';

/**
 * Runs a Discord bot as supervised sharding instances.
 *
 * Import it with `ShardingModule.forRoot(options)` or `forRootAsync({ useFactory, inject })`
 * in the application that is both the manager and, started by the manager, each instance: the
 * role is detected from the environment. It provides {@link ShardingManager} (manager role),
 * {@link ShardingInstance}, the instance context (`SHARDING_INSTANCE_CONTEXT`) and
 * {@link IpcServer} (instance role), and {@link SnowflakeService}; `@OnDispatch` methods of the
 * application's providers receive dispatches in both roles.
 *
 * @example
 * ```ts
 * @Module({ imports: [ShardingModule.forRoot({ totalShards: 'auto', shardsPerInstance: 4 })] })
 * export class AppModule {}
 * ```
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: RESOLVED_SHARDING_OPTIONS,
      useFactory: (options: ShardingModuleOptions) => resolveShardingOptions(options),
      inject: [SHARDING_MODULE_OPTIONS],
    },
    {
      provide: SHARDING_ROLE,
      useFactory: (options: ResolvedShardingOptions) => detectRole(options.role),
      inject: [RESOLVED_SHARDING_OPTIONS],
    },
    { provide: DISPATCH_ROLE, useExisting: SHARDING_ROLE },
    DispatchRegistry,
    DispatchExplorer,
    SnowflakeService,
    ShardingManager,
    IdentifyBroker,
    ShardingInstance,
    {
      provide: SHARDING_INSTANCE_CONTEXT,
      useFactory: (instance: ShardingInstance, role: ShardingRole) =>
        role === 'instance' ? instance.start() : null,
      inject: [ShardingInstance, SHARDING_ROLE],
    },
    {
      provide: IpcServer,
      useFactory: (instance: ShardingInstance) => instance.server ?? null,
      inject: [ShardingInstance],
    },
  ],
  exports: [
    ShardingManager,
    ShardingInstance,
    SnowflakeService,
    SHARDING_INSTANCE_CONTEXT,
    IpcServer,
    DispatchRegistry,
  ],
})
export class ShardingModule extends ShardingConfigurableModule {}
