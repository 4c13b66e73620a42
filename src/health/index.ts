// The health entry of nestjs-sharding (`nestjs-sharding/health`): a `@nestjs/terminus` health
// indicator of the fleet, through the optional peer `@nestjs/terminus`, which only this entry loads.
// First: on an unsupported runtime, fail with a clear message before any dependency loads.
// oxlint-disable-next-line import/no-unassigned-import
import '../runtime/runtime.check.js';
export {
  ShardingHealthIndicator,
  type FleetReadiness,
  type InstanceHealth,
  type ShardHealth,
} from './sharding-health.indicator.js';
export { meetsReadiness, type ReadinessRule, type ReadinessRuleOptions } from './readiness-rule.js';
export { InvalidReadinessRuleError } from './health.errors.js';
