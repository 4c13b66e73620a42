import type { Logger } from '@nestjs/common';
import type { ResolvedCoordinationOptions } from './coordination-options.interface.js';
import { ClusterIdentifyGate, type BudgetSeed } from './cluster-identify.gate.js';
import type { ClusterHostsView } from './cluster-hosts.view.js';
import { ClusterSessionStore } from './cluster-session.store.js';
import { ClusterMessenger, type LocalMessaging } from './cluster.messenger.js';
import { NoClusterError } from './coordination.errors.js';
import { HostPlacement, type PlacementFleet } from './host-placement.js';
import { RedisConnection } from './redis.connection.js';

/** What the identify broker knows of the fleet's pacing when it joins the cluster. */
export interface ClusterPacing {
  /** Buckets: `shard_id % maxConcurrency`. */
  maxConcurrency: number;
  /** One IDENTIFY per bucket per this many ms, margin included. */
  window: number;
  /** What this host knows of the daily budget now; undefined: unknown. */
  budgetSeed: () => BudgetSeed | undefined;
}

/** Longest wait before asking an unreachable Redis again, in ms. */
const MAX_RETRY_DELAY = 1_000;

/**
 * This host's membership of a cluster of hosts running one fleet: its Redis connection, the
 * identify gate all hosts share, the sessions store any host can RESUME from, and the placement
 * of its shards by block leases.
 */
export class ClusterCoordination {
  private placement: HostPlacement | undefined;
  /** Requests to and from the other hosts, once placed with a `local` fleet. */
  messenger: ClusterMessenger | undefined;

  private constructor(
    readonly options: ResolvedCoordinationOptions,
    readonly connection: RedisConnection,
    readonly gate: ClusterIdentifyGate,
    readonly sessions: ClusterSessionStore,
    private readonly pacing: ClusterPacing,
    private readonly logger: Logger,
    private readonly view: ClusterHostsView | undefined,
  ) {}

  /**
   * Connects (loading ioredis) and builds the shared gate and session store. `view`, when
   * given, is kept up to date with the cluster's hosts and their blocks.
   */
  static async open(
    options: ResolvedCoordinationOptions,
    pacing: ClusterPacing,
    logger: Logger,
    view?: ClusterHostsView,
  ): Promise<ClusterCoordination> {
    const connection = await RedisConnection.open(options, logger);
    const gate = new ClusterIdentifyGate(
      connection,
      {
        maxConcurrency: pacing.maxConcurrency,
        window: pacing.window,
        // A grant whose IDENTIFY-sent report never comes (its host died) shuts its bucket one
        // more window at most, as on a single host.
        hold: 2 * pacing.window,
        hostId: options.hostId,
        budgetSeed: pacing.budgetSeed,
        retryDelay: Math.min(pacing.window, MAX_RETRY_DELAY),
      },
      logger,
    );
    const sessions = new ClusterSessionStore(connection, logger);
    logger.log(`Joined cluster "${options.cluster}" as host "${options.hostId}".`);
    view?.join(options.hostId);
    return new ClusterCoordination(options, connection, gate, sessions, pacing, logger, view);
  }

  /**
   * Places this host's shards by block leases: resolves once it holds the blocks of `shards`
   * (its planned ones), then keeps them, stops those it loses (`fleet.drop`), and takes over
   * with its spares the blocks of hosts that are gone (`fleet.adopt`). `signal` ends the wait
   * for blocks held by others. With `local`, it also answers other hosts' requests with this
   * host's instances and can address theirs ({@link messenger}). Runs once.
   */
  async place(
    fleet: PlacementFleet,
    shards: readonly number[],
    totalShards: number,
    signal: AbortSignal,
    local?: LocalMessaging,
  ): Promise<void> {
    if (this.placement !== undefined) return;
    this.placement = new HostPlacement(
      this.connection,
      this.sessions,
      {
        totalShards,
        blockSize: this.pacing.maxConcurrency,
        leaseTtl: this.options.leaseTtl,
        hostId: this.options.hostId,
      },
      fleet,
      this.logger,
      this.view,
    );
    await this.placement.claim(shards, signal);
    this.placement.start();
    if (local !== undefined && this.view !== undefined) {
      this.messenger = await ClusterMessenger.open(
        this.connection,
        this.placement,
        this.view,
        local,
        this.logger,
      );
    }
  }

  /** Leaves the cluster: stops the gate and closes the connection if this host opened it. */
  async close(): Promise<void> {
    this.messenger?.close(new NoClusterError());
    await this.placement?.close();
    this.gate.close();
    await this.connection.close();
  }
}
