// The cluster's identify gate against a real redis-server: two hosts' gates share one bucket,
// timed from the IDENTIFY sent; a host that cannot reach Redis grants nothing until it can, and
// then waits out the windows a restarted Redis forgot.
import assert from 'node:assert/strict';
import { Logger } from '@nestjs/common';
import { afterEach, describe, it } from 'node:test';
import { filter, firstValueFrom, Subject } from 'rxjs';
import type { BudgetSeed } from '../src/coordination/cluster-identify.gate.js';
import { ClusterCoordination } from '../src/coordination/cluster.coordination.js';
import { ClusterMembership } from '../src/manager/cluster.membership.js';
import { IdentifyBroker } from '../src/discord/identify.broker.js';
import { LibraryEvent } from '../src/protocol/protocol.constants.js';
import { resolveCoordination } from '../src/coordination/coordination.defaults.js';
import { cleanUp, defer } from './support/cleanup.js';
import { startRedis } from './support/redis-server.js';

afterEach(cleanUp);

const WINDOW = 200;

/** A logger whose warnings a test can await. */
class WatchedLogger extends Logger {
  readonly warnings = new Subject<string>();
  override warn(message: unknown) {
    this.warnings.next(String(message));
  }
  override log() {}
  override debug() {}
}

/** Joins cluster `gate-test` at `socket` as host `hostId`, left after the test. */
async function join(
  socket: string,
  hostId: string,
  logger = new WatchedLogger(),
  pacing: { maxConcurrency: number; budgetSeed: () => BudgetSeed | undefined } = {
    maxConcurrency: 1,
    budgetSeed: () => undefined,
  },
) {
  const coordination = await ClusterCoordination.open(
    resolveCoordination({ redis: socket, cluster: 'gate-test', hostId }),
    { ...pacing, window: WINDOW },
    logger,
  );
  defer(() => coordination.close());
  return { gate: coordination.gate, logger, connection: coordination.connection };
}

describe("the cluster's identify gate", () => {
  it('counts the IDENTIFYs of a host that knows no budget against the one another host seeded', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const seeded = { remaining: 10, resetAfter: 3_600_000 };
    const a = await join(redis.socket, 'host-a', undefined, {
      maxConcurrency: 2,
      budgetSeed: () => seeded,
    });
    const b = await join(redis.socket, 'host-b', undefined, {
      maxConcurrency: 2,
      budgetSeed: () => undefined,
    });
    await a.gate.acquire(0, new AbortController().signal);
    await b.gate.acquire(1, new AbortController().signal);
    assert.equal(await a.connection.client.call('GET', a.connection.key('budget')), '8');
  });

  it("seeds a budget Redis lost mid-day from the host's count as it stands, not at its start", async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const broker = new IdentifyBroker();
    const membership = new ClusterMembership(broker);
    defer(() => broker.onApplicationShutdown());
    defer(() => membership.onApplicationShutdown());
    broker.start({
      totalShards: 2,
      window: WINDOW,
      api: 'http://unused',
      token: undefined,
      gateway: {
        url: 'wss://unused',
        shards: 2,
        session_start_limit: {
          total: 1000,
          remaining: 10,
          reset_after: 3_600_000,
          max_concurrency: 2,
        },
      },
    });
    await membership.join({ redis: redis.socket, cluster: 'gate-test', hostId: 'host-a' });
    const budget = await join(redis.socket, 'reader');
    const left = async () =>
      Number(await budget.connection.client.call('GET', budget.connection.key('budget')));
    await broker.handle(LibraryEvent.IDENTIFY_SLOT, { shardId: 0 }, () => 0);
    const afterFirst = await left();
    // Redis restarted without its data (or the key was evicted) later that day.
    await budget.connection.client.call('DEL', budget.connection.key('budget'));
    await broker.handle(LibraryEvent.IDENTIFY_SLOT, { shardId: 1 }, () => 1);
    assert.equal(afterFirst, 9);
    assert.equal(
      await left(),
      8,
      'the second IDENTIFY was counted from the budget this host had when it joined',
    );
  });

  it('lets one host at a time through a bucket, the next a window after the IDENTIFY sent', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const a = await join(redis.socket, 'host-a');
    const b = await join(redis.socket, 'host-b');

    const order: string[] = [];
    await a.gate.acquire(0, new AbortController().signal);
    order.push('a granted');
    let sentAt = 0;
    const second = b.gate.acquire(1, new AbortController().signal).then(() => {
      order.push('b granted');
      return Date.now() - sentAt;
    });
    // Host A holds its IDENTIFY a while (a loaded instance); B waits all along.
    await new Promise((resolve) => setTimeout(resolve, WINDOW));
    sentAt = Date.now();
    order.push('a sent');
    await a.gate.sent(0);
    const afterSent = await second;
    assert.deepEqual(order, ['a granted', 'a sent', 'b granted']);
    assert.ok(afterSent >= WINDOW, `B went ${afterSent} ms after A's IDENTIFY`);
  });

  it('grants nothing while Redis is down, and waits out a window after it is back', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const host = await join(redis.socket, 'host-a');
    await host.gate.acquire(0, new AbortController().signal);
    await host.gate.sent(0);

    await redis.kill();
    const unreachable = firstValueFrom(
      host.logger.warnings.pipe(filter((line) => line.includes('cannot be reached'))),
    );
    let granted = false;
    const next = host.gate.acquire(1, new AbortController().signal).then(() => {
      granted = true;
    });
    await unreachable;
    assert.equal(granted, false, 'granted without Redis');

    const cautious = firstValueFrom(
      host.logger.warnings.pipe(filter((line) => line.includes('dropped'))),
    );
    await redis.restart();
    await cautious;
    assert.equal(granted, false, 'granted before waiting out the windows Redis forgot');
    await next;
  });

  it('gives up a wait when its signal aborts', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const host = await join(redis.socket, 'host-a');
    await host.gate.acquire(0, new AbortController().signal);
    const controller = new AbortController();
    const waiting = host.gate.acquire(1, controller.signal);
    controller.abort();
    await assert.rejects(waiting, { code: 'ERR_SHARDING_IDENTIFY_CANCELLED' });
  });
});
