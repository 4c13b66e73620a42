import type { InstanceStatus } from '../manager/instance-state.js';
import { InvalidReadinessRuleError } from './health.errors.js';

/** Options of the built-in readiness rule of `ShardingHealthIndicator.isReady`. */
export interface ReadinessRuleOptions {
  /**
   * The share of instances (0 to 1) that must be `ready`. Default `1`: all of them. With `0.9`,
   * a fleet of 10 instances is ready with 9.
   */
  minReadyRatio?: number;
  /**
   * Also require every shard that its instance reports on (the gateway adapters do) to be
   * `ready` in the ready instances. Default `false`: an instance says itself when it is ready.
   */
  requireShardsReady?: boolean;
}

/**
 * When the fleet counts as ready: the built-in rule's options, or a function of the instances'
 * status (`ShardingManager.status()`) that returns true when ready.
 */
export type ReadinessRule = ReadinessRuleOptions | ((status: InstanceStatus[]) => boolean);

/** Whether an instance counts as ready under the built-in rule. */
function instanceReady(status: InstanceStatus, requireShardsReady: boolean): boolean {
  if (status.state !== 'ready') return false;
  if (!requireShardsReady) return true;
  // Every shard of the instance must be reported ready: one never reported does not count.
  const reports = new Map((status.lastHeartbeat?.shards ?? []).map((shard) => [shard.id, shard]));
  return status.shards.every((id) => reports.get(id)?.state === 'ready');
}

/** Throws {@link InvalidReadinessRuleError} unless `rule` is a function or valid options. */
export function checkReadinessRule(rule: ReadinessRule): void {
  if (typeof rule === 'function') return;
  if (typeof rule !== 'object' || rule === null) {
    throw new InvalidReadinessRuleError('rule', rule, 'an object of options or a function');
  }
  const ratio = rule.minReadyRatio;
  if (ratio !== undefined && !(typeof ratio === 'number' && ratio >= 0 && ratio <= 1)) {
    throw new InvalidReadinessRuleError('minReadyRatio', ratio, 'a number from 0 to 1');
  }
  const shards = rule.requireShardsReady;
  if (shards !== undefined && typeof shards !== 'boolean') {
    throw new InvalidReadinessRuleError('requireShardsReady', shards, 'true or false');
  }
}

/** Whether `status` meets `rule`. A fleet with no instances is not ready. */
export function meetsReadiness(status: InstanceStatus[], rule: ReadinessRule): boolean {
  if (typeof rule === 'function') return rule(status);
  if (status.length === 0) return false;
  const requireShards = rule.requireShardsReady ?? false;
  const ready = status.filter((instance) => instanceReady(instance, requireShards)).length;
  return ready / status.length >= (rule.minReadyRatio ?? 1);
}
