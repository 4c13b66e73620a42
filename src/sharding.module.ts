import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { ShardingRole } from './common/sharding-role.js';
import { DispatchExplorer } from './dispatch/dispatch.explorer.js';
import { DispatchRegistry } from './dispatch/dispatch.registry.js';
import { RESOLVED_SHARDING_OPTIONS } from './options/options.constants.js';
import { resolveShardingOptions } from './options/resolve-options.js';
import type { ShardingModuleOptions } from './options/sharding-options.interface.js';
import { detectRole } from './runtime/process-role.js';
import {
  SHARDING_MODULE_OPTIONS,
  ShardingConfigurableModule,
} from './sharding.module-definition.js';
import { SnowflakeService } from './snowflake/snowflake.service.js';

/**
 * A module that `ShardingModule.forInstance` or `forManager` imports in one role only: a module
 * class (`BotModule`), or a dynamic module (another library's `forRoot(...)`, say).
 */
export type RoleScopedModule = Type | DynamicModule;

/** Holds what `ShardingModule.forInstance` imports: the modules in an instance, none in the manager. */
@Module({})
class ShardingInstanceScope {}

/** Holds what `ShardingModule.forManager` imports: the modules in the manager, none in an instance. */
@Module({})
class ShardingManagerScope {}

// Decided when the module graph is declared, before any provider exists: a provider of the other
// role is never created, so its factory never runs (and never reaches for that role's API).
function roleScoped(
  role: ShardingRole,
  scope: Type,
  modules: readonly RoleScopedModule[],
): DynamicModule {
  const present = detectRole() === role ? [...modules] : [];
  return { module: scope, imports: present, exports: present };
}

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
 * What only one role needs (a Discord client, say) goes in a module imported with
 * {@link ShardingModule.forInstance} (or {@link ShardingModule.forManager}), which exists only in
 * that role. The other role's tokens can still be injected, but using them throws
 * `WrongRoleError`. Both roles get {@link SnowflakeService} and {@link DispatchRegistry};
 * `@OnDispatch` methods of the application's providers receive dispatches in both roles.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     ShardingModule.forRoot({ totalShards: 'auto', shardsPerInstance: 4, isGlobal: true }),
 *     ShardingModule.forInstance(BotModule),
 *   ],
 * })
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
export class ShardingModule extends ShardingConfigurableModule {
  /**
   * Imports `modules` in a sharding instance only; in the manager it is an empty module, so their
   * providers (a Discord client and its factory, handlers that read the instance context) are
   * never created there. It re-exports them, like importing them directly. The role is detected
   * when it is called, as `isShardingInstance()` detects it (a `role` forced in `forRoot` does
   * not reach it). Their providers that inject `ShardingInstance` or `SHARDING_INSTANCE_CONTEXT`
   * need `forRoot({ isGlobal: true })`, or `ShardingModule` exported to them.
   *
   * @example
   * ```ts
   * imports: [ShardingModule.forRoot({ isGlobal: true }), ShardingModule.forInstance(BotModule)]
   * ```
   */
  static forInstance(...modules: RoleScopedModule[]): DynamicModule {
    return roleScoped('instance', ShardingInstanceScope, modules);
  }

  /**
   * Imports `modules` in the manager only; in a sharding instance it is an empty module. The
   * mirror of {@link ShardingModule.forInstance}: for what serves the fleet as a whole (a
   * dashboard, an HTTP API that calls `ShardingManager`).
   */
  static forManager(...modules: RoleScopedModule[]): DynamicModule {
    return roleScoped('manager', ShardingManagerScope, modules);
  }
}
