/**
 * The Redis commands the coordination uses, all through ioredis' generic `call`: an ioredis
 * `Redis` (or `Cluster`) instance fits.
 */
export interface CoordinationRedisClient {
  /** Sends one command and resolves with its reply. */
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
}

/**
 * Several hosts running one fleet, coordinated through Redis (the README's "Several machines"):
 * every host's manager sets the same `redis` and `cluster`. Needs the optional peer `ioredis`,
 * loaded only when this option is set.
 */
export interface CoordinationOptions {
  /**
   * Where Redis is: an ioredis connection URL (`redis://…`, `rediss://…`) or a Unix socket path,
   * ioredis `RedisOptions`, or a connected ioredis instance (this host keeps using it and does
   * not close it). Required.
   */
  redis: string | Readonly<Record<string, unknown>> | CoordinationRedisClient;
  /** The fleet's name: hosts with the same name share identify gates and sessions. Required. */
  cluster: string;
  /** This host's name in the cluster, unique among its hosts. Default: `<hostname>:<pid>`. */
  hostId?: string;
  /** How long a host's hold on its shards lasts without renewal, in ms. Default 15000. */
  leaseTtl?: number;
}

/** {@link CoordinationOptions} with the defaults filled in. */
export interface ResolvedCoordinationOptions {
  redis: CoordinationOptions['redis'];
  cluster: string;
  hostId: string;
  leaseTtl: number;
}
