// Placement's own steps against a real redis-server (one host, a fake fleet): a graceful stop
// writes the sessions recorded so far under its leases before it frees them.
import assert from 'node:assert/strict';
import { Logger } from '@nestjs/common';
import { afterEach, describe, it } from 'node:test';
import { ClusterSessionStore } from '../src/coordination/cluster-session.store.js';
import { resolveCoordination } from '../src/coordination/coordination.defaults.js';
import { HostPlacement, type PlacementFleet } from '../src/coordination/host-placement.js';
import { RedisConnection } from '../src/coordination/redis.connection.js';
import { cleanUp, defer } from './support/cleanup.js';
import { startRedis } from './support/redis-server.js';
import { waitUntil } from './support/wait.js';

afterEach(cleanUp);

/** A quiet logger. */
class QuietLogger extends Logger {
  override warn() {}
  override log() {}
  override debug() {}
}

/** A fleet with no spare, that runs whatever it is given. */
const fleet: PlacementFleet = {
  hasSpare: () => false,
  adopt: async () => false,
  drop: async () => undefined,
};

/** Resolves when `count` more calls of `hasSpare` were made (each survey makes one or more). */
function spareChecks(fleetCalls: { onSpareCheck?: () => void }, count: number): Promise<void> {
  return new Promise((resolve) => {
    let left = count;
    fleetCalls.onSpareCheck = () => {
      if (--left === 0) resolve();
    };
  });
}

/** Host `host-a`'s placement of 2 shards in one block, with `fleet`; closed after the test. */
async function placeHostA(socket: string, placementFleet: PlacementFleet) {
  const logger = new QuietLogger();
  const connection = await RedisConnection.open(
    resolveCoordination({ redis: socket, cluster: 'placement-test', hostId: 'host-a' }),
    logger,
  );
  defer(() => connection.close());
  const placement = new HostPlacement(
    connection,
    new ClusterSessionStore(connection, logger),
    { totalShards: 2, blockSize: 2, leaseTtl: 1_200, hostId: 'host-a' },
    placementFleet,
    logger,
  );
  defer(() => placement.close());
  return { connection, placement };
}

describe('host placement', () => {
  it('frees an orphan it took when its spare could not take the shards', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    let attempts = 0;
    const failing: PlacementFleet = {
      hasSpare: () => true,
      adopt: async () => {
        attempts++;
        throw new Error('the spare went away');
      },
      drop: async () => undefined,
    };
    const { connection, placement } = await placeHostA(redis.socket, failing);
    // Block 0 was held once, by a host that is gone.
    await connection.client.call('SET', connection.key('epoch', 0), 1);
    placement.start();
    await waitUntil(() => attempts > 0, 10_000, 'the orphan was never taken');
    await waitUntil(
      () => placement.held().length === 0,
      5_000,
      'the block stays leased with nothing running its shards',
    );
  });

  it('frees a block whose handover failed after its shards were let go', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const dropped: number[][] = [];
    const noSpare: PlacementFleet = {
      hasSpare: () => false,
      adopt: async () => false,
      drop: async (shards) => {
        dropped.push(shards);
      },
    };
    const { connection, placement } = await placeHostA(redis.socket, noSpare);
    await placement.claim([0, 1], new AbortController().signal);
    // The last step of the handover fails (Redis went away at that moment, say).
    const leases = (placement as unknown as { leases: { transfer: () => Promise<boolean> } })
      .leases;
    leases.transfer = () => Promise.reject(new Error('Redis is away'));
    await connection.client.call('SET', connection.key('handover', 0), 'nonce-b host-b');
    placement.start();
    await waitUntil(() => dropped.length > 0, 10_000, 'the handover never started');
    await waitUntil(
      () => placement.held().length === 0,
      5_000,
      'the block stays leased with nothing running its shards',
    );
  });

  it('does not take a block again while the shards it gave up are still being stopped', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const logger = new QuietLogger();
    const connection = await RedisConnection.open(
      resolveCoordination({ redis: redis.socket, cluster: 'placement-test', hostId: 'host-a' }),
      logger,
    );
    defer(() => connection.close());
    const adopted: number[][] = [];
    let dropStarted!: () => void;
    const dropping = new Promise<void>((resolve) => (dropStarted = resolve));
    const calls: { onSpareCheck?: () => void } = {};
    const slowFleet: PlacementFleet = {
      hasSpare: () => {
        calls.onSpareCheck?.();
        return true;
      },
      adopt: async (shards) => {
        adopted.push(shards);
        return true;
      },
      // An instance slow to let go: the drop does not end during the test.
      drop: () => {
        dropStarted();
        return new Promise(() => undefined);
      },
    };
    const placement = new HostPlacement(
      connection,
      new ClusterSessionStore(connection, logger),
      { totalShards: 2, blockSize: 2, leaseTtl: 1_200, hostId: 'host-a' },
      slowFleet,
      logger,
    );
    defer(() => placement.close());
    await placement.claim([0, 1], new AbortController().signal);
    placement.start();

    // Another host holds the block now: the next renewal is refused, and the drop starts.
    await connection.client.call('HSET', connection.key('lease', 0), 'host', 'host-b');
    await dropping;
    // That host is gone: the block is an orphan while this host's drop still runs.
    await connection.client.call('DEL', connection.key('lease', 0));
    await spareChecks(calls, 6);
    assert.deepEqual(adopted, [], 'taken again before its shards were stopped');
  });

  it('writes the sessions recorded so far before it frees its leases on a graceful stop', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const options = resolveCoordination({
      redis: redis.socket,
      cluster: 'placement-test',
      hostId: 'host-a',
    });
    const logger = new QuietLogger();
    const connection = await RedisConnection.open(options, logger);
    defer(() => connection.close());
    const sessions = new ClusterSessionStore(connection, logger);
    const placement = new HostPlacement(
      connection,
      sessions,
      { totalShards: 2, blockSize: 2, leaseTtl: 30_000, hostId: 'host-a' },
      fleet,
      logger,
    );
    defer(() => placement.close());
    await placement.claim([0, 1], new AbortController().signal);

    // The last session a stopping instance reported, in the same turn as the stop.
    const last = { shardId: 0, shardCount: 2, sessionId: 'a', sequence: 9, resumeURL: 'wss://x' };
    sessions.write(0, last);
    await placement.close();

    const stored = await connection.client.call('HGET', connection.key('sessions'), 0);
    assert.equal(typeof stored, 'string', 'the last session was not written');
    assert.equal(await connection.client.call('EXISTS', connection.key('lease', 0)), 0);
  });
});
