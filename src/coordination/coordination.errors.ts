import { ShardingError } from '../errors/sharding.error.js';

/** `coordination` is set but the optional peer `ioredis` is not installed. */
export class MissingRedisClientError extends ShardingError {
  constructor(cause?: unknown) {
    super(
      'ERR_SHARDING_MISSING_PEER',
      'The coordination option needs the package "ioredis", which is not installed. It is an ' +
        'optional peer dependency: add it to your dependencies (npm install ioredis).',
      { cause },
    );
  }
}

/** A cluster-wide call (`scope: 'cluster'`) on a manager without `coordination`, or not joined yet. */
export class NoClusterError extends ShardingError {
  constructor() {
    super(
      'ERR_SHARDING_NO_CLUSTER',
      "A call with scope 'cluster' needs the coordination option, and a fleet that has spawned " +
        '(await manager.spawn() first).',
    );
  }
}

/**
 * No live host holds the target of a cluster-wide request: no lease covers its shard, its host
 * is not listening (dead, or cut off from Redis), it left the cluster while the request waited,
 * or it lost the shard's lease before it could answer (its answer would come from a fenced
 * generation, so none is given).
 */
export class ClusterTargetGoneError extends ShardingError {
  constructor(what: string, why: string) {
    super(
      'ERR_SHARDING_CLUSTER_TARGET_GONE',
      `No live host holds ${what}: ${why}. Retry once its blocks have been taken over.`,
    );
  }
}
