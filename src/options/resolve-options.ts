import { withoutUndefined } from '../common/without-undefined.js';
import { IPC_DEFAULTS } from '../ipc/ipc.constants.js';
import type { ManagerLostPolicy } from '../ipc/ipc.server.js';
import { InvalidShardingOptionError } from './invalid-option.error.js';
import type {
  ReadyWhen,
  RestartOptions,
  ShardingMode,
  ShardingModuleOptions,
} from './sharding-options.interface.js';

/** The options with every default filled in and every value checked. */
export interface ResolvedShardingOptions {
  role: ShardingModuleOptions['role'];
  mode: ShardingMode;
  file: string;
  totalShards: number | 'auto';
  shards: number[] | undefined;
  shardsPerInstance: number;
  token: string | undefined;
  api: string;
  maxConcurrency: number | undefined;
  identifyWindow: number;
  identifyMargin: number;
  heartbeatInterval: number;
  missedHeartbeats: number;
  helloInterval: number;
  helloTimeout: number;
  readyTimeout: number;
  requestTimeout: number;
  restart: Required<RestartOptions>;
  killGrace: number;
  socketRoot: string | undefined;
  env: Record<string, string>;
  execArgv: string[];
  spawnOnBootstrap: boolean;
  onManagerLost: ManagerLostPolicy;
  readyWhen: ReadyWhen;
}

/** Defaults of the options (DESIGN.md section 7). */
export const SHARDING_DEFAULTS = {
  mode: 'process' as ShardingMode,
  totalShards: 1,
  shardsPerInstance: 1,
  api: 'https://discord.com/api/v10',
  readyTimeout: 300_000,
  killGrace: 5_000,
  identifyWindow: 5_000,
  identifyMargin: 100,
  restart: {
    initialDelay: 1_000,
    maxDelay: 60_000,
    multiplier: 2,
    jitter: 0.2,
    maxRestarts: 5,
    window: 600_000,
  } satisfies Required<RestartOptions>,
};

const positiveInteger = (option: string, value: unknown): number => {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new InvalidShardingOptionError(option, value, 'a positive integer');
  }
  return value as number;
};

const nonNegativeInteger = (option: string, value: unknown): number => {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new InvalidShardingOptionError(option, value, 'an integer >= 0');
  }
  return value as number;
};

const oneOf = <T extends string>(option: string, value: unknown, allowed: readonly T[]): T => {
  if (!allowed.includes(value as T)) {
    throw new InvalidShardingOptionError(
      option,
      value,
      `one of ${allowed.map((a) => `'${a}'`).join(', ')}`,
    );
  }
  return value as T;
};

/** Checks `options` and fills in the defaults; throws {@link InvalidShardingOptionError}. */
export function resolveShardingOptions(
  options: ShardingModuleOptions = {},
): ResolvedShardingOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidShardingOptionError('options', options, 'an object');
  }
  const pick = <K extends keyof ShardingModuleOptions>(key: K) => options[key];
  const optionalInteger = (key: keyof ShardingModuleOptions, fallback: number) =>
    pick(key) === undefined ? fallback : positiveInteger(key, pick(key));

  const role =
    pick('role') === undefined ? undefined : oneOf('role', pick('role'), ['manager', 'instance']);
  const totalShards =
    pick('totalShards') === undefined
      ? SHARDING_DEFAULTS.totalShards
      : pick('totalShards') === 'auto'
        ? 'auto'
        : positiveInteger('totalShards', pick('totalShards'));
  const shards = pick('shards');
  if (shards !== undefined) {
    if (
      !Array.isArray(shards) ||
      shards.length === 0 ||
      !shards.every((id) => Number.isSafeInteger(id) && id >= 0)
    ) {
      throw new InvalidShardingOptionError(
        'shards',
        shards,
        'a non-empty array of shard ids (integers >= 0)',
      );
    }
    if (new Set(shards).size !== shards.length) {
      throw new InvalidShardingOptionError('shards', shards, 'free of duplicates');
    }
    if (typeof totalShards === 'number' && shards.some((id) => id >= totalShards)) {
      throw new InvalidShardingOptionError(
        'shards',
        shards,
        `shard ids below totalShards (${totalShards})`,
      );
    }
  }
  const file = pick('file') ?? process.argv[1];
  if (typeof file !== 'string' || file.length === 0) {
    throw new InvalidShardingOptionError('file', file, 'the path of the instance entry file');
  }
  const restart = { ...SHARDING_DEFAULTS.restart, ...withoutUndefined(pick('restart') ?? {}) };
  for (const key of ['initialDelay', 'maxDelay', 'maxRestarts', 'window'] as const) {
    positiveInteger(`restart.${key}`, restart[key]);
  }
  if (restart.maxDelay < restart.initialDelay) {
    throw new InvalidShardingOptionError(
      'restart.maxDelay',
      restart.maxDelay,
      `at least restart.initialDelay (${restart.initialDelay})`,
    );
  }
  if (typeof restart.multiplier !== 'number' || !(restart.multiplier >= 1)) {
    throw new InvalidShardingOptionError('restart.multiplier', restart.multiplier, 'a number >= 1');
  }
  if (typeof restart.jitter !== 'number' || !(restart.jitter >= 0 && restart.jitter < 1)) {
    throw new InvalidShardingOptionError(
      'restart.jitter',
      restart.jitter,
      'a fraction from 0 to below 1',
    );
  }
  const env = pick('env') ?? {};
  if (typeof env !== 'object' || env === null || Array.isArray(env)) {
    throw new InvalidShardingOptionError(
      'env',
      Array.isArray(env) ? 'an array' : env,
      'an object of string values',
    );
  }
  for (const [key, value] of Object.entries(env)) {
    // Name only the bad entry: the others may be secrets.
    if (typeof value !== 'string') {
      const kind =
        value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
      throw new InvalidShardingOptionError(`env.${key}`, kind, 'a string');
    }
  }
  const execArgv = pick('execArgv') ?? [];
  if (!Array.isArray(execArgv) || execArgv.some((arg) => typeof arg !== 'string')) {
    throw new InvalidShardingOptionError('execArgv', execArgv, 'an array of strings');
  }
  const socketRoot = pick('socketRoot');
  if (socketRoot !== undefined && (typeof socketRoot !== 'string' || socketRoot.length === 0)) {
    throw new InvalidShardingOptionError('socketRoot', socketRoot, 'a directory path');
  }
  const api = pick('api') ?? SHARDING_DEFAULTS.api;
  if (typeof api !== 'string' || !/^https?:\/\//.test(api)) {
    throw new InvalidShardingOptionError('api', api, 'an http(s) URL');
  }
  const token = pick('token') ?? process.env.DISCORD_TOKEN;
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) {
    throw new InvalidShardingOptionError('token', '(hidden)', 'a non-empty string');
  }
  const spawnOnBootstrap = pick('spawnOnBootstrap') ?? true;
  if (typeof spawnOnBootstrap !== 'boolean') {
    throw new InvalidShardingOptionError('spawnOnBootstrap', spawnOnBootstrap, 'true or false');
  }

  return {
    role,
    mode:
      pick('mode') === undefined
        ? SHARDING_DEFAULTS.mode
        : oneOf('mode', pick('mode'), ['process', 'worker', 'cluster']),
    file,
    totalShards,
    shards: shards === undefined ? undefined : [...shards],
    shardsPerInstance: optionalInteger('shardsPerInstance', SHARDING_DEFAULTS.shardsPerInstance),
    token,
    api: api.replace(/\/+$/, ''),
    maxConcurrency:
      pick('maxConcurrency') === undefined
        ? undefined
        : positiveInteger('maxConcurrency', pick('maxConcurrency')),
    identifyWindow: optionalInteger('identifyWindow', SHARDING_DEFAULTS.identifyWindow),
    identifyMargin:
      pick('identifyMargin') === undefined
        ? SHARDING_DEFAULTS.identifyMargin
        : nonNegativeInteger('identifyMargin', pick('identifyMargin')),
    heartbeatInterval: optionalInteger('heartbeatInterval', IPC_DEFAULTS.heartbeatInterval),
    missedHeartbeats: optionalInteger('missedHeartbeats', IPC_DEFAULTS.missedHeartbeats),
    helloInterval: optionalInteger('helloInterval', IPC_DEFAULTS.helloInterval),
    helloTimeout: optionalInteger('helloTimeout', IPC_DEFAULTS.helloTimeout),
    readyTimeout: optionalInteger('readyTimeout', SHARDING_DEFAULTS.readyTimeout),
    requestTimeout: optionalInteger('requestTimeout', IPC_DEFAULTS.requestTimeout),
    restart,
    killGrace: optionalInteger('killGrace', SHARDING_DEFAULTS.killGrace),
    socketRoot,
    env: { ...env },
    execArgv: [...execArgv],
    spawnOnBootstrap,
    onManagerLost:
      pick('onManagerLost') === undefined
        ? 'exit'
        : oneOf('onManagerLost', pick('onManagerLost'), ['exit', 'continue']),
    readyWhen:
      pick('readyWhen') === undefined
        ? 'bootstrap'
        : oneOf('readyWhen', pick('readyWhen'), ['bootstrap', 'manual']),
  };
}
