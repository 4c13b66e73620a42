// The `coordination` option: checked like every other, nothing loaded for it on a single host,
// and the connection to Redis it opens (a real redis-server on a private socket).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Logger } from '@nestjs/common';
import { afterEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisConnection } from '../src/coordination/redis.connection.js';
import { resolveCoordination } from '../src/coordination/coordination.defaults.js';
import { resolveShardingOptions } from '../src/options/resolve-options.js';
import { cleanUp, defer } from './support/cleanup.js';
import { invalidOption } from './support/options.js';
import { startRedis } from './support/redis-server.js';

afterEach(cleanUp);

describe('the coordination option', () => {
  it('is checked field by field, and never shows the Redis address', () => {
    const base = { redis: 'redis://:secret@localhost:6379', cluster: 'bot' };
    const resolved = resolveShardingOptions({ coordination: base });
    assert.deepEqual(resolved.coordination, base);
    const cases: Array<[object, string]> = [
      [{ cluster: 'bot' }, 'coordination.redis'],
      [{ redis: 'redis://localhost' }, 'coordination.cluster'],
      [{ ...base, cluster: 'a{b}' }, 'coordination.cluster'],
      [{ ...base, hostId: 'two words' }, 'coordination.hostId'],
      [{ ...base, leaseTtl: 10 }, 'coordination.leaseTtl'],
      [{ ...base, redis: 42 }, 'coordination.redis'],
    ];
    for (const [coordination, option] of cases) {
      const error = invalidOption(() =>
        resolveShardingOptions({ coordination: coordination as never }),
      );
      assert.equal(error.option, option);
      assert.ok(!error.message.includes('secret'), error.message);
    }
    const typo = invalidOption(() =>
      resolveShardingOptions({ coordination: { ...base, leaseTTL: 5_000 } as never }),
    );
    assert.equal(typo.suggestion, 'coordination.leaseTtl');
  });

  it('lets a host of a cluster run no shards of its own, and only such a host', () => {
    const coordination = { redis: '/tmp/redis.sock', cluster: 'bot' };
    assert.deepEqual(resolveShardingOptions({ shards: [], coordination }).shards, []);
    assert.equal(invalidOption(() => resolveShardingOptions({ shards: [] })).option, 'shards');
  });

  it('defaults the host id to the machine and process, and the lease to 15 s', () => {
    const resolved = resolveCoordination({ redis: '/tmp/redis.sock', cluster: 'bot' });
    assert.ok(resolved.hostId.endsWith(`:${process.pid}`));
    assert.equal(resolved.leaseTtl, 15_000);
  });

  it('is all a single host needs not to load ioredis', async () => {
    // A fresh process: the package's entry loaded, a manager's options resolved, no ioredis.
    const script = `
      import { createRequire } from 'node:module';
      const { resolveShardingOptions } = await import(${JSON.stringify(new URL('../src/options/resolve-options.js', import.meta.url).href)});
      await import(${JSON.stringify(new URL('../src/index.js', import.meta.url).href)});
      resolveShardingOptions({ file: 'bot.js', totalShards: 2 });
      const cache = createRequire(import.meta.url).cache;
      console.log(Object.keys(cache).filter((path) => path.includes('ioredis')).length);
    `;
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--input-type=module',
      '-e',
      script,
    ]);
    assert.equal(stdout.trim(), '0');
  });
});

describe('the connection to Redis', () => {
  it("keeps the cluster's keys under its prefix, runs scripts, and closes only what it opened", async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const logger = new Logger('test');
    const opened = await RedisConnection.open(
      resolveCoordination({ redis: redis.socket, cluster: 'bot', hostId: 'a' }),
      logger,
    );
    defer(() => opened.close());
    const key = opened.key('identify', 0);
    assert.equal(key, 'nestjs-sharding:{bot}:identify:0');
    assert.equal(
      await opened.eval("return redis.call('SET', KEYS[1], ARGV[1])", [key], ['x']),
      'OK',
    );

    // A client the user gave: used as it is, and left open.
    const client = new Redis({ path: redis.socket });
    defer(() => client.disconnect());
    const given = await RedisConnection.open(
      resolveCoordination({ redis: client, cluster: 'bot', hostId: 'b' }),
      logger,
    );
    assert.equal(await given.client.call('GET', key), 'x');
    await given.close();
    assert.equal(await client.get(key), 'x');
    await opened.close();
    assert.equal(await client.ping(), 'PONG');
  });
});
