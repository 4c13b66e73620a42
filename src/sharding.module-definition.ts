import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { ShardingModuleOptions } from './options/sharding-options.interface.js';

/** Extra options of `forRoot`/`forRootAsync` that shape the module itself. */
export interface ShardingModuleExtras {
  /** Register the module globally, so feature modules need not import it. Default `false`. */
  isGlobal?: boolean;
}

export const {
  ConfigurableModuleClass: ShardingConfigurableModule,
  MODULE_OPTIONS_TOKEN: SHARDING_MODULE_OPTIONS,
  OPTIONS_TYPE: SHARDING_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SHARDING_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ShardingModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<ShardingModuleExtras>({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();

/** Injection token of the checked options with their defaults (`ResolvedShardingOptions`). */
export const RESOLVED_SHARDING_OPTIONS = Symbol('RESOLVED_SHARDING_OPTIONS');

/** Injection token of the role of this process (`'manager'` or `'instance'`). */
export const SHARDING_ROLE = Symbol('SHARDING_ROLE');
