import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, take, toArray } from 'rxjs';
import {
  IdentifyBudgetExhaustedError,
  IdentifyCancelledError,
  IdentifyQueue,
} from '../src/index.js';

describe('IdentifyQueue', () => {
  it('grants one IDENTIFY per bucket per window, buckets in parallel', async () => {
    const queue = new IdentifyQueue({ maxConcurrency: 2, window: 40 });
    const grants = firstValueFrom(queue.grant$.pipe(take(6), toArray()));
    await Promise.all([0, 1, 2, 3, 4, 5].map((shard) => queue.acquire(shard)));
    const all = await grants;
    for (const bucket of [0, 1]) {
      const times = all.filter((grant) => grant.bucket === bucket).map((grant) => grant.at);
      assert.equal(times.length, 3);
      for (let i = 1; i < times.length; i++) {
        assert.ok(times[i]! - times[i - 1]! >= 40, `bucket ${bucket}: ${times}`);
      }
    }
    // Each bucket's first grant is immediate: only the second and later wait.
    assert.deepEqual(
      all
        .slice(0, 2)
        .map((grant) => grant.shardId)
        .toSorted(),
      [0, 1],
    );
    assert.equal(queue.progress.granted, 6);
    queue.close();
  });

  it('serves a bucket first come, first served', async () => {
    const queue = new IdentifyQueue({ maxConcurrency: 1, window: 5 });
    const order: number[] = [];
    await Promise.all(
      [4, 2, 9, 1].map((shard) => queue.acquire(shard).then(() => order.push(shard))),
    );
    assert.deepEqual(order, [4, 2, 9, 1]);
    queue.close();
  });

  it('cancels a wait through its signal, and the slot goes to the next shard', async () => {
    const queue = new IdentifyQueue({ maxConcurrency: 1, window: 50 });
    await queue.acquire(0);
    const controller = new AbortController();
    const cancelled = queue.acquire(1, controller.signal);
    const next = queue.acquire(2);
    controller.abort();
    await assert.rejects(cancelled, IdentifyCancelledError);
    await next;
    assert.equal(queue.progress.granted, 2);
    queue.close();
  });

  it('waits for the daily budget to reset, then grants again', async () => {
    const created = Date.now();
    const queue = new IdentifyQueue({
      maxConcurrency: 1,
      window: 1,
      remaining: 2,
      total: 5,
      resetAfter: 100,
    });
    const grants = firstValueFrom(queue.grant$.pipe(take(3), toArray()));
    await queue.acquire(0);
    await queue.acquire(1);
    await queue.acquire(2); // the budget is used up: this one waits for the reset
    const [, , third] = await grants;
    assert.ok(third!.at >= created + 100, `granted at +${third!.at - created} ms`);
    queue.close();
  });

  it('refuses once the daily budget is used up and its reset is unknown', async () => {
    const queue = new IdentifyQueue({ maxConcurrency: 1, window: 1, remaining: 2 });
    await queue.acquire(0);
    await queue.acquire(1);
    await assert.rejects(queue.acquire(2), IdentifyBudgetExhaustedError);
    queue.close();
  });

  it('rejects every wait on close', async () => {
    const queue = new IdentifyQueue({ maxConcurrency: 1, window: 60_000 });
    await queue.acquire(0);
    const waiting = queue.acquire(1);
    queue.close();
    await assert.rejects(waiting, IdentifyCancelledError);
    await assert.rejects(queue.acquire(2), IdentifyCancelledError);
  });
});
