import type { Registry } from 'prom-client';

/** Options of `ShardingMetricsModule.forRoot`. */
export interface ShardingMetricsOptions {
  /**
   * The registry the metrics are registered in. Default: `prom-client`'s global `register`, the
   * one `@willsoto/nestjs-prometheus` serves on `/metrics` by default.
   */
  registry?: Registry;
  /** Prefix of every metric name. Default `'nestjs_sharding_'`. */
  prefix?: string;
}

/** The injection token of the {@link ShardingMetricsOptions}. */
export const SHARDING_METRICS_OPTIONS = Symbol('SHARDING_METRICS_OPTIONS');

/** The default metric name prefix. */
export const DEFAULT_METRICS_PREFIX = 'nestjs_sharding_';
