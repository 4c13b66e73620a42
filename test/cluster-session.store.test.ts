// The cluster's session store with placement's fence, against a real redis-server: flushes run
// one at a time, each batch in one script, so a shard's later session never lands before an
// earlier one.
import assert from 'node:assert/strict';
import { Logger } from '@nestjs/common';
import { afterEach, describe, it } from 'node:test';
import { BlockLeaseStore, type HeldLease } from '../src/coordination/block-lease.store.js';
import { ClusterSessionStore } from '../src/coordination/cluster-session.store.js';
import { resolveCoordination } from '../src/coordination/coordination.defaults.js';
import { RedisConnection } from '../src/coordination/redis.connection.js';
import type { ShardSession } from '../src/protocol/session-info.interface.js';
import { cleanUp, defer } from './support/cleanup.js';
import { startRedis } from './support/redis-server.js';

afterEach(cleanUp);

/** A quiet logger. */
class QuietLogger extends Logger {
  override warn() {}
  override log() {}
  override debug() {}
}

function session(shardId: number, sequence: number): ShardSession {
  return { shardId, shardCount: 2, sessionId: `s${shardId}`, sequence, resumeURL: 'wss://x' };
}

/** How many times Redis ran a script by its hash since the last `CONFIG RESETSTAT`. */
async function scriptCalls(connection: RedisConnection): Promise<number> {
  const stats = String(await connection.client.call('INFO', 'commandstats'));
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

describe('cluster session store, fenced', () => {
  it('writes one batch at a time, each in one script, and keeps the order of a shard', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const connection = await RedisConnection.open(
      resolveCoordination({ redis: redis.socket, cluster: 'sessions-test', hostId: 'host-a' }),
      new QuietLogger(),
    );
    defer(() => connection.close());
    const leases = new BlockLeaseStore(connection, 'host-a');
    const held: HeldLease[] = [];
    for (const block of [0, 1]) {
      const claim = await leases.claim(block, 30_000);
      assert.ok(claim.held);
      held.push({ block, epoch: claim.epoch });
    }
    const sessions = new ClusterSessionStore(connection, new QuietLogger());
    // One shard per block here.
    sessions.fenceWith(leases, (shardId) => held[shardId]);
    // The scripts loaded once, so that what follows runs each by its hash once.
    sessions.write(0, session(0, 1));
    await sessions.flushNow();
    await connection.client.call('CONFIG', 'RESETSTAT');

    sessions.write(0, session(0, 2));
    sessions.write(1, session(1, 2));
    // The first batch is on its way; shard 1's next session is recorded meanwhile.
    await new Promise((resolve) => setImmediate(resolve));
    sessions.write(1, session(1, 3));
    await sessions.flushNow();

    const stored = (await connection.client.call('HGET', connection.key('sessions'), 1)) as string;
    assert.equal((JSON.parse(stored) as ShardSession).sequence, 3, 'an older session landed last');
    assert.equal(await scriptCalls(connection), 2, 'not one script per batch');
  });
});
