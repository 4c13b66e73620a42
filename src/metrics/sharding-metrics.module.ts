import { Module, type DynamicModule } from '@nestjs/common';
import { ShardingMetrics } from './sharding-metrics.service.js';
import {
  SHARDING_METRICS_OPTIONS,
  type ShardingMetricsOptions,
} from './sharding-metrics.options.js';

/**
 * Prometheus metrics of the fleet (see {@link ShardingMetrics} for the list), registered in a
 * `prom-client` registry: yours, or `prom-client`'s global one, which `@willsoto/nestjs-prometheus`
 * serves. Import it next to `ShardingModule.forRoot`; it finds the manager by itself, and in a
 * sharding instance it registers nothing. Serving `/metrics` is the application's: a controller
 * that returns `registry.metrics()`, or `@willsoto/nestjs-prometheus`'s.
 *
 * @example
 * ```ts
 * imports: [ShardingModule.forRoot({ ... }), ShardingMetricsModule.forRoot()]
 * ```
 */
@Module({})
export class ShardingMetricsModule {
  /** The module with its options (all optional: the global registry, prefix `nestjs_sharding_`). */
  static forRoot(options: ShardingMetricsOptions = {}): DynamicModule {
    return {
      module: ShardingMetricsModule,
      providers: [{ provide: SHARDING_METRICS_OPTIONS, useValue: options }, ShardingMetrics],
      exports: [ShardingMetrics],
    };
  }
}
