import type { Logger } from '@nestjs/common';
import type { ResolvedCoordinationOptions } from './coordination-options.interface.js';
import { ClusterIdentifyGate, type BudgetSeed } from './cluster-identify.gate.js';
import { ClusterSessionStore } from './cluster-session.store.js';
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
 * identify gate all hosts share, and the sessions store any host can RESUME from.
 */
export class ClusterCoordination {
  private constructor(
    readonly options: ResolvedCoordinationOptions,
    readonly connection: RedisConnection,
    readonly gate: ClusterIdentifyGate,
    readonly sessions: ClusterSessionStore,
  ) {}

  /** Connects (loading ioredis) and builds the shared gate and session store. */
  static async open(
    options: ResolvedCoordinationOptions,
    pacing: ClusterPacing,
    logger: Logger,
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
    return new ClusterCoordination(options, connection, gate, sessions);
  }

  /** Leaves the cluster: stops the gate and closes the connection if this host opened it. */
  async close(): Promise<void> {
    this.gate.close();
    await this.connection.close();
  }
}
