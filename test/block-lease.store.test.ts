// The block lease store's scripts against a real redis-server: a lease belongs to one process,
// not merely to a host id (a restarted host can reuse its predecessor's id).
import assert from 'node:assert/strict';
import { Logger } from '@nestjs/common';
import { afterEach, describe, it } from 'node:test';
import { BlockLeaseStore } from '../src/coordination/block-lease.store.js';
import { resolveCoordination } from '../src/coordination/coordination.defaults.js';
import { RedisConnection } from '../src/coordination/redis.connection.js';
import { cleanUp, defer } from './support/cleanup.js';
import { startRedis } from './support/redis-server.js';

afterEach(cleanUp);

const TTL = 30_000;
const CLUSTER = 'lease-store-test';

/** A quiet logger. */
class QuietLogger extends Logger {
  override warn() {}
  override log() {}
  override debug() {}
}

/** A process of host `hostId`: its own connection and lease store, closed after the test. */
async function hostProcess(socket: string, hostId: string) {
  const connection = await RedisConnection.open(
    resolveCoordination({ redis: socket, cluster: CLUSTER, hostId }),
    new QuietLogger(),
  );
  defer(() => connection.close());
  return { connection, store: new BlockLeaseStore(connection, hostId) };
}

describe('block lease store', () => {
  it("a restarted host with its predecessor's id neither renews, writes under nor frees its lease", async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    // Same id, as after a restart in a container (pid 1) or under a stable hostname.
    const before = await hostProcess(redis.socket, 'host-a');
    const after = await hostProcess(redis.socket, 'host-a');
    const sessions = before.connection.key('sessions');

    const claimed = await before.store.claim(0, TTL);
    assert.equal(claimed.held, true);
    const lease = { block: 0, epoch: claimed.held ? claimed.epoch : 0 };

    const claim = await after.store.claim(0, TTL);
    assert.equal(claim.held, false, "the new process took its predecessor's lease");
    assert.deepEqual(await after.store.renew([lease], TTL), [undefined]);
    assert.equal(await after.store.fencedHashSet(lease, sessions, 0, 'from the new one'), false);
    assert.equal(await after.store.release(lease), false);

    // The predecessor's lease is untouched, and still its own.
    assert.deepEqual(await before.store.renew([lease], TTL), [lease.epoch]);
    assert.equal(await before.store.fencedHashSet(lease, sessions, 0, 'from the old one'), true);
    assert.equal(await before.connection.client.call('HGET', sessions, 0), 'from the old one');
  });
});
