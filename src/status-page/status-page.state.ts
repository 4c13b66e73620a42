import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Subject, type Observable, type Subscription } from 'rxjs';
import type { InstanceHeartbeat } from '../ipc/ipc.client.js';
import type {
  InstanceRestart,
  InstanceStatus,
  InstanceStatusChange,
} from '../manager/instance-state.js';
import { ShardingManager } from '../manager/sharding.manager.js';
import { RESOLVED_SHARDING_OPTIONS } from '../options/options.constants.js';
import type { ResolvedShardingOptions } from '../options/resolve-options.js';
import { SampleRing } from './sample-ring.js';
import { STATUS_PAGE_DEFAULTS } from './status-page.constants.js';
import type {
  StatusPageFailure,
  StatusPageIdentify,
  StatusPageInstance,
  StatusPageShard,
  StatusPageSnapshot,
  StatusPageUpdate,
} from './status-page-view.interface.js';

/** What one instance slot keeps between heartbeats, across its generations. */
interface InstanceTrack {
  roundTrips: SampleRing<[number, number]>;
  /** Samples added since the last update was taken. */
  added: number;
  since?: number;
  previousBeatAt?: number;
  eventsPerSecond: Map<number, number>;
  /**
   * Whether the last heartbeat's shard reports are from a generation that is gone: set when the
   * instance leaves `identified`/`ready`, cleared by the next heartbeat (only the current
   * generation beats).
   */
  reportsStale: boolean;
}

/** Instance states in which its last heartbeat's shard reports are its current generation's. */
const REPORTING_STATES = new Set<InstanceStatusChange['to']>(['identified', 'ready']);

/**
 * What the status page shows, kept from the manager's streams (heartbeats, state changes,
 * restarts, identify grants) while `statusPage` is set: a snapshot for new clients, and updates of
 * what changed for clients already streaming. Everything it keeps is bounded: a ring of round
 * trips per instance and the latest failures.
 */
@Injectable()
export class StatusPageState implements OnModuleInit, OnApplicationShutdown {
  private readonly tracks = new Map<number, InstanceTrack>();
  private readonly failures = new SampleRing<StatusPageFailure>(STATUS_PAGE_DEFAULTS.failures);
  private failuresAdded = 0;
  private failureSeq = 0;
  private readonly changedInstances = new Set<number>();
  private identifyChanged = false;
  private hostsChanged = false;
  private readonly changes = new Subject<void>();
  private subscription: Subscription | undefined;

  /** Emits each time something shown changed (not coalesced: the server paces its updates). */
  readonly change$: Observable<void> = this.changes.asObservable();

  constructor(
    private readonly manager: ShardingManager,
    @Inject(RESOLVED_SHARDING_OPTIONS) private readonly options: ResolvedShardingOptions,
  ) {}

  /** Starts watching the streams, before the fleet spawns, when the page is on. */
  onModuleInit(): void {
    if (this.options.statusPage === undefined) return;
    this.subscription = this.manager.heartbeat$.subscribe((beat) => this.onHeartbeat(beat));
    this.subscription.add(this.manager.status$.subscribe((change) => this.onStatus(change)));
    this.subscription.add(this.manager.restart$.subscribe((restart) => this.onRestart(restart)));
    this.subscription.add(
      this.manager.hosts$.subscribe(() => {
        this.hostsChanged = true;
        this.changes.next();
      }),
    );
    this.subscription.add(
      this.manager.identify$.subscribe(() => {
        this.identifyChanged = true;
        this.changes.next();
      }),
    );
  }

  /** Stops watching and completes {@link change$}. */
  onApplicationShutdown(): void {
    this.subscription?.unsubscribe();
    this.changes.complete();
  }

  /** Everything the page shows, now. */
  snapshot(): StatusPageSnapshot {
    return {
      at: Date.now(),
      managerId: this.manager.id,
      totalShards: this.manager.totalShards,
      actions: this.options.statusPage?.token !== undefined,
      instances: this.manager.status().map((status) => this.instanceView(status, undefined)),
      identify: this.identifyView(),
      failures: this.failures.toArray().toReversed(),
      ...this.hostsView(),
    };
  }

  /** What changed since the previous call, or `undefined` when nothing did. */
  takeUpdate(): StatusPageUpdate | undefined {
    if (
      this.changedInstances.size === 0 &&
      !this.identifyChanged &&
      !this.hostsChanged &&
      this.failuresAdded === 0
    ) {
      return undefined;
    }
    const changed = this.manager
      .status()
      .filter((status) => this.changedInstances.has(status.instance))
      .map((status) => {
        const track = this.tracks.get(status.instance);
        const view = this.instanceView(status, track?.added ?? 0);
        if (track !== undefined) track.added = 0;
        return view;
      });
    const update: StatusPageUpdate = {
      at: Date.now(),
      totalShards: this.manager.totalShards,
      instances: changed,
      identify: this.identifyChanged ? this.identifyView() : undefined,
      failures: this.failures.latest(this.failuresAdded).toReversed(),
      hosts: this.hostsChanged ? this.hostsView().hosts : undefined,
    };
    this.changedInstances.clear();
    this.identifyChanged = false;
    this.hostsChanged = false;
    this.failuresAdded = 0;
    return update;
  }

  /** This host and the cluster's hosts, with `coordination` only (nothing without it). */
  private hostsView(): Pick<StatusPageSnapshot, 'hostId' | 'hosts'> {
    const hosts = this.manager.hosts();
    const self = hosts.find((host) => host.self);
    return self === undefined ? {} : { hostId: self.hostId, hosts };
  }

  private track(instance: number): InstanceTrack {
    let track = this.tracks.get(instance);
    if (track === undefined) {
      track = {
        roundTrips: new SampleRing(STATUS_PAGE_DEFAULTS.roundTripSamples),
        added: 0,
        eventsPerSecond: new Map(),
        reportsStale: false,
      };
      this.tracks.set(instance, track);
    }
    return track;
  }

  private changed(instance: number): void {
    this.changedInstances.add(instance);
    this.changes.next();
  }

  private onHeartbeat(beat: InstanceHeartbeat): void {
    const at = Date.now();
    const track = this.track(beat.instance);
    if (beat.roundTrip !== undefined) {
      track.roundTrips.push([at, beat.roundTrip]);
      track.added = Math.min(track.added + 1, STATUS_PAGE_DEFAULTS.roundTripSamples);
    }
    // A report counts the dispatches since the previous heartbeat; the first has no previous one.
    const seconds = (at - (track.previousBeatAt ?? at - this.options.heartbeatInterval)) / 1000;
    track.previousBeatAt = at;
    track.reportsStale = false;
    for (const shard of beat.shards ?? []) {
      if (shard.events !== undefined && seconds > 0) {
        track.eventsPerSecond.set(shard.id, Math.round((shard.events / seconds) * 10) / 10);
      }
    }
    this.changed(beat.instance);
  }

  private onStatus(change: InstanceStatusChange): void {
    const track = this.track(change.instance);
    track.since = change.at;
    // A dead generation's last word is not its shards' state: until the next generation beats,
    // they follow the instance (a SIGKILLed instance's shards must not stay `ready`).
    if (!REPORTING_STATES.has(change.to)) track.reportsStale = true;
    if (change.to !== 'ready') {
      // Rates of a generation that stopped say nothing about the next one.
      track.previousBeatAt = undefined;
      track.eventsPerSecond.clear();
    }
    if (change.to === 'exited' && change.exit !== undefined && change.cause !== 'shutdown') {
      this.addFailure({
        at: change.at,
        instance: change.instance,
        generation: change.generation,
        kind: 'ended',
        reason: change.reason,
        cause: change.cause,
        code: change.exit.code,
        signal: change.exit.signal,
      });
    } else if (change.to === 'gave-up') {
      this.addFailure({
        at: change.at,
        instance: change.instance,
        generation: change.generation,
        kind: 'gave-up',
        reason: change.reason,
        cause: change.cause,
      });
    }
    this.changed(change.instance);
  }

  private onRestart(restart: InstanceRestart): void {
    // The exit itself is logged from the state change; a restart only changes the instance's row.
    this.changed(restart.instance);
  }

  private addFailure(failure: Omit<StatusPageFailure, 'seq'>): void {
    this.failures.push({ seq: ++this.failureSeq, ...failure });
    this.failuresAdded = Math.min(this.failuresAdded + 1, STATUS_PAGE_DEFAULTS.failures);
  }

  private instanceView(status: InstanceStatus, newSamples: number | undefined): StatusPageInstance {
    const track = this.tracks.get(status.instance);
    const beat = status.lastHeartbeat;
    const reports = new Map(
      track?.reportsStale === true ? [] : (beat?.shards ?? []).map((report) => [report.id, report]),
    );
    const shards = status.shards.map((id): StatusPageShard => {
      const report = reports.get(id);
      return {
        id,
        state: report?.state,
        ping: report?.ping,
        guilds: report?.guilds,
        eventsPerSecond: track?.eventsPerSecond.get(id),
      };
    });
    return {
      instance: status.instance,
      state: status.state,
      generation: status.generation,
      pid: status.pid,
      since: track?.since,
      rss: beat?.rss,
      heapUsed: beat?.heapUsed,
      eventLoopLag: beat?.eventLoopLag,
      lastHeartbeatAt: beat?.at,
      restarts: status.restarts,
      lastExit:
        status.lastExit === undefined
          ? undefined
          : {
              reason: status.lastExit.reason,
              cause: status.lastExit.cause,
              code: status.lastExit.code,
              signal: status.lastExit.signal,
            },
      roundTrips:
        track === undefined
          ? []
          : newSamples === undefined
            ? track.roundTrips.toArray()
            : track.roundTrips.latest(newSamples),
      shards,
    };
  }

  private identifyView(): StatusPageIdentify | undefined {
    const progress = this.manager.identifyProgress();
    if (progress === undefined) return undefined;
    return {
      ...progress,
      timeLeft: Math.ceil(progress.waiting / progress.maxConcurrency) * progress.window,
    };
  }
}
