import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { ShardingRole } from './common/sharding-role.js';
import type { ShardingModuleOptions } from './options/sharding-options.interface.js';
import { detectRole } from './runtime/process-role.js';
import { ROLE_EXPORTS, roleProviders } from './sharding.providers.js';

/** Extra options of `forRoot`/`forRootAsync` that shape the module itself. */
export interface ShardingModuleExtras {
  /** Register the module globally, so feature modules need not import it. Default `false`. */
  isGlobal?: boolean;
  /**
   * Force the role instead of detecting it. Default: detected when `forRoot` is called: an
   * instance finds `SHARDING_INSTANCE_IPC` in its environment (or `workerData`), anything else is
   * the manager. The role decides which providers exist, so it is known before any option
   * factory of `forRootAsync` runs. `ShardingModule.forInstance` / `forManager` detect the role
   * themselves: a forced role does not reach them.
   */
  role?: ShardingRole;
}

/** The module class `ShardingModule` extends, its options token and the option types of `forRoot`/`forRootAsync`. */
export const {
  ConfigurableModuleClass: ShardingConfigurableModule,
  MODULE_OPTIONS_TOKEN: SHARDING_MODULE_OPTIONS,
  OPTIONS_TYPE: SHARDING_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SHARDING_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ShardingModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<ShardingModuleExtras>({ isGlobal: false, role: undefined }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
    providers: [...(definition.providers ?? []), ...roleProviders(detectRole(extras.role))],
    exports: [...(definition.exports ?? []), ...ROLE_EXPORTS],
  }))
  .build();
