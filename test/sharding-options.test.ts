import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { afterEach, describe, it } from 'node:test';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  InvalidShardingOptionError,
  SHARDING_DEFAULTS,
  ShardingModule,
  type ShardingModuleOptions,
} from '../src/index.js';
import { IPC_DEFAULTS } from '../src/ipc/index.js';
import { OPTION_RULES } from '../src/options/option-rules.js';
import { resolveShardingOptions } from '../src/options/resolve-options.js';
import { cleanUp } from './support/cleanup.js';
import { invalidOption, withEnv } from './support/options.js';

afterEach(cleanUp);

const resolvedApi = (api: string) => resolveShardingOptions({ api }).api;

describe('resolveShardingOptions', () => {
  it('fills in the documented defaults', () => {
    withEnv('DISCORD_TOKEN', undefined);
    const resolved = resolveShardingOptions();
    // The design's table, spelled out here rather than read from SHARDING_DEFAULTS / IPC_DEFAULTS,
    // so that a changed default is a failing test and not a silently followed constant.
    assert.deepEqual(
      {
        helloInterval: resolved.helloInterval,
        helloTimeout: resolved.helloTimeout,
        heartbeatInterval: resolved.heartbeatInterval,
        missedHeartbeats: resolved.missedHeartbeats,
        requestTimeout: resolved.requestTimeout,
        killGrace: resolved.killGrace,
        restart: resolved.restart,
        identifyWindow: resolved.identifyWindow,
      },
      {
        helloInterval: 1_000,
        helloTimeout: 30_000,
        heartbeatInterval: 5_000,
        missedHeartbeats: 3,
        requestTimeout: 15_000,
        killGrace: 5_000,
        restart: {
          initialDelay: 1_000,
          maxDelay: 60_000,
          multiplier: 2,
          jitter: 0.2,
          maxRestarts: 5,
          window: 600_000,
        },
        identifyWindow: 5_000,
      },
    );
    // Section 1, 2 and 4: process mode, one shard by default, 'exit' on manager loss, spawn at
    // bootstrap, the manager's own entry as instance file, Discord's v10 API.
    assert.equal(resolved.mode, 'process');
    assert.equal(resolved.totalShards, 1);
    assert.equal(resolved.shards, undefined);
    assert.equal(resolved.shardsPerInstance, 1);
    assert.equal(resolved.onManagerLost, 'exit');
    assert.equal(resolved.readyWhen, 'bootstrap');
    assert.equal(resolved.spawnOnBootstrap, true);
    assert.equal(resolved.file, process.argv[1]);
    assert.equal(resolved.api, 'https://discord.com/api/v10');
    assert.equal(resolved.token, undefined);
    assert.equal(resolved.socketRoot, undefined);
    assert.deepEqual(resolved.env, {});
    assert.deepEqual(resolved.execArgv, []);
  });

  it('exports constants that agree with the resolved defaults', () => {
    const resolved = resolveShardingOptions();
    assert.deepEqual(resolved.restart, SHARDING_DEFAULTS.restart);
    assert.equal(resolved.heartbeatInterval, IPC_DEFAULTS.heartbeatInterval);
    assert.equal(resolved.requestTimeout, IPC_DEFAULTS.requestTimeout);
  });

  it('keeps given values, merges partial restart options and trims the api URL', () => {
    withEnv('DISCORD_TOKEN', 'from-env');
    const resolved = resolveShardingOptions({
      mode: 'worker',
      file: '/srv/bot/instance.js',
      totalShards: 'auto',
      shards: [3, 1],
      shardsPerInstance: 2,
      api: 'http://127.0.0.1:1/api/v10//',
      restart: { maxRestarts: 9, jitter: undefined },
      env: { A: 'b' },
      execArgv: ['--max-old-space-size=256'],
      spawnOnBootstrap: false,
      onManagerLost: 'continue',
      readyWhen: 'manual',
    });
    assert.equal(resolved.mode, 'worker');
    assert.equal(resolved.file, '/srv/bot/instance.js');
    assert.equal(resolved.totalShards, 'auto');
    assert.deepEqual(resolved.shards, [3, 1]);
    assert.equal(resolved.shardsPerInstance, 2);
    assert.equal(resolved.api, 'http://127.0.0.1:1/api/v10');
    // An explicit undefined does not erase the default.
    assert.deepEqual(resolved.restart, { ...SHARDING_DEFAULTS.restart, maxRestarts: 9 });
    assert.deepEqual(resolved.env, { A: 'b' });
    assert.deepEqual(resolved.execArgv, ['--max-old-space-size=256']);
    assert.equal(resolved.spawnOnBootstrap, false);
    assert.equal(resolved.onManagerLost, 'continue');
    assert.equal(resolved.readyWhen, 'manual');
    // The token falls back to DISCORD_TOKEN.
    assert.equal(resolved.token, 'from-env');
  });

  it("accepts discord.js's unversioned api base (…/api) and gives it Discord's version", () => {
    assert.equal(resolvedApi('https://discord.com/api'), 'https://discord.com/api/v10');
    assert.equal(resolvedApi('https://discord.com/api/'), 'https://discord.com/api/v10');
    assert.equal(resolvedApi('http://127.0.0.1:8080/api'), 'http://127.0.0.1:8080/api/v10');
    // A version of its own, or a proxy's own path, is kept.
    assert.equal(resolvedApi('https://discord.com/api/v9'), 'https://discord.com/api/v9');
    assert.equal(resolvedApi('https://proxy.example/discord/'), 'https://proxy.example/discord');
  });

  it('copies arrays and objects, so later changes to the caller\u2019s options do not leak in', () => {
    const options: ShardingModuleOptions = { totalShards: 4, shards: [0, 1], env: { A: 'a' } };
    const resolved = resolveShardingOptions(options);
    options.shards!.push(3);
    options.env!.B = 'b';
    assert.deepEqual(resolved.shards, [0, 1]);
    assert.deepEqual(resolved.env, { A: 'a' });
  });

  // Each case: the options, the option the error must name, and how the value must be shown.
  const cases: Array<[string, ShardingModuleOptions, string, string]> = [
    ['mode thread', { mode: 'thread' as never }, 'mode', '"thread"'],
    ['totalShards 0', { totalShards: 0 }, 'totalShards', ' 0;'],
    ['totalShards 1.5', { totalShards: 1.5 }, 'totalShards', '1.5'],
    ['totalShards many', { totalShards: 'many' as never }, 'totalShards', '"many"'],
    ['shards with duplicates', { totalShards: 4, shards: [1, 1] }, 'shards', '[1, 1]'],
    ['shards out of range', { totalShards: 2, shards: [0, 2] }, 'shards', '[0, 2]'],
    ['negative shards', { totalShards: 2, shards: [-1] }, 'shards', '[-1]'],
    ['empty shards', { totalShards: 2, shards: [] }, 'shards', '[]'],
    ['shardsPerInstance 0', { shardsPerInstance: 0 }, 'shardsPerInstance', ' 0;'],
    ['heartbeatInterval -1', { heartbeatInterval: -1 }, 'heartbeatInterval', '-1'],
    ['missedHeartbeats 1', { missedHeartbeats: 1 }, 'missedHeartbeats', ' 1;'],
    ['restart.jitter 1.5', { restart: { jitter: 1.5 } }, 'restart.jitter', '1.5'],
    [
      'restart.maxDelay below initialDelay',
      { restart: { initialDelay: 500, maxDelay: 100 } },
      'restart.maxDelay',
      '100',
    ],
    ['env with a non-string', { env: { PORT: 8080 as never } }, 'env.PORT', '"a number"'],
    ['execArgv not an array', { execArgv: '--inspect' as never }, 'execArgv', '"--inspect"'],
    ['api not http(s)', { api: 'ftp://discord.com/api' }, 'api', '"ftp://discord.com/api"'],
    ['api not a URL', { api: 'http://' }, 'api', '"http://"'],
    ['onManagerLost restart', { onManagerLost: 'restart' as never }, 'onManagerLost', '"restart"'],
    ['readyWhen later', { readyWhen: 'later' as never }, 'readyWhen', '"later"'],
    // `role` is an extra of forRoot/forRootAsync, never an option a factory returns.
    ['role from a factory', { role: 'instance' } as never, 'role', '"instance"'],
  ];
  for (const [name, options, option, shown] of cases) {
    it(`rejects ${name}, naming the option and the value`, () => {
      const error = invalidOption(() => resolveShardingOptions(options));
      assert.equal(error.option, option);
      assert.ok(
        error.message.includes(`"${option}"`),
        `the message does not name ${option}: ${error.message}`,
      );
      assert.ok(
        error.message.includes(shown),
        `the message does not show ${shown}: ${error.message}`,
      );
    });
  }

  it('rejects shards of an auto total only when they are negative or repeated', () => {
    // With 'auto' the total is unknown until Discord answers: range is checked by planShards.
    assert.deepEqual(resolveShardingOptions({ totalShards: 'auto', shards: [40] }).shards, [40]);
    assert.equal(
      invalidOption(() => resolveShardingOptions({ totalShards: 'auto', shards: [-2] })).option,
      'shards',
    );
  });

  it('never shows the token in an error message', () => {
    const secret = 'MTIz.secret-token-value.abc';
    // A token of the wrong type: the message must not repeat it.
    for (const token of [12345 as never, '']) {
      const error = invalidOption(() => resolveShardingOptions({ token }));
      assert.equal(error.option, 'token');
      assert.ok(!error.message.includes('12345'), error.message);
    }
    // Another option is wrong while a valid token is set, from the options or the environment.
    withEnv('DISCORD_TOKEN', secret);
    for (const options of [{ token: secret, totalShards: 0 }, { mode: 'x' as never }]) {
      const error = invalidOption(() => resolveShardingOptions(options));
      assert.ok(!error.message.includes(secret), error.message);
      assert.ok(!JSON.stringify(error).includes(secret));
    }
  });

  it('never shows a token passed to instances through env when env is invalid', () => {
    const secret = 'MTIz.secret-token-value.abc';
    const error = invalidOption(() =>
      resolveShardingOptions({ env: { DISCORD_TOKEN: secret, PORT: 8080 as never } }),
    );
    assert.ok(!error.message.includes(secret), error.message);
  });

  it('rejects an array as env', () => {
    assert.equal(
      invalidOption(() => resolveShardingOptions({ env: ['A=b'] as never })).option,
      'env',
    );
  });
});

// A failed start of a real application (abortOnError: false makes it a rejection).
async function failedStart(sharding: DynamicModule): Promise<InvalidShardingOptionError> {
  @Module({ imports: [sharding] })
  class AppModule {}
  try {
    const app = await NestFactory.createApplicationContext(AppModule, {
      logger: false,
      abortOnError: false,
    });
    await app.close();
  } catch (error) {
    assert.ok(error instanceof InvalidShardingOptionError, String(error));
    return error;
  }
  assert.fail('the application started');
}

describe('unknown options', () => {
  // Each case: the options, the unknown option the error must name, and the suggestion.
  const cases: Array<[string, object, string, string | undefined]> = [
    ['a typo', { heartbeatIntervall: 500 }, 'heartbeatIntervall', 'heartbeatInterval'],
    ['a swap of two letters', { shardsPerInstnace: 2 }, 'shardsPerInstnace', 'shardsPerInstance'],
    ['another case', { HeartbeatInterval: 500 }, 'HeartbeatInterval', 'heartbeatInterval'],
    [
      'a typo in restart',
      { restart: { maxRestart: 3 } },
      'restart.maxRestart',
      'restart.maxRestarts',
    ],
    ['nothing close', { colour: 'red' }, 'colour', undefined],
    ['a restart option at the top level', { maxRestarts: 3 }, 'maxRestarts', undefined],
  ];
  for (const [name, options, option, suggestion] of cases) {
    it(`rejects ${name}, naming the option${suggestion ? ' and the closest known one' : ''}`, () => {
      const error = invalidOption(() => resolveShardingOptions(options as ShardingModuleOptions));
      assert.equal(error.option, option);
      assert.equal(error.suggestion, suggestion);
      assert.ok(error.message.includes(`unknown option "${option}"`), error.message);
      if (suggestion === undefined)
        assert.ok(!error.message.includes('did you mean'), error.message);
      else assert.ok(error.message.includes(`; did you mean "${suggestion}"?`), error.message);
    });
  }

  it('rejects an unknown option even when its value is undefined', () => {
    const error = invalidOption(() =>
      resolveShardingOptions({ heartbeatIntervall: undefined } as ShardingModuleOptions),
    );
    assert.equal(error.option, 'heartbeatIntervall');
  });

  it('never shows the value of an unknown option (it may be a secret)', () => {
    const secret = 'MTIz.secret-token-value.abc';
    const error = invalidOption(() =>
      resolveShardingOptions({ tokn: secret } as ShardingModuleOptions),
    );
    assert.equal(error.suggestion, 'token');
    assert.ok(!error.message.includes(secret), error.message);
    assert.ok(!JSON.stringify(error).includes(secret));
  });

  it('fails the start of a Nest application given a typo, in forRoot and forRootAsync', async () => {
    const typo = { spawnOnBootstrap: false, heartbeatIntervall: 500 } as ShardingModuleOptions;
    for (const sharding of [
      ShardingModule.forRoot(typo),
      ShardingModule.forRootAsync({ useFactory: () => typo }),
    ]) {
      const error = await failedStart(sharding);
      assert.equal(error.option, 'heartbeatIntervall');
      assert.equal(error.suggestion, 'heartbeatInterval');
    }
  });
});

// The rows of the table in the README's "Options" section: option name to default column.
async function readmeRows(): Promise<Map<string, string>> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Options\n'));
  assert.ok(section, 'the README has no "Options" section');
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = /^\|\s*`([^`]+)`\s*\|([^|]*)\|/.exec(line);
    if (cells === null) continue;
    assert.ok(!rows.has(cells[1]!), `the README lists ${cells[1]} twice`);
    rows.set(cells[1]!, cells[2]!.trim());
  }
  return rows;
}

// A default as the README's table writes it.
const shownDefault = (value: unknown): string =>
  `\`${typeof value === 'string' ? `'${value}'` : JSON.stringify(value)}\``;

describe('the README options table', () => {
  // Every option as the README names it: restart's fields one by one.
  const knownOptions = Object.entries(OPTION_RULES).flatMap(([name, rule]) =>
    rule.fields === undefined
      ? [name]
      : Object.keys(rule.fields).map((field) => `${name}.${field}`),
  );

  it('lists every option, and no other', async () => {
    const rows = await readmeRows();
    assert.deepEqual([...rows.keys()].toSorted(), knownOptions.toSorted());
  });

  it('shows every default of SHARDING_DEFAULTS as it is', async () => {
    const rows = await readmeRows();
    const defaults = Object.entries(SHARDING_DEFAULTS).flatMap(([name, value]) =>
      name === 'restart'
        ? Object.entries(value).map(([field, inner]) => [`restart.${field}`, inner] as const)
        : [[name, value] as const],
    );
    for (const [name, value] of defaults) {
      assert.equal(rows.get(name), shownDefault(value), `the README's default of ${name}`);
    }
  });
});
