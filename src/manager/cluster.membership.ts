import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { IdentifyBroker } from '../discord/identify.broker.js';
import { ClusterCoordination } from '../coordination/cluster.coordination.js';
import { ClusterHostsView } from '../coordination/cluster-hosts.view.js';
import type { ClusterMessenger, LocalMessaging } from '../coordination/cluster.messenger.js';
import type { CoordinationOptions } from '../coordination/coordination-options.interface.js';
import { resolveCoordination } from '../coordination/coordination.defaults.js';
import type { PlacementFleet } from '../coordination/host-placement.js';

/**
 * The manager's membership of the cluster of hosts that `coordination` names: joining it (the
 * identify broker then paces IDENTIFY at the cluster's gate too and keeps sessions in Redis),
 * the placement of this host's shards by block leases, the cluster's hosts, and the messenger to
 * the other hosts. Idle without `coordination`.
 */
@Injectable()
export class ClusterMembership implements OnApplicationShutdown {
  /** The cluster of hosts this manager belongs to, once joined. */
  private cluster: ClusterCoordination | undefined;
  /** The cluster's hosts and their blocks, once joined (empty without `coordination`). */
  readonly hosts = new ClusterHostsView();

  constructor(private readonly broker: IdentifyBroker) {}

  /**
   * Joins the cluster of hosts that `coordination` names, once the broker has started: from then
   * on a shard IDENTIFYs only once the cluster's gate for its bucket lets it too, and sessions
   * are kept in Redis for every host. Loads ioredis; runs once.
   */
  async join(coordination: CoordinationOptions): Promise<void> {
    const pacing = this.broker.clusterPacing();
    if (this.cluster !== undefined || pacing === undefined) return;
    this.cluster = await ClusterCoordination.open(
      resolveCoordination(coordination),
      pacing,
      // Its own context: the cluster's lines (gate, leases, handovers) are not the queue's.
      new Logger('ShardingCluster'),
      this.hosts,
    );
    this.broker.useCluster(this.cluster);
  }

  /**
   * Once in a cluster: resolves when this host holds the blocks of `shards` (its planned ones),
   * and from then on places its shards by block leases (see `ClusterCoordination.place`);
   * `signal` ends the wait. Nothing to do outside a cluster.
   */
  async place(
    fleet: PlacementFleet,
    shards: readonly number[],
    totalShards: number,
    signal: AbortSignal,
    local?: LocalMessaging,
  ): Promise<void> {
    await this.cluster?.place(fleet, shards, totalShards, signal, local);
  }

  /** Requests to the other hosts of the cluster, once placed (undefined outside a cluster). */
  get messenger(): ClusterMessenger | undefined {
    return this.cluster?.messenger;
  }

  /**
   * Leaves the cluster: after the manager stopped its instances (`beforeApplicationShutdown`),
   * so that its leases are freed only once their shards no longer run here.
   */
  async onApplicationShutdown(): Promise<void> {
    const cluster = this.cluster;
    this.cluster = undefined;
    this.broker.useCluster(undefined);
    await cluster?.close();
    this.hosts.close();
  }
}
