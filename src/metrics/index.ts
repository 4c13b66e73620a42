// The metrics entry of nestjs-sharding (`nestjs-sharding/metrics`): the fleet's Prometheus
// metrics, through the optional peer `prom-client`, which only this entry loads.
// First: on an unsupported runtime, fail with a clear message before any dependency loads.
// oxlint-disable-next-line import/no-unassigned-import
import '../runtime/runtime.check.js';
export { ShardingMetricsModule } from './sharding-metrics.module.js';
export { ShardingMetrics } from './sharding-metrics.service.js';
export {
  DEFAULT_METRICS_PREFIX,
  SHARDING_METRICS_OPTIONS,
  type ShardingMetricsOptions,
} from './sharding-metrics.options.js';
export { restartReason, type RestartReason } from './restart-reason.js';
