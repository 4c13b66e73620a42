import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { IPC_DEFAULTS, SHARDING_DEFAULTS, type ShardingModuleOptions } from '../src/index.js';
import { resolveShardingOptions } from '../src/options/resolve-options.js';
import { cleanUp } from './support/cleanup.js';
import { invalidOption, withEnv } from './support/options.js';

afterEach(cleanUp);

describe('resolveShardingOptions', () => {
  it('fills in the defaults of DESIGN.md section 7', () => {
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
      },
    );
    // Section 1, 2 and 4: process mode, one shard by default, 'exit' on manager loss, spawn at
    // bootstrap, the manager's own entry as instance file, Discord's v10 API.
    assert.equal(resolved.role, undefined);
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
      role: 'manager',
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
    assert.equal(resolved.role, 'manager');
    // The token falls back to DISCORD_TOKEN.
    assert.equal(resolved.token, 'from-env');
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
    ['onManagerLost restart', { onManagerLost: 'restart' as never }, 'onManagerLost', '"restart"'],
    ['readyWhen later', { readyWhen: 'later' as never }, 'readyWhen', '"later"'],
    ['role worker', { role: 'worker' as never }, 'role', '"worker"'],
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
