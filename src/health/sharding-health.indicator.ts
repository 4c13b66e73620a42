import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { InstanceState, InstanceStatus } from '../manager/instance-state.js';
import { ShardingManager } from '../manager/sharding.manager.js';
import { shardReportsOf } from '../manager/shard-reports.js';
import type { ShardGatewayState } from '../protocol/ipc-packet.types.js';
import { checkReadinessRule, meetsReadiness, type ReadinessRule } from './readiness-rule.js';
import { terminus } from './terminus.loader.js';

/** One shard in the details of {@link ShardingHealthIndicator.isReady}. */
export interface ShardHealth {
  /** The shard id. */
  id: number;
  /** As its instance reports it; `disconnected` while the instance is down; absent when unknown. */
  state?: ShardGatewayState;
  /** The last gateway heartbeat round trip, in ms, when reported. */
  ping?: number;
}

/** One instance in the details of {@link ShardingHealthIndicator.isReady}. */
export interface InstanceHealth {
  /** The instance index. */
  instance: number;
  /** Its state (`ready` counts as ready under the built-in rule). */
  state: InstanceState;
  /** Its current spawn generation (from 1). */
  generation: number;
  /** Restarts within the current restart window. */
  restarts: number;
  /** Its shards, in its shard order. */
  shards: ShardHealth[];
}

/** The details of {@link ShardingHealthIndicator.isReady}. */
export interface FleetReadiness extends Record<string, unknown> {
  /** Instances `ready`. */
  ready: number;
  /** Instances in the fleet. */
  total: number;
  /** Every instance, by index. */
  instances: InstanceHealth[];
}

/** The instance states in which its latest shard reports still hold. */
/** The default readiness rule: every instance ready. */
const ALL_READY: ReadinessRule = { minReadyRatio: 1 };

/**
 * A `@nestjs/terminus` (11+) health indicator of the fleet, for the manager's application. Two
 * meanings, for two probes:
 * - {@link isReady}: the fleet serves, under a readiness rule (default: every instance `ready`),
 *   with every instance and shard in the details. For a readiness probe, or a load balancer.
 * - {@link isLive}: the manager process works and can still bring its fleet back. For a liveness
 *   probe: a dead shard or a restarting instance is the manager's job to repair, and killing the
 *   manager for it would take every other shard down too.
 *
 * List it among the providers of the module that imports `TerminusModule` (in the manager: with
 * `ShardingModule.forManager(...)` when one entry file serves both roles). It finds the manager by
 * itself.
 *
 * @example
 * ```ts
 * @Get('ready')
 * @HealthCheck()
 * ready() {
 *   return this.health.check([() => this.sharding.isReady('sharding', { minReadyRatio: 0.9 })]);
 * }
 * ```
 */
@Injectable()
export class ShardingHealthIndicator {
  private manager: ShardingManager | undefined;

  constructor(
    @Inject(terminus.HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * Up when the fleet meets `rule` (default: every instance `ready`; `{ minReadyRatio: 0.9 }`,
   * `{ requireShardsReady: true }` or a function of `ShardingManager.status()`), down otherwise;
   * either way with the instances and their shards in the details. Throws
   * `InvalidReadinessRuleError` on a malformed rule.
   */
  isReady<const Key extends string>(
    key: Key,
    rule: ReadinessRule = ALL_READY,
  ): HealthIndicatorResult<Key> {
    checkReadinessRule(rule);
    const status = this.fleet().status();
    const details: FleetReadiness = {
      ready: status.filter((instance) => instance.state === 'ready').length,
      total: status.length,
      instances: status.map(instanceHealth),
    };
    const session = this.indicators.check(key);
    return meetsReadiness(status, rule) ? session.up(details) : session.down(details);
  }

  /**
   * Up while the manager can run its fleet: down only once every instance has been given up
   * (the restart limit was reached: nothing restarts them any more, and restarting the manager
   * is the way left). Instances down, restarting or not ready yet keep it up.
   */
  isLive<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const status = this.fleet().status();
    const gaveUp = status.filter((instance) => instance.state === 'gave-up').length;
    const details = { total: status.length, gaveUp };
    const session = this.indicators.check(key);
    return status.length > 0 && gaveUp === status.length
      ? session.down(details)
      : session.up(details);
  }

  private fleet(): ShardingManager {
    this.manager ??= this.moduleRef.get(ShardingManager, { strict: false }) as ShardingManager;
    return this.manager;
  }
}

function instanceHealth(status: InstanceStatus): InstanceHealth {
  const reports = shardReportsOf(status);
  return {
    instance: status.instance,
    state: status.state,
    generation: status.generation,
    restarts: status.restarts,
    shards: status.shards.map((id, position): ShardHealth => {
      const report = reports[position];
      if (report === undefined) return { id };
      return report.ping === undefined
        ? { id, state: report.state }
        : { id, state: report.state, ping: report.ping };
    }),
  };
}
