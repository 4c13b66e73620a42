import { DISCORD_IDENTIFY_WINDOW } from '../common/discord.constants.js';
import { IPC_DEFAULTS } from '../ipc/ipc.constants.js';
import type { ManagerLostPolicy } from './sharding-options.interface.js';
import type { ReadyWhen, RestartOptions, ShardingMode } from './sharding-options.interface.js';

/**
 * The defaults of `ShardingModule`'s options, every one that is a fixed value (the
 * README's options table, row for row). Options missing here have none or a computed one: `file`
 * (`process.argv[1]`), `token` (`process.env.DISCORD_TOKEN`), `shards` (all), `maxConcurrency`
 * (Discord's answer, else 1), `socketRoot` (the system's temporary directory) and
 * `bootConcurrency` (the cores available). `role` is
 * not an option but an extra of `forRoot`/`forRootAsync` (detected by default). Frozen: read
 * it, do not change it.
 */
export const SHARDING_DEFAULTS = Object.freeze({
  /** How often HELLO is repeated until IDENTIFY, in ms. */
  helloInterval: IPC_DEFAULTS.helloInterval,
  /** How long an instance has from spawn to IDENTIFY, in ms. */
  helloTimeout: IPC_DEFAULTS.helloTimeout,
  /** How often instances send HEARTBEAT, in ms. */
  heartbeatInterval: IPC_DEFAULTS.heartbeatInterval,
  /** Silent heartbeat intervals after which either side is taken for dead. */
  missedHeartbeats: IPC_DEFAULTS.missedHeartbeats,
  /** Default timeout of requests, in ms. */
  requestTimeout: IPC_DEFAULTS.requestTimeout,
  /** Backoff of 1 s doubling to 60 s, ±20%; at most 5 restarts in 10 minutes, then `gave-up`. */
  restart: Object.freeze({
    initialDelay: 1_000,
    maxDelay: 60_000,
    multiplier: 2,
    jitter: 0.2,
    maxRestarts: 5,
    window: 600_000,
  } satisfies Required<RestartOptions>),
  /** Grace of each kill stage (DESTROYING, then SIGTERM, then SIGKILL), in ms. */
  killGrace: 5_000,
  /** Discord's window of one IDENTIFY per bucket, in ms. */
  identifyWindow: DISCORD_IDENTIFY_WINDOW,

  /** Extra spacing between two IDENTIFYs of one bucket, in ms. */
  identifyMargin: 100,
  /** How instances run. */
  mode: 'process' as ShardingMode,
  /** The bot's total shard count. */
  totalShards: 1 as number | 'auto',
  /** Warm spares: instances with no shards, ready to take a dead instance's shards. */
  spares: 0,
  /** Shards per instance. */
  shardsPerInstance: 1,
  /** Discord API base URL, for `totalShards: 'auto'`. */
  api: 'https://discord.com/api/v10',
  /** How long an instance has from IDENTIFY to ready (CONNECTED), in ms. */
  readyTimeout: 300_000,
  /** Extra environment variables for instances. */
  env: Object.freeze({}) as Readonly<Record<string, string>>,
  /** Extra Node options for instances. */
  execArgv: Object.freeze([]) as readonly string[],
  /** Whether instances are spawned when the manager's application bootstraps. */
  spawnOnBootstrap: true,
  /** Whether the manager reshards by itself (4011, or a higher recommendation). */
  autoReshard: false,
  /** How often `autoReshard` asks Discord for its recommendation, in ms. */
  autoReshardInterval: 3_600_000,
  /** Instance side: what to do when the manager is lost (stop, so no orphan is left). */
  onManagerLost: 'exit' as ManagerLostPolicy,
  /** Instance side: when the instance reports ready. */
  readyWhen: 'bootstrap' as ReadyWhen,
});
