/** Where a cluster-wide request goes: the instance, on any host, that runs a shard or a guild. */
export type ClusterTarget = { shard: number } | { guild: string | bigint };

/** Options of a cluster-wide call on `ShardingManager` (`request`, `broadcastRequest`). */
export interface ClusterCallOptions {
  /** Address the instances of every host of the cluster, through Redis. */
  scope: 'cluster';
  /** Time limit in ms. Default: `requestTimeout` (15000). */
  timeout?: number;
}

/** Where a shard or guild runs in the cluster (`instanceForGuild(guild, { scope: 'cluster' })`). */
export interface ClusterLocation {
  /** The host that holds the shard's block now. */
  hostId: string;
  /** The shard. */
  shard: number;
  /** The epoch of the host's lease on the block. */
  epoch: number;
}
