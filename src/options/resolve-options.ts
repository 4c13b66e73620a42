import type { CoordinationOptions } from '../coordination/coordination-options.interface.js';
import { closestName } from '../common/closest-name.js';
import { withoutUndefined } from '../common/without-undefined.js';
import { versionedApiBase } from './discord-api.js';
import type { ManagerLostPolicy } from './sharding-options.interface.js';
import { InvalidShardingOptionError } from './invalid-option.error.js';
import { OPTION_RULES, type OptionRule, type OptionRules } from './option-rules.js';
import { SHARDING_DEFAULTS } from './sharding.defaults.js';
import type {
  ReadyWhen,
  RestartOptions,
  ShardingMode,
  ShardingModuleOptions,
  StatusPageOptions,
} from './sharding-options.interface.js';

/** The options with every default filled in and every value checked. */
export interface ResolvedShardingOptions {
  mode: ShardingMode;
  file: string;
  totalShards: number | 'auto';
  shards: number[] | undefined;
  shardsPerInstance: number;
  spares: number;
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
  bootConcurrency: number | undefined;
  autoReshard: boolean;
  autoReshardInterval: number;
  statusPage: StatusPageOptions | undefined;
  coordination: CoordinationOptions | undefined;
  onManagerLost: ManagerLostPolicy;
  readyWhen: ReadyWhen;
}

type Level = Record<string, unknown>;

/**
 * Checks `options` against {@link OPTION_RULES} and fills in {@link SHARDING_DEFAULTS}; throws
 * {@link InvalidShardingOptionError} for an unknown option or a bad value. An option given as
 * `undefined` takes its default.
 */
export function resolveShardingOptions(
  options: ShardingModuleOptions = {},
): ResolvedShardingOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidShardingOptionError('options', options, 'an object');
  }
  if (Object.hasOwn(options, 'role')) {
    // forRoot() takes `role` out of its options; only a forRootAsync factory can return it.
    throw new InvalidShardingOptionError(
      'role',
      (options as { role?: unknown }).role,
      'given to forRootAsync({ role, useFactory }) itself, not returned by its factory: the ' +
        'role decides which providers exist, before any factory runs',
    );
  }
  // Read when resolving, not at import: the entry and the environment are the caller's.
  const computed = { file: process.argv[1], token: process.env.DISCORD_TOKEN };
  const resolved = resolveLevel(options, { ...SHARDING_DEFAULTS, ...computed }, OPTION_RULES, '');
  resolved.api = versionedApiBase(resolved.api as string);
  return resolved as unknown as ResolvedShardingOptions;
}

// Checks one level (the options, or the fields of an object option) and returns it merged over
// its defaults, with every array and object copied so that later changes by the caller do not
// leak in.
function resolveLevel(given: object, defaults: Level, rules: OptionRules<object>, path: string) {
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(rules, key)) {
      const suggestion = closestName(key, Object.keys(rules));
      throw new InvalidShardingOptionError(
        `${path}${key}`,
        undefined,
        undefined,
        suggestion === undefined ? undefined : `${path}${suggestion}`,
      );
    }
  }
  const merged: Level = { ...defaults, ...withoutUndefined(given) };
  for (const [key, rule] of Object.entries(rules) as Array<[string, OptionRule]>) {
    const value = merged[key];
    if (value === undefined && rule.required !== true) continue;
    checkValue(`${path}${key}`, value, rule, merged);
    if (rule.fields !== undefined) {
      merged[key] = resolveLevel(
        value as object,
        defaults[key] as Level,
        rule.fields,
        `${path}${key}.`,
      );
    } else if (rule.entries !== undefined) {
      for (const [name, entry] of Object.entries(value as Level)) {
        checkValue(`${path}${key}.${name}`, entry, rule.entries, value as Level);
      }
      merged[key] = { ...(value as Level) };
    } else if (Array.isArray(value)) {
      merged[key] = [...(value as unknown[])];
    }
  }
  return merged;
}

function checkValue(option: string, value: unknown, rule: OptionRule, siblings: Level): void {
  for (const { test, expectation } of rule.checks) {
    if (test(value, siblings)) continue;
    throw new InvalidShardingOptionError(
      option,
      rule.shown === undefined ? value : rule.shown(value),
      typeof expectation === 'string' ? expectation : expectation(siblings),
    );
  }
}
