// The cluster's identify gate against a real redis-server: two hosts' gates share one bucket,
// timed from the IDENTIFY sent; a host that cannot reach Redis grants nothing until it can, and
// then waits out the windows a restarted Redis forgot.
import assert from 'node:assert/strict';
import { Logger } from '@nestjs/common';
import { afterEach, describe, it } from 'node:test';
import { filter, firstValueFrom, Subject } from 'rxjs';
import { ClusterCoordination } from '../src/coordination/cluster.coordination.js';
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
async function join(socket: string, hostId: string, logger = new WatchedLogger()) {
  const coordination = await ClusterCoordination.open(
    resolveCoordination({ redis: socket, cluster: 'gate-test', hostId }),
    { maxConcurrency: 1, window: WINDOW, budgetSeed: () => undefined },
    logger,
  );
  defer(() => coordination.close());
  return { gate: coordination.gate, logger };
}

describe("the cluster's identify gate", () => {
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
