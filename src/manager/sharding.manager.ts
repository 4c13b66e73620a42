import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { availableParallelism } from 'node:os';
import { first, merge, Subject, type Observable, type Subscription } from 'rxjs';
import type { DispatchContext, DispatchHandler } from '../dispatch/dispatch-context.interface.js';
import { DispatchRegistry } from '../dispatch/dispatch.registry.js';
import { fetchGatewayBot, type GatewayBotInfo } from '../discord/gateway-bot.fetcher.js';
import type { ClusterHost } from '../coordination/cluster-hosts.view.js';
import type {
  ClusterCallOptions,
  ClusterLocation,
  ClusterTarget,
} from '../coordination/cluster-call.types.js';
import type { ClusterInstanceResult, LocalMessaging } from '../coordination/cluster.messenger.js';
import { ClusterMembership } from './cluster.membership.js';
import { NoClusterError } from '../coordination/coordination.errors.js';
import type { PlacementFleet } from '../coordination/host-placement.js';
import { IdentifyBroker } from '../discord/identify.broker.js';
import type { IdentifyGrant, IdentifyQueueProgress } from '../discord/identify.queue.js';
import type { InstanceHeartbeat, IpcClient } from '../ipc/ipc.client.js';
import { serializeError } from '../ipc/packet-channel.js';
import { createSocketRoot, removeSocketRoot, socketPathFor } from '../ipc/socket-path.js';
import type { ResolvedShardingOptions } from '../options/resolve-options.js';
import type { DispatchTarget } from '../protocol/ipc-packet.types.js';
import type { RelayedInstanceResult } from '../protocol/relayed-result.types.js';
import { DEFAULT_APPSPACE, LibraryEvent } from '../protocol/protocol.constants.js';
import type { ShardSession } from '../protocol/session-info.interface.js';
import { RESOLVED_SHARDING_OPTIONS } from '../options/options.constants.js';
import { InvalidShardingOptionError } from '../options/invalid-option.error.js';
import { MANAGER_SHARD_ID } from '../snowflake/snowflake.constants.js';
import { SnowflakeService } from '../snowflake/snowflake.service.js';
import { instanceLinkView, type InstanceLink } from './instance-link.js';
import {
  assertKnownShards,
  ShardHandover,
  ShardMoveError,
  type ShardMove,
} from './shard-handover.js';
import {
  InstanceSupervisor,
  type SupervisedInstance,
  type SupervisorContext,
} from './instance.supervisor.js';
import type { InstanceRestart, InstanceStatus, InstanceStatusChange } from './instance-state.js';
import {
  DuplicateShardingModuleError,
  InstanceNotReadyError,
  ManagerShutDownError,
  ReshardError,
  UnknownInstanceError,
} from './manager.errors.js';
import { failedOutcome, type RequestOutcome } from './request-outcome.js';
import { planShards } from './shard-plan.js';
import { ShardRoutes } from './shard-routes.js';
import { ipcLinkConnector } from './spawn/ipc-link.connector.js';
import { MODE_SPAWNERS } from './spawn/mode-spawners.js';

/**
 * What a call does with an instance that is not ready: `'wait'` for it (up to the call's
 * timeout), `'skip'` it (broadcasts only; a single-target call fails), or `'fail'` at once.
 */
export type WhenNotReady = 'wait' | 'skip' | 'fail';

/** Options of the manager's messaging calls. */
export interface ManagerCallOptions {
  /** Time limit in ms, including any wait for readiness. Default: `requestTimeout` (15000). */
  timeout?: number;
  /** What to do with instances that are not ready. Default `'wait'`. */
  whenNotReady?: WhenNotReady;
}

/** Options of {@link ShardingManager.restart}. */
export interface RestartCallOptions {
  /**
   * Keep the instance's shards online: start the new generation beside the running one and hand
   * it the shards (RESTRUCTURING) before stopping the old one. Default `false` (staged kill, then
   * a new generation: the shards are offline for one start-up).
   */
  graceful?: boolean;
}

/** The settled result of one instance in a broadcast request. */
export type InstanceResult<T> =
  | { instance: number; status: 'fulfilled'; value: T }
  | { instance: number; status: 'rejected'; reason: Error };

/**
 * The manager: plans the shards, spawns and supervises every instance, and talks to them.
 * Provided by `ShardingModule` in the manager role (in an instance, using it throws
 * `WrongRoleError`).
 */
@Injectable()
export class ShardingManager
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  /** This manager's snowflake. */
  readonly id: string;

  private readonly logger = new Logger(ShardingManager.name);
  private readonly heartbeats = new Subject<InstanceHeartbeat>();
  private readonly restarts = new Subject<InstanceRestart>();
  private readonly statuses = new Subject<InstanceStatusChange>();
  private readonly requestOutcomes = new Subject<RequestOutcome>();
  /** `autoReshard`'s periodic check of Discord's recommendation. */
  private recommendationTimer: NodeJS.Timeout | undefined;
  /** A reshard under way. */
  private resharding: Promise<void> | undefined;
  /** A rolling restart an instance asked for, while it runs. */
  private rolling: Promise<void> | undefined;
  /** Graceful restarts under way, by instance index. */
  private readonly replacing: Array<Promise<void> | undefined> = [];
  /** New generations started beside running ones by graceful restarts, until they take over. */
  private readonly successors = new Set<InstanceSupervisor>();
  /** Aborts a start-up still asking Discord for the shard count when shutdown begins. */
  private readonly stopSpawning = new AbortController();
  private supervisors: InstanceSupervisor[] = [];
  /** The instance of each shard, for routing by shard or guild without a scan. */
  private readonly routes = new ShardRoutes();
  private totalShardCount: number | undefined;
  private socketRoot: string | undefined;
  private spawning: Promise<void> | undefined;
  private shuttingDown: Promise<void> | undefined;
  private readonly handover: ShardHandover;
  /** What every supervisor of this fleet shares, once spawned. */
  private supervisorContext: SupervisorContext | undefined;
  /** When the fleet started spawning, until it was first ready (for the "fleet ready" line). */
  private spawnedAt: number | undefined;

  /** Every heartbeat of every instance (instance, round trip, stats). */
  readonly heartbeat$: Observable<InstanceHeartbeat> = this.heartbeats.asObservable();
  /** Every restart about to happen (instance, reason, attempt, delay). */
  readonly restart$: Observable<InstanceRestart> = this.restarts.asObservable();
  /** Every state transition of every instance. */
  readonly status$: Observable<InstanceStatusChange> = this.statuses.asObservable();
  /**
   * Every request to an instance as it ends ({@link request}, {@link broadcastRequest} and
   * relays): the instance, the outcome and the duration. Measured only while observed.
   */
  readonly request$: Observable<RequestOutcome> = this.requestOutcomes.asObservable();
  /** Every IDENTIFY slot granted to a shard, in order. */
  readonly identify$: Observable<IdentifyGrant>;
  /** Every handover of shards between instances ({@link moveShards}), as it ends. */
  readonly restructure$: Observable<ShardMove>;
  /**
   * With `coordination`: the cluster's hosts and their blocks each time they change (a host
   * joins or leaves, a block moves), as this host's surveys of the leases find them. Never
   * emits without `coordination`.
   */
  readonly hosts$: Observable<ClusterHost[]>;

  constructor(
    @Inject(RESOLVED_SHARDING_OPTIONS) private readonly options: ResolvedShardingOptions,
    private readonly registry: DispatchRegistry,
    private readonly snowflakes: SnowflakeService,
    private readonly discovery: DiscoveryService,
    private readonly broker: IdentifyBroker,
    private readonly membership: ClusterMembership,
  ) {
    this.id = snowflakes.generate(MANAGER_SHARD_ID);
    this.identify$ = broker.identify$;
    this.hosts$ = membership.hosts.hosts$;
    this.handover = new ShardHandover({
      supervisor: (instance) => this.supervisor(instance),
      ownerOf: (shard) => this.instanceForShard(shard),
      route: (shards, instance) => this.routes.set(shards, instance),
      unroute: (shards) => this.routes.delete(shards),
      totalShards: () => this.totalShardCount!,
      // A handover closes and opens gateway connections: it gets the time an instance has to
      // become ready, not a request's.
      request: async (supervisor, event, data, timeout = this.options.readyTimeout) => {
        await supervisor.whenReady(timeout);
        return supervisor.client!.request(event, data, { timeout });
      },
      broker,
      logger: this.logger,
    });
    this.restructure$ = this.handover.move$;
  }

  /** Fails the start-up when ShardingModule.forRoot() is imported twice (two fleets). */
  onModuleInit(): void {
    const imports = this.discovery
      .getProviders()
      .filter((wrapper) => wrapper.token === ShardingManager && !wrapper.isAlias).length;
    if (imports > 1) throw new DuplicateShardingModuleError(imports);
  }

  /** The total shard count, once known (after `spawn()` with `totalShards: 'auto'`). */
  get totalShards(): number | undefined {
    return this.totalShardCount;
  }

  /** The manager's private socket directory (mode 0700), once spawned; removed on shutdown. */
  get socketDirectory(): string | undefined {
    return this.socketRoot;
  }

  /** The instance indexes. */
  get instances(): number[] {
    return this.supervisors.map((supervisor) => supervisor.instance);
  }

  /** Spawns the fleet when the application bootstraps, unless `spawnOnBootstrap` is false. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.options.spawnOnBootstrap) await this.spawn();
  }

  /** Stops every instance before the application's providers shut down. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.shutdown();
  }

  /** Completes the streams. */
  onApplicationShutdown(): void {
    this.handover.close();
    this.heartbeats.complete();
    this.restarts.complete();
    this.statuses.complete();
    this.requestOutcomes.complete();
  }

  /** IDENTIFYs granted so far, waiting now, and the pacing in force (after `spawn()`). */
  identifyProgress(): IdentifyQueueProgress | undefined {
    return this.broker.progress();
  }

  /** The last gateway session each shard reported, by shard id (a copy). */
  sessions(): Map<number, ShardSession> {
    return this.broker.sessions();
  }

  /**
   * Plans the shards (asking Discord when `totalShards` is `'auto'`), creates the private socket
   * directory and starts every instance in parallel. Resolves once all are started (not ready:
   * see {@link whenReady}). Runs once; later calls return the same promise.
   */
  async spawn(): Promise<void> {
    if (this.shuttingDown !== undefined) throw new ManagerShutDownError();
    this.spawning ??= this.spawnFleet();
    return this.spawning;
  }

  /** Resolves when every instance is ready; rejects after `timeout` ms (default `readyTimeout`). */
  async whenReady(timeout = this.options.readyTimeout): Promise<void> {
    await this.spawn();
    await Promise.all(this.supervisors.map((supervisor) => supervisor.whenReady(timeout)));
  }

  /** A snapshot of every instance. */
  status(): InstanceStatus[] {
    const hostId = this.membership.hosts.hostId;
    if (hostId === undefined) return this.supervisors.map((supervisor) => supervisor.status());
    return this.supervisors.map((supervisor) => ({ ...supervisor.status(), hostId }));
  }

  /**
   * With `coordination`: the cluster's hosts (this one included) and the blocks and shards each
   * holds, as of this host's latest survey of the leases (every third of the lease TTL). Empty
   * without `coordination`.
   */
  hosts(): ClusterHost[] {
    return this.membership.hosts.current();
  }

  /**
   * A read-only, live view of the link to an instance (state, round trip, pending requests,
   * dropped packets), always of its current generation.
   */
  link(instance: number): InstanceLink {
    this.supervisor(instance);
    return instanceLinkView(instance, () => this.supervisor(instance));
  }

  /**
   * Hands `shards` over to instance `to` while they run, keeping their gateway sessions: each
   * instance that runs some of them releases them first (RESTRUCTURING; the connections close
   * resumably and their last sessions come back), then `to` takes them with those sessions and
   * RESUMEs: no IDENTIFY is spent and Discord replays what happened in between. Needs instances
   * that apply RESTRUCTURING (the `@discordjs/ws` adapter's `attach`). Moves run one at a time;
   * each ends on `restructure$`. If a step fails, the instance of that step is restarted with the
   * shard set in force (it RESUMEs) and this rejects with `ShardMoveError`: a shard is never run
   * twice, nor by nobody.
   */
  async moveShards(shards: readonly number[], to: number): Promise<void> {
    await this.spawning;
    this.supervisor(to);
    assertKnownShards(shards, (shard) => this.routes.has(shard));
    await this.handover.move(shards, to);
  }

  /** The instance that runs `shardId`. */
  instanceForShard(shardId: number): number {
    const instance = this.routes.get(shardId);
    if (instance === undefined) throw new UnknownInstanceError(`shard ${shardId}`);
    return instance;
  }

  /** The instance that runs the shard of `guildId` (`(guild_id >> 22) % totalShards`). */
  instanceForGuild(guildId: string | bigint): number;
  /**
   * With `coordination`: the host that runs the shard of `guildId` now (the holder of its
   * block's lease in Redis). Rejects with `NoClusterError` outside a cluster, and with
   * `ClusterTargetGoneError` while no host holds the block.
   */
  instanceForGuild(guildId: string | bigint, options: ClusterCallOptions): Promise<ClusterLocation>;
  instanceForGuild(
    guildId: string | bigint,
    options?: ClusterCallOptions,
  ): number | Promise<ClusterLocation> {
    if (options?.scope === 'cluster') {
      return this.inCluster(() => this.membership.messenger!.locate(this.shardOfGuild(guildId)));
    }
    if (this.totalShardCount === undefined)
      throw new UnknownInstanceError(`guild ${guildId} (not spawned yet)`);
    return this.instanceForShard(this.snowflakes.shardForGuild(guildId, this.totalShardCount));
  }

  /** Sends an event to one instance. */
  async send(
    instance: number,
    event: string,
    data?: unknown,
    options: ManagerCallOptions = {},
  ): Promise<void> {
    const ready = this.readyClient(instance, options);
    (ready instanceof Promise ? await ready : ready).send(event, data);
  }

  /** Sends an event to every instance; resolves with the indexes it reached. */
  async broadcast(
    event: string,
    data?: unknown,
    options: ManagerCallOptions = {},
  ): Promise<number[]> {
    const results = await Promise.allSettled(
      this.instances.map((index) => this.send(index, event, data, options)),
    );
    return this.instances.filter((_, position) => results[position]!.status === 'fulfilled');
  }

  /**
   * Sends a request to one instance; resolves with its handler's result. Settles always: on
   * timeout, at once when the instance dies, or with the handler's error.
   */
  request<T = unknown>(
    instance: number,
    event: string,
    data?: unknown,
    options?: ManagerCallOptions,
  ): Promise<T>;
  /**
   * With `{ scope: 'cluster' }`: asks the instance that runs a shard or guild on whichever host
   * holds it, through Redis. Settles always: with the answer; on timeout; at once with
   * `ClusterTargetGoneError` when no host holds the shard, its host is not listening or leaves
   * the cluster, or it lost the shard's lease before answering (no answer from a fenced
   * generation); with `RemoteHandlerError` when the handler failed.
   */
  request<T = unknown>(
    to: ClusterTarget,
    event: string,
    data: unknown,
    options: ClusterCallOptions,
  ): Promise<T>;
  request<T = unknown>(
    target: number | ClusterTarget,
    event: string,
    data?: unknown,
    callOptions: ManagerCallOptions | ClusterCallOptions = {},
  ): Promise<T> {
    if (typeof target !== 'number') {
      return this.inCluster(() =>
        this.membership.messenger!.request<T>(
          'shard' in target ? target.shard : this.shardOfGuild(target.guild),
          event,
          data,
          callOptions.timeout ?? this.options.requestTimeout,
        ),
      );
    }
    const instance = target;
    const options = callOptions as ManagerCallOptions;
    if (!this.requestOutcomes.observed) return this.requestOnce<T>(instance, event, data, options);
    const started = performance.now();
    const ended = (outcome: RequestOutcome['outcome']) =>
      this.requestOutcomes.next({ instance, outcome, duration: performance.now() - started });
    return this.requestOnce<T>(instance, event, data, options).then(
      (value) => {
        ended('ok');
        return value;
      },
      (error: unknown) => {
        ended(failedOutcome(error));
        throw error;
      },
    );
  }

  private requestOnce<T>(
    instance: number,
    event: string,
    data: unknown,
    options: ManagerCallOptions,
  ): Promise<T> {
    const timeout = options.timeout ?? this.options.requestTimeout;
    let ready: IpcClient | Promise<IpcClient>;
    try {
      ready = this.readyClient(instance, options);
    } catch (error) {
      return Promise.reject(error);
    }
    // A ready instance is asked in this turn (no promise of its own per call: a broadcast makes
    // one call per instance); one not ready yet gets what is left of the timeout once it is.
    if (!(ready instanceof Promise)) return ready.request<T>(event, data, { timeout });
    const deadline = Date.now() + timeout;
    return ready.then((client) =>
      client.request<T>(event, data, { timeout: Math.max(1, deadline - Date.now()) }),
    );
  }

  /**
   * Sends a request to every instance and settles per instance: partial results are normal.
   * With `whenNotReady: 'skip'`, instances that are not ready are left out.
   */
  broadcastRequest<T = unknown>(
    event: string,
    data?: unknown,
    options?: ManagerCallOptions,
  ): Promise<InstanceResult<T>[]>;
  /**
   * With `{ scope: 'cluster' }`: asks every instance of every host of the cluster, through Redis;
   * settles per instance, each result naming its host. A host that does not answer within the
   * timeout adds one rejected result (`instance: -1`, `RequestTimeoutError`).
   */
  broadcastRequest<T = unknown>(
    event: string,
    data: unknown,
    options: ClusterCallOptions,
  ): Promise<ClusterInstanceResult<T>[]>;
  async broadcastRequest<T = unknown>(
    event: string,
    data?: unknown,
    options: ManagerCallOptions | ClusterCallOptions = {},
  ): Promise<InstanceResult<T>[] | ClusterInstanceResult<T>[]> {
    if ('scope' in options && options.scope === 'cluster') {
      return this.inCluster(() =>
        this.membership.messenger!.broadcast<T>(
          event,
          data,
          options.timeout ?? this.options.requestTimeout,
        ),
      );
    }
    return this.requestMany<T>(this.instances, event, data, options as ManagerCallOptions);
  }

  /** Runs a cluster-wide call, or rejects with `NoClusterError` outside a cluster. */
  private inCluster<T>(call: () => Promise<T>): Promise<T> {
    if (this.membership.messenger === undefined) return Promise.reject(new NoClusterError());
    try {
      return call();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private shardOfGuild(guildId: string | bigint): number {
    return this.snowflakes.shardForGuild(guildId, this.totalShardCount!);
  }

  /** What other hosts of the cluster may ask of this host's instances (with `coordination`). */
  private localMessaging(): LocalMessaging {
    return {
      requestShard: async (shard, event, data, timeout) =>
        this.request(this.instanceForShard(shard), event, data, { timeout }),
      broadcast: (event, data, timeout) => this.broadcastRequest(event, data, { timeout }),
    };
  }

  /**
   * Replaces an instance now (staged kill, then a new generation without backoff) and resolves
   * when the new generation is ready. Rejects with `InstanceUnavailableError` if it is given up
   * or the manager shuts down meanwhile, or `InstanceNotReadyError` if it is not ready within
   * `readyTimeout`. Idempotent: concurrent calls share one replacement and one promise.
   *
   * With `graceful: true` the instance's shards stay online: a new generation starts beside the
   * running one with no shards, and once it is ready the running one hands it every shard
   * (RESTRUCTURING, sessions kept: see {@link moveShards}) and is then stopped. Needs instances
   * that apply RESTRUCTURING; if the new generation fails before it has the shards, it is stopped,
   * the running one keeps (or takes back) its shards, and this rejects with `ShardMoveError` or the
   * new generation's error. An instance that is not ready is restarted the plain way.
   */
  async restart(instance: number, options: RestartCallOptions = {}): Promise<void> {
    const supervisor = this.supervisor(instance);
    if (options.graceful !== true || supervisor.state !== 'ready') return supervisor.restart();
    this.replacing[instance] ??= this.replaceGracefully(supervisor).finally(() => {
      this.replacing[instance] = undefined;
    });
    return this.replacing[instance];
  }

  /**
   * Replaces every instance by a new generation without taking its shards offline: a graceful
   * {@link restart} of each, `concurrency` at a time (default 1; the handovers themselves run one
   * at a time, the new generations boot in parallel). Requests keep being served throughout.
   * Settles per instance, like {@link broadcastRequest}: an instance whose new generation failed
   * keeps running its old one with its shards. Progress on `restructure$`.
   */
  async rollingRestart(options: { concurrency?: number } = {}): Promise<InstanceResult<void>[]> {
    const concurrency = options.concurrency ?? 1;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new InvalidShardingOptionError(
        'rollingRestart concurrency',
        concurrency,
        'a positive integer',
      );
    }
    await this.spawning;
    const waiting = [...this.instances];
    const results: InstanceResult<void>[] = [];
    const roll = async () => {
      for (let instance = waiting.shift(); instance !== undefined; instance = waiting.shift()) {
        try {
          await this.restart(instance, { graceful: true });
          results.push({ instance, status: 'fulfilled', value: undefined });
        } catch (error) {
          results.push({ instance, status: 'rejected', reason: error as Error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, waiting.length) }, roll));
    return results.toSorted((a, b) => a.instance - b.instance);
  }

  /**
   * Changes the bot's total shard count while it runs, blue/green: a whole new fleet planned for
   * `totalShards` (or Discord's recommendation, `'auto'`) starts beside the running one and
   * IDENTIFYs with the new total, paced by the same identify queue; once every new instance is
   * ready, routing switches to it at once and the old fleet answers what it was asked, then stops.
   * During the overlap a guild's events may reach both fleets. Refused with `ReshardError`, the
   * running fleet unchanged, when Discord's daily session budget cannot cover the new fleet, when
   * this manager runs a subset of the shards (`shards`), or when a new instance fails before the
   * switch (the new fleet is stopped). Resolves at once when the total does not change.
   */
  async reshard(totalShards: number | 'auto'): Promise<void> {
    this.resharding ??= this.reshardNow(totalShards).finally(() => {
      this.resharding = undefined;
    });
    return this.resharding;
  }

  private async reshardNow(requested: number | 'auto'): Promise<void> {
    await this.spawning;
    if (this.supervisorContext === undefined) throw new ReshardError('the fleet is not spawned');
    if (this.options.shards !== undefined) {
      throw new ReshardError('this manager runs a subset of the shards (the shards option)');
    }
    const total =
      requested === 'auto'
        ? (await fetchGatewayBot({ api: this.options.api, token: this.options.token })).shards
        : requested;
    if (!Number.isSafeInteger(total) || total < 1) {
      throw new InvalidShardingOptionError(
        'reshard totalShards',
        total,
        "a positive integer or 'auto'",
      );
    }
    const before = this.totalShardCount!;
    if (total === before) return;
    const budget = this.broker.remainingBudget();
    if (budget !== undefined && budget < total) {
      throw new ReshardError(
        `${total} IDENTIFYs are needed and Discord's daily budget has ${budget} left`,
      );
    }
    this.logger.log(`Resharding from ${before} to ${total} shard(s): starting the new fleet.`);
    const plan = planShards(total, undefined, this.options.shardsPerInstance);
    const context = { ...this.supervisorContext, totalShards: total };
    const spares = Array.from({ length: this.options.spares }, (): number[] => []);
    const fleet = [...plan, ...spares].map((shards, index) =>
      this.supervise(index, shards, this.supervisors[index]?.status().generation ?? 0, context),
    );
    for (const supervisor of fleet) this.successors.add(supervisor);
    // Any new instance that fails before the switch ends the reshard: it is not restarted.
    try {
      for (const supervisor of fleet) supervisor.start();
      await this.allReadyOrFirstFailure(
        fleet,
        (change) =>
          new ReshardError(
            `new instance ${change.instance} failed: ${change.cause ?? change.reason ?? 'stopped'}`,
          ),
      );
    } catch (error) {
      await Promise.all(fleet.map((supervisor) => supervisor.stop('reshard failed')));
      throw error instanceof ReshardError
        ? error
        : new ReshardError((error as Error).message, { cause: error });
    } finally {
      for (const supervisor of fleet) this.successors.delete(supervisor);
    }
    // The switch: from here on requests, relays and status go to the new fleet.
    const retired = this.supervisors;
    this.supervisors = fleet;
    this.totalShardCount = total;
    this.supervisorContext = context;
    this.broker.resize(total);
    this.routes.reset(total, plan);
    this.logger.log(`Resharded to ${total} shard(s) on ${fleet.length} instance(s).`);
    for (const supervisor of retired) supervisor.assignShards([]);
    await Promise.all(
      retired.map(async (supervisor) => {
        const answered = supervisor.client?.whenIdle();
        if (answered !== undefined) await withTimeout(answered, this.options.requestTimeout);
        await supervisor.stop('replaced by a resharded fleet');
      }),
    );
  }

  /**
   * A dead instance's shards go to a ready warm spare (an instance with no shards that applies
   * RESTRUCTURING), if there is one; the dead instance comes back empty, as the next spare.
   */
  private failOver(dead: InstanceSupervisor): void {
    if (dead.shards.length === 0 || this.supervisors[dead.instance] !== dead) return;
    const spare = this.readySpare();
    if (spare === undefined) return;
    this.handover.failover(dead, spare).catch(() => undefined); // reported on restructure$
  }

  /** A ready warm spare (no shards, applies RESTRUCTURING, not being replaced), if any. */
  private readySpare(): InstanceSupervisor | undefined {
    return this.supervisors.find(
      (candidate) =>
        candidate.shards.length === 0 &&
        candidate.state === 'ready' &&
        candidate.restructurable &&
        this.replacing[candidate.instance] === undefined,
    );
  }

  /** What cluster placement needs of this host's fleet (with `coordination` only). */
  private placementFleet(): PlacementFleet {
    return {
      hasSpare: () => this.readySpare() !== undefined,
      adopt: async (shards, sessions) => {
        const spare = this.readySpare();
        if (spare === undefined) return false;
        await this.handover.adopt(spare, shards, sessions);
        return true;
      },
      drop: (shards, within) => this.handover.drop(shards, within),
    };
  }

  /** Discord closed a shard with 4011: reshard under `autoReshard`, else say what to do. */
  private shardingRequired(from: number, data: unknown): void {
    const shard = (data as { shardId?: unknown } | null)?.shardId;
    const what = `Discord closed shard ${String(shard)} (instance ${from}) with 4011: the bot needs more shards.`;
    if (!this.options.autoReshard) {
      this.logger.error(`${what} Call manager.reshard('auto'), or set autoReshard: true.`);
      return;
    }
    this.logger.warn(`${what} Resharding to Discord's recommendation (autoReshard).`);
    this.reshard('auto').catch((error: Error) =>
      this.logger.error(`Automatic reshard failed: ${error.message}`),
    );
  }

  /** `autoReshard`: reshards when Discord recommends more shards than run now. */
  private async checkRecommendation(): Promise<void> {
    if (this.resharding !== undefined || this.shuttingDown !== undefined) return;
    try {
      const info = await fetchGatewayBot({
        api: this.options.api,
        token: this.options.token,
        signal: this.stopSpawning.signal,
      });
      if (info.shards <= (this.totalShardCount ?? info.shards)) return;
      this.logger.warn(
        `Discord recommends ${info.shards} shard(s), ${this.totalShardCount} run: resharding (autoReshard).`,
      );
      await this.reshard(info.shards);
    } catch (error) {
      if (this.shuttingDown === undefined) {
        this.logger.error(`autoReshard could not check or reshard: ${(error as Error).message}`);
      }
    }
  }

  /**
   * An instance asked for a rolling restart (discord.js's `client.shard.respawnAll()`, say):
   * answered at once with the instances it replaces, started on the next turn so that the reply
   * leaves first. A request during a roll joins it.
   */
  private rollingRestartRequested(from: number): { instances: number[] } {
    if (this.rolling === undefined) {
      this.logger.log(`Instance ${from} asked for a rolling restart of the fleet.`);
      this.rolling = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.rollingRestart())
        .then((results) => {
          for (const result of results) {
            if (result.status === 'rejected') {
              this.logger.warn(
                `Rolling restart: instance ${result.instance} kept its running generation: ` +
                  result.reason.message,
              );
            }
          }
        })
        .finally(() => {
          this.rolling = undefined;
        });
    }
    return { instances: this.instances };
  }

  /**
   * Resolves when every one of `supervisors` (a new generation, a new fleet) is ready; rejects with
   * `failure(change)` as soon as one of them starts stopping instead: what is being started is
   * abandoned, not restarted. Stops watching either way.
   */
  private async allReadyOrFirstFailure(
    supervisors: InstanceSupervisor[],
    failure: (change: InstanceStatusChange) => Error,
  ): Promise<void> {
    let watch: Subscription | undefined;
    const failed = new Promise<never>((_, reject) => {
      watch = merge(...supervisors.map((supervisor) => supervisor.status$))
        .pipe(first((change) => change.to === 'stopping'))
        .subscribe({ next: (change) => reject(failure(change)), error: () => undefined });
    });
    try {
      await Promise.race([
        Promise.all(
          supervisors.map((supervisor) => supervisor.whenReady(this.options.readyTimeout)),
        ),
        failed,
      ]);
    } finally {
      watch?.unsubscribe();
    }
  }

  /**
   * Starts a new generation beside `current` and stops `current` once the new one runs its
   * shards: handed over with their sessions when `current` applies RESTRUCTURING; otherwise (a
   * discord.js `Client`, which cannot RESUME into an empty cache) the new generation IDENTIFYs
   * them itself, paced, and is ready before `current` lets go: an overlap instead of a gap.
   */
  private async replaceGracefully(current: InstanceSupervisor): Promise<void> {
    const index = current.instance;
    const handover = current.restructurable;
    const successor = this.supervise(
      index,
      handover ? [] : [...current.shards],
      current.status().generation,
    );
    this.successors.add(successor);
    // A new generation that fails before it is ready is not restarted: the roll of this instance
    // stops there, and the running generation keeps its shards.
    try {
      successor.start();
      await this.allReadyOrFirstFailure(
        [successor],
        (change) =>
          new ShardMoveError(current.shards, `instance ${index} (its running generation)`, {
            message: `the new generation failed: ${change.cause ?? change.reason ?? 'stopped'}`,
          }),
      );
      if (handover) await this.handover.replace(current, successor);
    } catch (error) {
      await successor.stop('graceful restart failed');
      throw error;
    } finally {
      this.successors.delete(successor);
    }
    // From here on the successor is the instance: requests, relays and status go to it. The old
    // generation answers what it was asked before (bounded by the request timeout), then stops.
    this.supervisors[index] = successor;
    // The old generation owns nothing any more: its stop cancels no identify wait of the new one.
    current.assignShards([]);
    this.handover.replaced(index, successor.shards);
    const answered = current.client?.whenIdle();
    if (answered !== undefined) await withTimeout(answered, this.options.requestTimeout);
    await current.stop('replaced by a new generation');
  }

  /**
   * Stops every instance (staged kill: DESTROYING, SIGTERM, SIGKILL), then removes the socket directory. Called by
   * Nest on application shutdown; safe to call more than once.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown ??= (async () => {
      clearInterval(this.recommendationTimer);
      this.stopSpawning.abort();
      await this.spawning?.catch(() => undefined);
      this.broker.close();
      const running = [...this.supervisors, ...this.successors];
      if (running.length > 0) this.logger.log(`Stopping ${running.length} instance(s).`);
      await Promise.all(running.map((supervisor) => supervisor.stop()));
      if (this.socketRoot !== undefined) await removeSocketRoot(this.socketRoot);
      if (running.length > 0) this.logger.log('Fleet stopped.');
    })();
    return this.shuttingDown;
  }

  private async spawnFleet(): Promise<void> {
    const options = this.options;
    let total = options.totalShards;
    let info: GatewayBotInfo | undefined;
    if (total === 'auto') {
      info = await fetchGatewayBot({
        api: options.api,
        token: options.token,
        signal: this.stopSpawning.signal,
      }).catch((error: unknown) => {
        throw this.shuttingDown === undefined ? error : new ManagerShutDownError();
      });
      total = info.shards;
      this.logger.log(`Discord recommends ${total} shard(s).`);
    }
    this.totalShardCount = total;
    const plan = planShards(total, options.shards, options.shardsPerInstance);
    // Shut down while the shard count was asked for: spawn nothing.
    if (this.shuttingDown !== undefined) throw new ManagerShutDownError();
    // Every socket path must fit before anything is spawned (a snowflake has at most 39 digits).
    const socketRoot = await createSocketRoot(options.socketRoot);
    this.socketRoot = socketRoot;
    socketPathFor(socketRoot, DEFAULT_APPSPACE, '9'.repeat(39));
    this.broker.start({
      totalShards: total,
      shards: plan.flat().length,
      gateway: info,
      maxConcurrency: options.maxConcurrency,
      window: options.identifyWindow + options.identifyMargin,
      api: options.api,
      token: options.token,
    });
    // Several hosts: IDENTIFY also waits for the cluster's gate, sessions go to Redis, and this
    // host's blocks of shards are leased before they start.
    if (options.coordination !== undefined) {
      await this.membership.join(options.coordination);
      await this.membership
        .place(
          this.placementFleet(),
          plan.flat(),
          total,
          this.stopSpawning.signal,
          this.localMessaging(),
        )
        .catch((error: unknown) => {
          throw this.shuttingDown === undefined ? error : new ManagerShutDownError();
        });
    }
    this.supervisorContext = {
      managerId: this.id,
      socketRoot,
      totalShards: total,
      options,
      spawner: MODE_SPAWNERS[options.mode],
      connect: ipcLinkConnector(options, this.logger),
      snowflakes: this.snowflakes,
      logger: this.logger,
      dispatchHandler: (supervisor) => this.instanceDispatchHandler(supervisor),
    };
    // Warm spares: instances with no shards, after the planned ones.
    const fleet = [...plan, ...Array.from({ length: options.spares }, (): number[] => [])];
    this.supervisors = fleet.map((shards, index) => this.supervise(index, shards));
    this.routes.reset(total, plan);
    this.logger.log(
      `Spawning ${plan.length} instance(s)${options.spares > 0 ? ` and ${options.spares} spare(s)` : ''} in ${options.mode} mode for ${plan.flat().length} of ${total} shard(s).`,
    );
    this.spawnedAt = Date.now();
    this.bootInTurn([...this.supervisors], options.bootConcurrency ?? availableParallelism());
    if (options.autoReshard) {
      this.recommendationTimer = setInterval(
        () => void this.checkRecommendation(),
        options.autoReshardInterval,
      );
      this.recommendationTimer.unref();
    }
  }

  /**
   * Starts `supervisors` in order (the plan's order is that of their first IDENTIFY slots: the
   * lowest shard ids first), at most `concurrency` booting at once: on few cores, instances that
   * all boot at once all finish late, and the first IDENTIFY waits for the whole storm. An
   * instance has booted once it is identified (its modules are loaded and its socket serves), or
   * has failed; the next one starts then, while the identify queue paces the first ones.
   */
  private bootInTurn(supervisors: InstanceSupervisor[], concurrency: number): void {
    const next = () => {
      const supervisor = supervisors.shift();
      if (supervisor === undefined || this.shuttingDown !== undefined) return;
      supervisor.status$
        .pipe(first((change) => change.to !== 'spawning' && change.to !== 'connecting'))
        .subscribe({ next, error: () => undefined });
      supervisor.start();
    };
    for (let started = 0; started < concurrency; started++) next();
  }

  /**
   * A supervisor for instance `index` (not started), whose streams feed the manager's. Each
   * supervisor owns its streams (completed when it stops); the manager's stay open.
   */
  private supervise(
    index: number,
    shards: number[],
    generationsBefore = 0,
    context = this.supervisorContext!,
  ): InstanceSupervisor {
    const supervisor = new InstanceSupervisor(index, shards, context, generationsBefore);
    supervisor.heartbeat$.subscribe((heartbeat) => this.heartbeats.next(heartbeat));
    supervisor.restart$.subscribe((restart) => {
      // Before its respawn (at least 1 ms away): a spare may take its shards first.
      this.failOver(supervisor);
      this.restarts.next(restart);
    });
    supervisor.status$.subscribe((change) => {
      // A dying instance's shards stop waiting for IDENTIFY slots: a slot granted to the dead
      // would be burnt.
      if (change.to === 'stopping') this.broker.cancelWaits(this.shardsOnlyIn(supervisor));
      if (change.to === 'gave-up') this.failOver(supervisor);
      if (change.to === 'ready') this.reportReady(supervisor, change.generation);
      this.statuses.next(change);
    });
    return supervisor;
  }

  /**
   * The shards of `supervisor` that no other running instance has: waits are kept by shard, and
   * a reshard's new fleet (or a graceful restart's new generation) waits for the same shards.
   */
  private shardsOnlyIn(supervisor: InstanceSupervisor): number[] {
    const others = [...this.supervisors, ...this.successors].filter(
      (other) => other !== supervisor && !['stopping', 'exited', 'gave-up'].includes(other.state),
    );
    return supervisor.shards.filter(
      (shard) => !others.some((other) => other.shards.includes(shard)),
    );
  }

  /** Logs an instance's readiness, and the whole fleet's the first time every instance is ready. */
  private reportReady(supervisor: InstanceSupervisor, generation: number): void {
    // A worker's pid is the manager's own: not worth a mention.
    const pid = this.options.mode === 'worker' ? undefined : supervisor.status().pid;
    this.logger.log(
      `Instance ${supervisor.instance} ready (generation ${generation}, ` +
        `${describeShards(supervisor.shards)}${pid === undefined ? '' : `, pid ${pid}`}).`,
    );
    const since = this.spawnedAt;
    if (since === undefined || this.supervisors.some((other) => other.state !== 'ready')) return;
    this.spawnedAt = undefined;
    const shards = this.supervisors.reduce((sum, other) => sum + other.shards.length, 0);
    this.logger.log(
      `Fleet ready: ${shards} shard(s) on ${this.supervisors.length} instance(s) ` +
        `in ${((Date.now() - since) / 1000).toFixed(1)} s.`,
    );
  }

  /**
   * Dispatches from an instance: the library's identify, session and gateway events go to the
   * broker, relays (they carry `to`) to their targets, and everything else to the `@OnDispatch`
   * handlers.
   */
  private instanceDispatchHandler(supervisor: SupervisedInstance): DispatchHandler {
    return (data, context) => {
      if (this.broker.handles(context.event)) {
        return this.broker.handle(context.event, data, (payload) =>
          this.ownShard(supervisor, payload),
        );
      }
      if (context.event === LibraryEvent.ROLLING_RESTART) {
        return this.rollingRestartRequested(supervisor.instance);
      }
      if (context.event === LibraryEvent.SHARDING_REQUIRED) {
        return this.shardingRequired(supervisor.instance, data);
      }
      // The supervisor has acted on CONNECTED; without a user handler there is nothing more to do,
      // and no failure to report.
      if (context.event === LibraryEvent.CONNECTED && !this.registry.has(context.event)) {
        return undefined;
      }
      return context.to === undefined
        ? this.registry.run(data, context)
        : this.relay(supervisor.instance, data, context);
    };
  }

  /** The `shardId` of a library event's data, checked to belong to the sending instance. */
  private ownShard(supervisor: SupervisedInstance, data: unknown): number {
    const shardId = (data as { shardId?: unknown } | null)?.shardId;
    if (!Number.isSafeInteger(shardId) || !supervisor.shards.includes(shardId as number)) {
      throw new UnknownInstanceError(`shard ${String(shardId)} in instance ${supervisor.instance}`);
    }
    return shardId as number;
  }

  private async relay(from: number, data: unknown, context: DispatchContext): Promise<unknown> {
    const targets = this.resolveTarget(context.to!);
    const options: ManagerCallOptions = { whenNotReady: 'wait' };
    if (!context.isRequest) {
      await Promise.allSettled(
        targets.map((target) => this.send(target, context.event, data, options)),
      );
      return undefined;
    }
    const single = !Array.isArray(context.to) && context.to !== 'all';
    if (single) return this.request(targets[0]!, context.event, data, options);
    this.logger.verbose?.(
      `Relaying "${context.event}" from instance ${from} to ${targets.length} instance(s).`,
    );
    const results = await this.requestMany(targets, context.event, data, options);
    return results.map((result): RelayedInstanceResult =>
      result.status === 'fulfilled' ? result : { ...result, reason: serializeError(result.reason) },
    );
  }

  private resolveTarget(target: DispatchTarget): number[] {
    if (target === 'all') return this.instances;
    if (Array.isArray(target)) {
      for (const index of target) this.supervisor(index);
      return target;
    }
    if ('shard' in target) return [this.instanceForShard(target.shard)];
    return [this.instanceForGuild(target.guild)];
  }

  private async requestMany<T>(
    instances: number[],
    event: string,
    data: unknown,
    options: ManagerCallOptions,
  ): Promise<InstanceResult<T>[]> {
    const targets =
      options.whenNotReady === 'skip'
        ? instances.filter((index) => this.supervisor(index).state === 'ready')
        : instances;
    const settled = await Promise.allSettled(
      targets.map((index) => this.request<T>(index, event, data, options)),
    );
    return settled.map((result, position) =>
      result.status === 'fulfilled'
        ? { instance: targets[position]!, status: 'fulfilled', value: result.value }
        : { instance: targets[position]!, status: 'rejected', reason: result.reason as Error },
    );
  }

  /**
   * The identified link of `instance`: in the same turn when it is ready, so that a graceful
   * replacement cannot retire it between this lookup and the call made on it (the retired
   * generation answers what it was asked before it stops); else once it is ready, looked up again.
   */
  private readyClient(
    instance: number,
    options: ManagerCallOptions,
  ): IpcClient | Promise<IpcClient> {
    const supervisor = this.supervisor(instance);
    if (supervisor.state !== 'ready') {
      if ((options.whenNotReady ?? 'wait') !== 'wait') {
        throw new InstanceNotReadyError(instance, supervisor.state);
      }
      return supervisor
        .whenReady(options.timeout ?? this.options.requestTimeout)
        .then(() => this.readyClient(instance, { ...options, whenNotReady: 'fail' }));
    }
    const client = supervisor.client;
    if (client === undefined || client.state !== 'identified') {
      throw new InstanceNotReadyError(instance, supervisor.state);
    }
    return client;
  }

  private supervisor(instance: number): InstanceSupervisor {
    const supervisor = this.supervisors[instance];
    if (supervisor === undefined) throw new UnknownInstanceError(`index ${instance}`);
    return supervisor;
  }
}

/** `shards 0-3` for a contiguous set, `shards 0, 4, 8` otherwise, `no shards` when empty. */
function describeShards(shards: readonly number[]): string {
  if (shards.length === 0) return 'no shards';
  const lowest = shards[0]!;
  const last = shards.at(-1)!;
  if (shards.length > 2 && last - lowest === shards.length - 1) return `shards ${lowest}-${last}`;
  return `shard(s) ${shards.join(', ')}`;
}

/** Waits for `promise`, at most `ms` ms (then goes on; the promise is left to settle alone). */
async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
