import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DispatchExplorer } from './dispatch/dispatch.explorer.js';
import { DispatchRegistry } from './dispatch/dispatch.registry.js';
import { RESOLVED_SHARDING_OPTIONS } from './options/options.constants.js';
import { resolveShardingOptions } from './options/resolve-options.js';
import type { ShardingModuleOptions } from './options/sharding-options.interface.js';
import {
  SHARDING_MODULE_OPTIONS,
  ShardingConfigurableModule,
} from './sharding.module-definition.js';
import { SnowflakeService } from './snowflake/snowflake.service.js';

/**
 * Runs a Discord bot as supervised sharding instances.
 *
 * Import it once, with `ShardingModule.forRoot(options)` or `forRootAsync({ useFactory, inject })`,
 * in the application that is both the manager and, started by the manager, each instance. The
 * role is detected from the environment when `forRoot` is called, and only that role's providers
 * exist:
 * - manager: {@link ShardingManager};
 * - instance: {@link ShardingInstance}, the instance context (`SHARDING_INSTANCE_CONTEXT`, which
 *   resolves when the manager's HELLO comes: the instance's bootstrap step) and {@link IpcServer}.
 *
 * The other role's tokens can still be injected (one entry file serves both roles), but using
 * them throws `WrongRoleError`. Both roles get {@link SnowflakeService} and
 * {@link DispatchRegistry}; `@OnDispatch` methods of the application's providers receive
 * dispatches in both roles.
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
    DispatchRegistry,
    DispatchExplorer,
    SnowflakeService,
  ],
  exports: [SnowflakeService, DispatchRegistry],
})
export class ShardingModule extends ShardingConfigurableModule {}
