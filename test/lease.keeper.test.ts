// Block leases with fencing against a real redis-server, with the holder in another process: a
// host cut off from Redis gives its block up before another host can take it; a host paused
// (SIGSTOP) past its lease finds it taken at a higher epoch, gives it up, and its writes are
// refused.
import assert from 'node:assert/strict';
import { Logger } from '@nestjs/common';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { BlockLeaseStore } from '../src/coordination/block-lease.store.js';
import { resolveCoordination } from '../src/coordination/coordination.defaults.js';
import { LeaseKeeper } from '../src/coordination/lease.keeper.js';
import { RedisConnection } from '../src/coordination/redis.connection.js';
import { cleanUp, defer } from './support/cleanup.js';
import { forkFixture, nextMessage } from './support/processes.js';
import { startRedis } from './support/redis-server.js';
import { startSocketProxy } from './support/socket-proxy.js';

afterEach(cleanUp);

const TTL = 3_000;
const CLUSTER = 'lease-test';

/** A quiet logger. */
class QuietLogger extends Logger {
  override warn() {}
  override log() {}
  override debug() {}
}

/** Host `hostId` in this process: its lease store and keeper, closed after the test. */
async function localHost(socket: string, hostId: string) {
  const connection = await RedisConnection.open(
    resolveCoordination({ redis: socket, cluster: CLUSTER, hostId }),
    new QuietLogger(),
  );
  const store = new BlockLeaseStore(connection, hostId);
  const keeper = new LeaseKeeper(store, TTL, new QuietLogger());
  defer(async () => {
    keeper.close();
    await connection.close();
  });
  return { connection, store, keeper };
}

/** Forks a host holding block 0 through `socket`; resolves once it holds it. */
async function remoteHolder(socket: string) {
  const holder = forkFixture('lease-holder.fixture', {
    REDIS_SOCKET: socket,
    CLUSTER,
    HOST_ID: 'host-a',
    LEASE_TTL: String(TTL),
  });
  const held = await nextMessage<{ type: string; epoch: number }>(holder, 'held');
  return { holder, epoch: held.epoch };
}

describe('block leases', () => {
  it('sends nothing after close(): a pending retry does not take a released lease again', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const a = await localHost(redis.socket, 'host-a');
    const lease = await a.keeper.claim(0, new AbortController().signal);
    // The next renewal fails, as when Redis is away for a moment: a quick retry is pending.
    const renew = a.store.renew.bind(a.store);
    let closed = false;
    let sentAfterClose = 0;
    const failed = new Promise<void>((resolve) => {
      let failures = 0;
      a.store.renew = async (leases, ttl) => {
        if (closed) sentAfterClose++;
        if (failures++ === 0) {
          resolve();
          throw new Error('Redis is away');
        }
        return renew(leases, ttl);
      };
    });
    await failed;
    // The keeper has handled the failure (and set its retry) before it is closed.
    await new Promise((resolve) => setImmediate(resolve));
    a.keeper.close();
    closed = true;
    assert.equal(await a.store.release(lease), true);
    // Nothing to await: the retry (250 ms) and a renewal period (TTL / 6) both fit in this.
    await delay(TTL / 3);
    assert.equal(sentAfterClose, 0, 'a renewal was sent after close()');
    assert.equal(await a.connection.client.call('EXISTS', a.connection.key('lease', 0)), 0);
  });

  it('a host cut off from Redis gives its block up before another host can take it', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const proxy = await startSocketProxy(redis.socket);
    const { holder, epoch } = await remoteHolder(proxy.path);
    const b = await localHost(redis.socket, 'host-b');

    const order: string[] = [];
    const lost = nextMessage<{ type: string; reason: string }>(holder, 'lost').then((message) => {
      order.push('a gave up');
      return message;
    });
    const taken = b.keeper.claim(0, new AbortController().signal).then((lease) => {
      order.push('b took it');
      return lease;
    });
    proxy.cut();
    const [gaveUp, lease] = await Promise.all([lost, taken]);
    assert.deepEqual(order, ['a gave up', 'b took it']);
    assert.equal(gaveUp.reason, 'unrenewed');
    assert.equal(lease.epoch, epoch + 1);
  });

  it('a host paused past its lease is fenced: it gives the block up and its writes are refused', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const { holder, epoch } = await remoteHolder(redis.socket);
    const b = await localHost(redis.socket, 'host-b');
    const sessions = b.connection.key('sessions');

    holder.kill('SIGSTOP');
    defer(() => holder.kill('SIGCONT'));
    const lease = await b.keeper.claim(0, new AbortController().signal);
    assert.equal(lease.epoch, epoch + 1);
    assert.equal(await b.store.fencedHashSet(lease, sessions, 0, 'from b'), true);

    const lost = nextMessage<{ type: string }>(holder, 'lost');
    holder.kill('SIGCONT');
    await lost;
    holder.send({ type: 'write', value: 'from a' });
    const written = await nextMessage<{ type: string; accepted: boolean }>(holder, 'written');
    assert.equal(written.accepted, false, 'a write with an old epoch was accepted');
    assert.equal(await b.connection.client.call('HGET', sessions, 0), 'from b');
    assert.deepEqual(await b.store.holder(0), { host: 'host-b', epoch: epoch + 1 });
  });
});
