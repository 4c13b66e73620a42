import type { CoordinationOptions } from '../coordination/coordination-options.interface.js';
import { isLoopbackHost } from '../common/loopback-host.js';
import type {
  RestartOptions,
  ShardingModuleOptions,
  StatusPageOptions,
} from './sharding-options.interface.js';
import { DEFAULT_STATUS_PAGE_HOST } from './options.constants.js';

/**
 * One check of an option's value. `siblings` are the options of the same level with their
 * defaults filled in (the top-level options, or the fields of `restart`), for checks that
 * compare two options.
 */
export interface OptionCheck {
  /** Whether the value passes. */
  test(value: unknown, siblings: Readonly<Record<string, unknown>>): boolean;
  /** What a valid value is, completing "it must be …". */
  expectation: string | ((siblings: Readonly<Record<string, unknown>>) => string);
}

/** How one option is checked. */
export interface OptionRule {
  /** Checked in order; the first that fails is the error. */
  checks: readonly OptionCheck[];
  /** Checked even when it resolves to `undefined` (it has no default to fall back on). */
  required?: boolean;
  /** What an error shows instead of the value, for values that may hold secrets. */
  shown?: (value: unknown) => unknown;
  /** The rules of an object-valued option's fields; any other field is unknown. */
  fields?: OptionRules<object>;
  /** The rule of every entry of a record-valued option; the entries' names are free. */
  entries?: OptionRule;
}

/** A rule for every key of `T`: a missing one is a compile error. */
export type OptionRules<T extends object> = { readonly [K in keyof Required<T>]: OptionRule };

const check = (test: OptionCheck['test'], expectation: OptionCheck['expectation']) => ({
  test,
  expectation,
});

const isPositiveInteger = (value: unknown): value is number =>
  Number.isSafeInteger(value) && (value as number) >= 1;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const positiveInteger = { checks: [check(isPositiveInteger, 'a positive integer')] };

const oneOf = (...allowed: string[]): OptionRule => ({
  checks: [
    check(
      (value) => allowed.includes(value as string),
      `one of ${allowed.map((name) => `'${name}'`).join(', ')}`,
    ),
  ],
});

// Names the kind of a value without showing it: env values are often secrets.
const kindOf = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;

const RESTART_RULES: OptionRules<RestartOptions> = {
  initialDelay: positiveInteger,
  maxDelay: {
    checks: [
      check(isPositiveInteger, 'a positive integer'),
      check(
        (value, restart) => (value as number) >= (restart.initialDelay as number),
        (restart) => `at least restart.initialDelay (${String(restart.initialDelay)})`,
      ),
    ],
  },
  multiplier: {
    checks: [check((value) => typeof value === 'number' && value >= 1, 'a number >= 1')],
  },
  jitter: {
    checks: [
      check(
        (value) => typeof value === 'number' && value >= 0 && value < 1,
        'a fraction from 0 to below 1',
      ),
    ],
  },
  maxRestarts: positiveInteger,
  window: positiveInteger,
};

const STATUS_PAGE_RULES: OptionRules<StatusPageOptions> = {
  port: {
    required: true,
    checks: [
      check(
        (value) =>
          Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= 65535,
        'a TCP port from 0 to 65535 (0: any free port)',
      ),
    ],
  },
  host: {
    checks: [
      check(
        (value) => typeof value === 'string' && value.length > 0,
        "an address to listen on, such as '127.0.0.1' or '0.0.0.0'",
      ),
    ],
  },
  token: {
    // Checked when absent too: a page reachable from other machines without a token would show
    // the fleet to anyone, so it is refused at start-up.
    required: true,
    checks: [
      check(
        (value, page) =>
          value !== undefined || isLoopbackHost((page.host as string) ?? DEFAULT_STATUS_PAGE_HOST),
        (page) =>
          `set when statusPage.host is not a loopback address (it is '${String(page.host)}')`,
      ),
      check(
        (value) => value === undefined || (typeof value === 'string' && value.length >= 16),
        'a secret of at least 16 characters',
      ),
    ],
    shown: (value) => (value === undefined ? undefined : '(hidden)'),
  },
};

const COORDINATION_RULES: OptionRules<CoordinationOptions> = {
  redis: {
    required: true,
    checks: [
      check(
        (value) => (typeof value === 'string' && value.length > 0) || isPlainObject(value),
        'a Redis URL or socket path, ioredis options, or an ioredis instance',
      ),
    ],
    // A URL or options may hold a password.
    shown: kindOf,
  },
  cluster: {
    required: true,
    checks: [
      check(
        (value) => typeof value === 'string' && /^[\w.-]{1,64}$/.test(value),
        "a name of 1 to 64 letters, digits, '.', '_' or '-'",
      ),
    ],
  },
  hostId: {
    checks: [
      check(
        (value) => typeof value === 'string' && /^\S{1,128}$/.test(value),
        'a name of 1 to 128 characters, no spaces',
      ),
    ],
  },
  leaseTtl: {
    checks: [
      check(
        (value) => Number.isSafeInteger(value) && (value as number) >= 1_000,
        'an integer >= 1000 (ms)',
      ),
    ],
  },
};

/**
 * The rule of every option of `ShardingModule`, in the order they are checked (`shards` after
 * `totalShards`, which it is compared with). Its keys are the known options.
 */
export const OPTION_RULES: OptionRules<ShardingModuleOptions> = {
  mode: oneOf('process', 'worker', 'cluster'),
  file: {
    required: true,
    checks: [
      check(
        (value) => typeof value === 'string' && value.length > 0,
        'the path of the instance entry file',
      ),
    ],
  },
  totalShards: {
    checks: [
      check(
        (value) => value === 'auto' || isPositiveInteger(value),
        "a positive integer or 'auto'",
      ),
    ],
  },
  shards: {
    checks: [
      check(
        (value, options) =>
          Array.isArray(value) &&
          // Empty only for a host of a cluster: it runs the blocks handed to its spares.
          (value.length > 0 || options.coordination !== undefined) &&
          value.every((id) => Number.isSafeInteger(id) && (id as number) >= 0),
        'a non-empty array of shard ids (integers >= 0; empty only with coordination)',
      ),
      check(
        (value) => new Set(value as number[]).size === (value as number[]).length,
        'free of duplicates',
      ),
      // With 'auto' the total is known only at spawn, where planShards checks the range.
      check(
        (value, options) =>
          typeof options.totalShards !== 'number' ||
          (value as number[]).every((id) => id < (options.totalShards as number)),
        (options) => `shard ids below totalShards (${String(options.totalShards)})`,
      ),
    ],
  },
  shardsPerInstance: positiveInteger,
  spares: {
    checks: [
      check((value) => Number.isSafeInteger(value) && (value as number) >= 0, 'an integer >= 0'),
    ],
  },
  token: {
    checks: [check((value) => typeof value === 'string' && value.length > 0, 'a non-empty string')],
    shown: () => '(hidden)',
  },
  api: {
    checks: [
      check(
        (value) => typeof value === 'string' && /^https?:\/\//i.test(value) && URL.canParse(value),
        "an http(s) URL, such as 'https://discord.com/api'",
      ),
    ],
  },
  maxConcurrency: positiveInteger,
  identifyWindow: positiveInteger,
  identifyMargin: {
    checks: [
      check((value) => Number.isSafeInteger(value) && (value as number) >= 0, 'an integer >= 0'),
    ],
  },
  heartbeatInterval: positiveInteger,
  // One missed interval is no margin: heartbeats on the fleet's phase grid may be up to one and a
  // half intervals apart after the first, and any late timer would take a live peer for dead.
  missedHeartbeats: {
    checks: [
      check(
        (value) => isPositiveInteger(value) && (value as number) >= 2,
        'an integer of at least 2',
      ),
    ],
  },
  helloInterval: positiveInteger,
  helloTimeout: positiveInteger,
  readyTimeout: positiveInteger,
  requestTimeout: positiveInteger,
  restart: {
    checks: [check(isPlainObject, 'an object of restart options')],
    fields: RESTART_RULES,
  },
  killGrace: positiveInteger,
  socketRoot: {
    checks: [check((value) => typeof value === 'string' && value.length > 0, 'a directory path')],
  },
  env: {
    checks: [check(isPlainObject, 'an object of string values')],
    shown: kindOf,
    entries: { checks: [check((value) => typeof value === 'string', 'a string')], shown: kindOf },
  },
  execArgv: {
    checks: [
      check(
        (value) => Array.isArray(value) && value.every((arg) => typeof arg === 'string'),
        'an array of strings',
      ),
    ],
  },
  spawnOnBootstrap: { checks: [check((value) => typeof value === 'boolean', 'true or false')] },
  bootConcurrency: positiveInteger,
  autoReshard: { checks: [check((value) => typeof value === 'boolean', 'true or false')] },
  autoReshardInterval: positiveInteger,
  statusPage: {
    checks: [check(isPlainObject, 'an object of status page options ({ port, host?, token? })')],
    fields: STATUS_PAGE_RULES,
  },
  coordination: {
    checks: [check(isPlainObject, 'an object: { redis, cluster, hostId?, leaseTtl? }')],
    fields: COORDINATION_RULES,
  },
  onManagerLost: oneOf('exit', 'continue'),
  readyWhen: oneOf('bootstrap', 'manual'),
};
