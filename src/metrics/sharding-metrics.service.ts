import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Counter, Gauge, Histogram, Metric, Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import { SHARDING_ROLE, type ShardingRole } from '../common/sharding-role.js';
import { IdentifyBroker } from '../discord/identify.broker.js';
import { INSTANCE_TRANSITIONS, type InstanceStatus } from '../manager/instance-state.js';
import { REQUEST_OUTCOMES } from '../manager/request-outcome.js';
import { ShardingManager } from '../manager/sharding.manager.js';
import { shardReportsOf } from '../manager/shard-reports.js';
import type { ShardReport } from '../protocol/ipc-packet.types.js';
import { promClient } from './prom-client.loader.js';
import { restartReason } from './restart-reason.js';
import {
  DEFAULT_METRICS_PREFIX,
  SHARDING_METRICS_OPTIONS,
  type ShardingMetricsOptions,
} from './sharding-metrics.options.js';

const INSTANCE_STATES = Object.keys(INSTANCE_TRANSITIONS);

/** The instance states in which an instance's latest shard reports still hold. */
/** Round trips over a local socket: well under a millisecond, up to a stalled second. */
const ROUND_TRIP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const REQUEST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15];

/**
 * The fleet's Prometheus metrics, registered in the registry of `ShardingMetricsModule.forRoot`
 * (in the manager; in a sharding instance it registers nothing). Labels are the instance index,
 * the shard id and fixed words (states, outcomes, reasons), never anything per guild; series of
 * instances and shards that are gone are removed. Gauges are read from `ShardingManager` when
 * scraped; only heartbeats, restarts and requests are counted as they happen.
 *
 * | metric (after the prefix) | type | labels |
 * |---|---|---|
 * | `instances` | gauge | `state` |
 * | `instance_state` | gauge (1) | `instance`, `state` |
 * | `instance_restarts_total` | counter | `instance`, `reason` |
 * | `instance_heartbeat_round_trip_seconds` | histogram | `instance` |
 * | `instance_event_loop_lag_seconds` | histogram | `instance` |
 * | `instance_resident_memory_bytes`, `instance_heap_used_bytes` | gauge | `instance` |
 * | `instance_dropped_packets` | gauge | `instance` |
 * | `identify_waiting` | gauge | |
 * | `identify_granted_total` | counter | |
 * | `sessions_total` | counter | `kind` (`resumed`, `identified`) |
 * | `requests_total` | counter | `outcome` |
 * | `request_duration_seconds` | histogram | `outcome` |
 * | `shard_state` | gauge (1) | `shard`, `state` |
 * | `shard_ping_seconds`, `shard_guilds` | gauge | `shard` |
 */
@Injectable()
export class ShardingMetrics implements OnModuleInit, OnApplicationShutdown {
  private readonly registry: Registry;
  private readonly prefix: string;
  private readonly metrics: Metric[] = [];
  private readonly subscriptions: Subscription[] = [];
  /** Restarts per instance and reason, for a counter whose gone instances' series are dropped. */
  private readonly restarts = new Map<number, Map<string, number>>();
  /** Instances with histogram series, to remove those of instances that are gone. */
  private readonly observed = new Set<number>();
  private readonly instanceHistograms: Array<Histogram<'instance'>> = [];
  private manager: ShardingManager | undefined;
  private broker: IdentifyBroker | undefined;

  constructor(
    @Inject(SHARDING_METRICS_OPTIONS) options: ShardingMetricsOptions,
    private readonly moduleRef: ModuleRef,
  ) {
    this.registry = options.registry ?? promClient.register;
    this.prefix = options.prefix ?? DEFAULT_METRICS_PREFIX;
  }

  /** Registers the metrics and follows the manager's streams (in the manager only). */
  onModuleInit(): void {
    const role = this.moduleRef.get<ShardingRole>(SHARDING_ROLE, { strict: false });
    if (role !== 'manager') return;
    const manager = this.moduleRef.get(ShardingManager, { strict: false });
    this.manager = manager;
    this.broker = this.moduleRef.get(IdentifyBroker, { strict: false });
    this.registerFleet();
    this.registerIdentify();
    this.registerRequests();
    this.registerShards();
  }

  /** Removes the metrics from the registry and stops following the manager. */
  onApplicationShutdown(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    for (const metric of this.metrics) this.registry.removeSingleMetric(metricName(metric));
    this.metrics.length = 0;
  }

  private registerFleet(): void {
    const manager = this.manager!;
    this.gauge('instances', 'Sharding instances by state.', ['state'], (gauge) => {
      const counts = new Map(INSTANCE_STATES.map((state) => [state, 0]));
      for (const status of manager.status())
        counts.set(status.state, counts.get(status.state)! + 1);
      for (const [state, count] of counts) gauge.set({ state }, count);
    });
    this.gauge(
      'instance_state',
      'The state of each instance (1 for its current state).',
      ['instance', 'state'],
      (gauge) => {
        gauge.reset();
        for (const status of manager.status())
          gauge.set({ instance: status.instance, state: status.state }, 1);
      },
    );
    this.counter(
      'instance_restarts_total',
      'Restarts of each instance after a failure, by what was noticed first.',
      ['instance', 'reason'],
      (counter) => {
        counter.reset();
        const present = new Set(manager.instances);
        for (const [instance, byReason] of this.restarts) {
          if (!present.has(instance)) {
            this.restarts.delete(instance);
            continue;
          }
          for (const [reason, count] of byReason) counter.inc({ instance, reason }, count);
        }
      },
    );
    this.subscriptions.push(
      manager.restart$.subscribe(({ instance, cause }) => {
        const byReason = this.restarts.get(instance) ?? new Map<string, number>();
        const reason = restartReason(cause);
        byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
        this.restarts.set(instance, byReason);
      }),
    );
    const roundTrip = this.histogram(
      'instance_heartbeat_round_trip_seconds',
      "Round trip of each instance's heartbeats over its link.",
      ROUND_TRIP_BUCKETS,
    );
    const lag = this.histogram(
      'instance_event_loop_lag_seconds',
      "Each instance's event-loop delay, as reported with its heartbeats.",
      LAG_BUCKETS,
    );
    this.subscriptions.push(
      manager.heartbeat$.subscribe(({ instance, roundTrip: rtt, eventLoopLag }) => {
        this.observed.add(instance);
        if (rtt !== undefined) roundTrip.observe({ instance }, rtt / 1000);
        if (eventLoopLag !== undefined) lag.observe({ instance }, eventLoopLag / 1000);
      }),
    );
    this.perInstance(
      'instance_resident_memory_bytes',
      'Resident set size of each instance (its latest heartbeat).',
      (status) => status.lastHeartbeat?.rss,
    );
    this.perInstance(
      'instance_heap_used_bytes',
      'V8 heap used by each instance (its latest heartbeat).',
      (status) => status.lastHeartbeat?.heapUsed,
    );
    this.perInstance(
      'instance_dropped_packets',
      "Packets (and shard reports) from each instance's current generation dropped as malformed.",
      (status) => manager.link(status.instance).rejectedPackets,
    );
  }

  private registerIdentify(): void {
    const manager = this.manager!;
    this.gauge('identify_waiting', 'Shards waiting for an IDENTIFY slot.', [], (gauge) =>
      gauge.set(manager.identifyProgress()?.waiting ?? 0),
    );
    this.counter('identify_granted_total', 'IDENTIFY slots granted to shards.', [], (counter) => {
      counter.reset();
      counter.inc(manager.identifyProgress()?.granted ?? 0);
    });
    this.counter(
      'sessions_total',
      'Gateway sessions started: resumed with a kept session, or identified anew.',
      ['kind'],
      (counter) => {
        counter.reset();
        counter.inc({ kind: 'resumed' }, this.broker?.resumedSessions ?? 0);
        counter.inc({ kind: 'identified' }, manager.identifyProgress()?.granted ?? 0);
      },
    );
  }

  private registerRequests(): void {
    const total = this.counter('requests_total', 'Requests of the manager to instances.', [
      'outcome',
    ]);
    const duration = new promClient.Histogram({
      name: `${this.prefix}request_duration_seconds`,
      help: 'Duration of the manager requests to instances.',
      labelNames: ['outcome'],
      buckets: REQUEST_BUCKETS,
      registers: [this.registry],
    });
    this.metrics.push(duration);
    for (const outcome of REQUEST_OUTCOMES) total.inc({ outcome }, 0);
    this.subscriptions.push(
      this.manager!.request$.subscribe(({ outcome, duration: ms }) => {
        total.inc({ outcome });
        duration.observe({ outcome }, ms / 1000);
      }),
    );
  }

  private registerShards(): void {
    const manager = this.manager!;
    const reports = (): Array<ShardReport | undefined> => manager.status().flatMap(shardReportsOf);
    this.gauge(
      'shard_state',
      "Each shard's gateway state, as its instance reports it (1 for its current state).",
      ['shard', 'state'],
      (gauge) => {
        gauge.reset();
        for (const report of reports())
          if (report !== undefined) gauge.set({ shard: report.id, state: report.state }, 1);
      },
    );
    this.gauge(
      'shard_ping_seconds',
      "Each shard's latest gateway heartbeat round trip.",
      ['shard'],
      (gauge) => {
        gauge.reset();
        for (const report of reports())
          if (report?.ping !== undefined) gauge.set({ shard: report.id }, report.ping / 1000);
      },
    );
    this.gauge('shard_guilds', 'Guilds each shard serves.', ['shard'], (gauge) => {
      gauge.reset();
      for (const report of reports())
        if (report?.guilds !== undefined) gauge.set({ shard: report.id }, report.guilds);
    });
  }

  /** A gauge per instance, read from its status when scraped (absent values leave no series). */
  private perInstance(
    name: string,
    help: string,
    read: (status: InstanceStatus) => number | undefined,
  ): void {
    this.gauge(name, help, ['instance'], (gauge) => {
      gauge.reset();
      for (const status of this.manager!.status()) {
        const value = read(status);
        if (value !== undefined) gauge.set({ instance: status.instance }, value);
      }
    });
  }

  private gauge<L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    collect: (gauge: Gauge<L>) => void,
  ): Gauge<L> {
    const gauge: Gauge<L> = new promClient.Gauge<L>({
      name: `${this.prefix}${name}`,
      help,
      labelNames,
      registers: [this.registry],
      collect: () => collect(gauge),
    });
    this.metrics.push(gauge);
    return gauge;
  }

  private counter<L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    collect?: (counter: Counter<L>) => void,
  ): Counter<L> {
    const counter: Counter<L> = new promClient.Counter<L>({
      name: `${this.prefix}${name}`,
      help,
      labelNames,
      registers: [this.registry],
      ...(collect === undefined ? {} : { collect: () => collect(counter) }),
    });
    this.metrics.push(counter);
    return counter;
  }

  /** A histogram per instance; the series of instances that are gone are removed when scraped. */
  private histogram(name: string, help: string, buckets: number[]): Histogram<'instance'> {
    const histogram: Histogram<'instance'> = new promClient.Histogram<'instance'>({
      name: `${this.prefix}${name}`,
      help,
      labelNames: ['instance'],
      buckets,
      registers: [this.registry],
      collect: () => this.dropGoneInstances(),
    });
    this.metrics.push(histogram);
    this.instanceHistograms.push(histogram);
    return histogram;
  }

  private dropGoneInstances(): void {
    const present = new Set(this.manager!.instances);
    for (const instance of this.observed) {
      if (present.has(instance)) continue;
      for (const histogram of this.instanceHistograms) histogram.remove({ instance });
      this.observed.delete(instance);
    }
  }
}

/** A metric's name (prom-client keeps it on the instance without typing it). */
function metricName(metric: Metric): string {
  return (metric as unknown as { name: string }).name;
}
