import type { CoordinationOptions } from '../coordination/coordination-options.interface.js';
/**
 * What an instance does when it loses its manager: `'exit'` stops it (no orphans), `'continue'`
 * keeps it running and serving so that a manager with the same id can reconnect.
 */
export type ManagerLostPolicy = 'exit' | 'continue';

/** How instances are run. */
export type ShardingMode = 'process' | 'worker' | 'cluster';

/** When an instance tells its manager it is ready (the CONNECTED dispatch). */
export type ReadyWhen = 'bootstrap' | 'manual';

/** The restart policy of instances that die. */
export interface RestartOptions {
  /** First delay before a restart, in ms. Default 1000. */
  initialDelay?: number;
  /** Largest delay, in ms. Default 60000. */
  maxDelay?: number;
  /** Factor applied to the delay after each restart in a row. Default 2. */
  multiplier?: number;
  /** Random spread of each delay, as a fraction (0.2 = ±20%). Default 0.2. */
  jitter?: number;
  /** Restarts allowed within `window` before the instance is given up. Default 5. */
  maxRestarts?: number;
  /** The window of `maxRestarts`, in ms. Default 600000 (10 minutes). */
  window?: number;
}

/**
 * The live status page the manager serves over HTTP (`statusPage`): the fleet as a page, as
 * `/status.json` and as server-sent events, plus restart actions that need `token`.
 */
export interface StatusPageOptions {
  /** The TCP port (0: any free port; `StatusPageServer.url` says which). Required. */
  port: number;
  /**
   * The address to listen on. Default `'127.0.0.1'` (this machine only). Any other address needs
   * `token`.
   */
  host?: string;
  /**
   * The secret every request must carry (`Authorization: Bearer`, or once `?token=`, kept in a
   * cookie), and without which no action (restart) is allowed. Default none: the page is
   * read-only, and only on a loopback `host`.
   */
  token?: string;
}

/** Options of `ShardingModule.forRoot()`. All are optional. */
export interface ShardingModuleOptions {
  /** How instances run: child processes, worker threads or cluster workers. Default `'process'`. */
  mode?: ShardingMode;
  /** The entry file each instance runs. Default: the manager's own entry (`process.argv[1]`). */
  file?: string;
  /**
   * The bot's total shard count, or `'auto'` to ask Discord (`GET {api}/gateway/bot`, which
   * needs `token`). Default 1.
   */
  totalShards?: number | 'auto';
  /** The shard ids this manager runs (a subset of 0..totalShards-1). Default: all of them. */
  shards?: number[];
  /**
   * Warm spares: instances started with no shards, beside the planned ones. When an instance dies
   * or hangs, a ready spare takes its shards at once (RESTRUCTURING with their sessions: they
   * RESUME) and the dead instance comes back with no shards, as the new spare. Needs instances
   * that apply RESTRUCTURING (the `@discordjs/ws` adapter's `attach`). Default 0.
   */
  spares?: number;
  /** Shards per instance, in contiguous chunks. Default 1. */
  shardsPerInstance?: number;
  /**
   * Bot token, for `totalShards: 'auto'` (without one, the manager's start fails with
   * `MissingTokenError` and Discord is not asked). Default `process.env.DISCORD_TOKEN`.
   */
  token?: string;
  /**
   * Discord API base URL, for `totalShards: 'auto'` (and the `/gateway/bot` facts the manager gives
   * `@discordjs/ws` instances). discord.js's form (`https://discord.com/api`, its `rest.api`) and a
   * versioned one (`…/api/v10`) both work: a base ending in `/api` gets `/v10`. Default
   * `'https://discord.com/api/v10'`.
   */
  api?: string;
  /**
   * IDENTIFYs Discord allows at once (`max_concurrency`). Default: Discord's answer when
   * `totalShards` is `'auto'`, else 1.
   */
  maxConcurrency?: number;
  /** Discord's window of one IDENTIFY per bucket, in ms. Default 5000. */
  identifyWindow?: number;
  /**
   * Extra spacing between two IDENTIFYs of one bucket, in ms. A bucket's next window runs from
   * the instance's report that it sent its IDENTIFY (not from the grant), so a busy instance's
   * stalls are already counted: the margin covers the wire to Discord. Default 100.
   */
  identifyMargin?: number;
  /** How often instances send HEARTBEAT, in ms. Default 5000. */
  heartbeatInterval?: number;
  /** Silent heartbeat intervals after which either side is taken for dead. Default 3. */
  missedHeartbeats?: number;
  /** How often HELLO is repeated until IDENTIFY, in ms. Default 1000. */
  helloInterval?: number;
  /** How long an instance has from spawn to IDENTIFY, in ms. Default 30000. */
  helloTimeout?: number;
  /** How long an instance has from IDENTIFY to ready (CONNECTED), in ms. Default 300000. */
  readyTimeout?: number;
  /** Default timeout of requests, in ms. Default 15000. */
  requestTimeout?: number;
  /** The restart policy. */
  restart?: RestartOptions;
  /** Grace of each stage of a kill (DESTROYING, then SIGTERM, then SIGKILL), in ms. Default 5000. */
  killGrace?: number;
  /**
   * Parent of the manager's private socket directory (`nss-…`, mode 0700, with an `.owner` file
   * naming the manager's process). A starting manager removes the directories there of managers
   * that ended without a shutdown (SIGKILL, a crash). Default: the system's temporary directory.
   * Keep it short: socket paths must fit 107 bytes.
   */
  socketRoot?: string;
  /** Extra environment variables for instances. Default none. */
  env?: Record<string, string>;
  /**
   * Extra Node options for instances (e.g. `['--max-old-space-size=512']`), after the manager's
   * own. In `worker` mode they replace the manager's (as `Worker`'s `execArgv` does), and only
   * options a thread accepts may be given. Default: none.
   */
  execArgv?: string[];
  /**
   * How many instances boot at once at start-up; each next one starts when one has booted
   * (identified, or failed), in the order of their first IDENTIFY slots. Default: the cores
   * available (`os.availableParallelism()`).
   */
  bootConcurrency?: number;
  /** Spawn instances when the manager's application bootstraps. Default `true`. */
  spawnOnBootstrap?: boolean;
  /**
   * Reshard by itself (`ShardingManager.reshard('auto')`) when a shard is closed with 4011
   * (sharding required), and when Discord's recommendation (`GET /gateway/bot`, asked every
   * `autoReshardInterval`) exceeds the running total. Needs `token`. Default `false`.
   */
  autoReshard?: boolean;
  /** How often `autoReshard` asks Discord for its recommendation, in ms. Default 3600000 (1 h). */
  autoReshardInterval?: number;
  /**
   * Manager side: serve a live status page of the fleet (see {@link StatusPageOptions}). Default
   * none (off).
   */
  statusPage?: StatusPageOptions;
  /**
   * Run one fleet across several hosts, coordinated through Redis: IDENTIFY paced by gates all
   * hosts share, one daily session budget, sessions any host can RESUME. Needs the optional peer
   * `ioredis`, loaded only when this is set. Default: none (this host runs alone).
   */
  coordination?: CoordinationOptions;
  /** Instance side: what to do when the manager is lost. Default `'exit'`. */
  onManagerLost?: ManagerLostPolicy;
  /** Instance side: when the instance reports ready. Default `'bootstrap'`. */
  readyWhen?: ReadyWhen;
}
