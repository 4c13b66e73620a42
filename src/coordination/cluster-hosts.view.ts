import { Subject, type Observable } from 'rxjs';
import type { BlockState } from './block-lease.store.js';

/** One host of the cluster, as the block leases in Redis show it. */
export interface ClusterHost {
  /** Its `coordination.hostId`. */
  hostId: string;
  /** Whether it is this manager's host. */
  self: boolean;
  /** The blocks it holds the leases of, in order. */
  blocks: number[];
  /** The shards of those blocks, in order. */
  shards: number[];
  /** The blocks it asked their holders to hand over to it (a joining host). */
  requested: number[];
}

/** The shape of the fleet's blocks: `blockSize` shards each, `totalShards` in all. */
export interface BlockShape {
  blockSize: number;
  totalShards: number;
}

/**
 * The cluster's hosts and their blocks, from this host's surveys of the leases (every third of
 * the lease TTL), for the operator: `ShardingManager.hosts()` and `hosts$`. A host appears while
 * it holds or asks for a block; this host always appears once it joined.
 */
export class ClusterHostsView {
  private list: ClusterHost[] = [];
  private key = '';
  private joined: string | undefined;
  private readonly changes = new Subject<ClusterHost[]>();

  /** The hosts each time a survey finds a change (a host joined or left, a block moved). */
  readonly hosts$: Observable<ClusterHost[]> = this.changes.asObservable();

  /** This host's id once it joined a cluster; undefined without `coordination`. */
  get hostId(): string | undefined {
    return this.joined;
  }

  /** The hosts as last surveyed (empty without `coordination`). */
  current(): ClusterHost[] {
    return this.list.map((host) => ({
      ...host,
      blocks: [...host.blocks],
      shards: [...host.shards],
      requested: [...host.requested],
    }));
  }

  /** Records that this host joined as `hostId` (it shows with no blocks until a survey). */
  join(hostId: string): void {
    this.joined = hostId;
    this.publish([{ hostId, self: true, blocks: [], shards: [], requested: [] }]);
  }

  /** Records a survey of every block's lease. */
  update(states: readonly BlockState[], shape: BlockShape): void {
    const me = this.joined;
    const hosts = new Map<string, ClusterHost>();
    const host = (hostId: string) => {
      let entry = hosts.get(hostId);
      if (entry === undefined) {
        entry = { hostId, self: hostId === me, blocks: [], shards: [], requested: [] };
        hosts.set(hostId, entry);
      }
      return entry;
    };
    if (me !== undefined) host(me);
    for (const state of states) {
      if (state.holder !== undefined) {
        const holder = host(state.holder);
        holder.blocks.push(state.block);
        const first = state.block * shape.blockSize;
        const last = Math.min(first + shape.blockSize, shape.totalShards);
        for (let shard = first; shard < last; shard++) holder.shards.push(shard);
      }
      if (state.requestedBy !== undefined) host(state.requestedBy).requested.push(state.block);
    }
    this.publish([...hosts.values()].toSorted((a, b) => a.hostId.localeCompare(b.hostId)));
  }

  /** Completes {@link hosts$}. */
  close(): void {
    this.changes.complete();
  }

  private publish(hosts: ClusterHost[]): void {
    const key = JSON.stringify(hosts);
    if (key === this.key) return;
    this.key = key;
    this.list = hosts;
    this.changes.next(this.current());
  }
}
