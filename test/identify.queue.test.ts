// IdentifyQueue on a mocked clock (setTimeout and Date): grant times are exact, not "at least".
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  IdentifyBudgetExhaustedError,
  IdentifyCancelledError,
  IdentifyQueue,
  type IdentifyGrant,
} from '../src/index.js';

/** Mocks setTimeout and Date from time 0. */
function mockClock(t: TestContext): void {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
}

/** Lets every promise settled by the timers so far run its callbacks (setImmediate is real). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Moves the mocked clock on by `ms` and lets the callbacks run. */
async function advance(t: TestContext, ms: number): Promise<void> {
  t.mock.timers.tick(ms);
  await settle();
}

/** The shard and time of each grant, for comparing with the expected schedule. */
const schedule = (grants: IdentifyGrant[]) => grants.map((grant) => [grant.shardId, grant.at]);

/** Every grant of `queue`, as it happens. */
function recordGrants(queue: IdentifyQueue): IdentifyGrant[] {
  const grants: IdentifyGrant[] = [];
  queue.grant$.subscribe((grant) => grants.push(grant));
  return grants;
}

describe('IdentifyQueue', () => {
  it('grants one IDENTIFY per bucket per window, buckets in parallel', async (t) => {
    mockClock(t);
    const queue = new IdentifyQueue({ maxConcurrency: 2, window: 40 });
    const grants = recordGrants(queue);
    const all = Promise.all([0, 1, 2, 3, 4, 5].map((shard) => queue.acquire(shard)));
    await settle();
    // Each bucket's first grant is immediate: only the second and later wait.
    assert.deepEqual(
      grants.map((grant) => [grant.shardId, grant.at]),
      [
        [0, 0],
        [1, 0],
      ],
    );
    await advance(t, 39);
    assert.equal(grants.length, 2, 'a bucket granted twice within one window');
    await advance(t, 1);
    await advance(t, 40);
    await all;
    assert.deepEqual(
      grants.map((grant) => [grant.shardId, grant.bucket, grant.at]),
      [
        [0, 0, 0],
        [1, 1, 0],
        [2, 0, 40],
        [3, 1, 40],
        [4, 0, 80],
        [5, 1, 80],
      ],
    );
    assert.deepEqual(queue.progress, { granted: 6, waiting: 0, maxConcurrency: 2, window: 40 });
    queue.close();
  });

  it('serves a bucket first come, first served', async (t) => {
    mockClock(t);
    const queue = new IdentifyQueue({ maxConcurrency: 1, window: 5 });
    const order: number[] = [];
    const all = Promise.all(
      [4, 2, 9, 1].map((shard) => queue.acquire(shard).then(() => order.push(shard))),
    );
    await settle();
    assert.equal(queue.progress.waiting, 3);
    for (let i = 0; i < 3; i++) await advance(t, 5);
    await all;
    assert.deepEqual(order, [4, 2, 9, 1]);
    queue.close();
  });

  it('cancels a wait through its signal, and the slot goes to the next shard', async (t) => {
    mockClock(t);
    const queue = new IdentifyQueue({ maxConcurrency: 1, window: 50 });
    const grants = recordGrants(queue);
    await queue.acquire(0);
    const controller = new AbortController();
    const cancelled = queue.acquire(1, controller.signal);
    const next = queue.acquire(2);
    controller.abort();
    await assert.rejects(cancelled, IdentifyCancelledError);
    await advance(t, 50);
    await next;
    assert.deepEqual(
      grants.map((grant) => [grant.shardId, grant.at, grant.waited]),
      [
        [0, 0, 0],
        [2, 50, 50],
      ],
    );
    queue.close();
  });

  it('cancels every wait of a shard, and only that shard', async (t) => {
    mockClock(t);
    const queue = new IdentifyQueue({ maxConcurrency: 1, window: 50 });
    await queue.acquire(0);
    const first = queue.acquire(3);
    const second = queue.acquire(3);
    const other = queue.acquire(4);
    queue.cancel(3);
    await assert.rejects(first, IdentifyCancelledError);
    await assert.rejects(second, IdentifyCancelledError);
    assert.equal(queue.progress.waiting, 1);
    await advance(t, 50);
    await other;
    queue.close();
  });

  it('waits for the daily budget to reset, then grants again', async (t) => {
    mockClock(t);
    const queue = new IdentifyQueue({
      maxConcurrency: 1,
      window: 1,
      remaining: 2,
      total: 5,
      resetAfter: 100,
    });
    const grants = recordGrants(queue);
    await queue.acquire(0);
    const second = queue.acquire(1);
    await advance(t, 1);
    await second;
    assert.deepEqual(queue.budget, { total: 5, remaining: 0, resetAfter: 99 });
    const third = queue.acquire(2); // the budget is used up: this one waits for the reset
    await advance(t, 98);
    assert.equal(grants.length, 2, 'granted before the budget reset');
    await advance(t, 1);
    await third;
    assert.deepEqual(
      grants.map((grant) => grant.at),
      [0, 1, 100],
    );
    // A new day: the whole budget less this grant, and the next reset a day away.
    assert.deepEqual(queue.budget, { total: 5, remaining: 4, resetAfter: 24 * 60 * 60 * 1000 });
    queue.close();
  });

  it('refuses once the daily budget is used up and its reset is unknown', async (t) => {
    mockClock(t);
    const queue = new IdentifyQueue({ maxConcurrency: 1, window: 1, remaining: 2 });
    await queue.acquire(0);
    const second = queue.acquire(1);
    await advance(t, 1);
    await second;
    const refused = assert.rejects(queue.acquire(2), IdentifyBudgetExhaustedError);
    await advance(t, 1);
    await refused;
    queue.close();
  });

  it('rejects every wait on close', async (t) => {
    mockClock(t);
    const queue = new IdentifyQueue({ maxConcurrency: 1, window: 60_000 });
    await queue.acquire(0);
    const waiting = queue.acquire(1);
    queue.close();
    await assert.rejects(waiting, IdentifyCancelledError);
    await assert.rejects(queue.acquire(2), IdentifyCancelledError);
  });

  it('times a window from the IDENTIFY-sent report, never earlier than from the grant', async (t) => {
    mockClock(t);
    const queue = new IdentifyQueue({ maxConcurrency: 1, window: 40, sentReportGrace: 100 });
    const grants = recordGrants(queue);
    await queue.acquire(0);
    const second = queue.acquire(1);
    const third = queue.acquire(2);
    await advance(t, 30);
    // Sent 30 ms after its grant: the next window runs from here, not from the grant.
    queue.sent(0);
    await advance(t, 39);
    assert.equal(grants.length, 1, 'granted within a window of the IDENTIFY sent');
    await advance(t, 1);
    await second;
    // A report at once: the window is still one from the grant.
    queue.sent(1);
    await advance(t, 40);
    await third;
    assert.deepEqual(schedule(grants), [
      [0, 0],
      [1, 70],
      [2, 110],
    ]);
    queue.close();
  });

  it('frees a bucket whose report never comes after the window and the grace', async (t) => {
    mockClock(t);
    const queue = new IdentifyQueue({ maxConcurrency: 1, window: 40, sentReportGrace: 100 });
    const grants = recordGrants(queue);
    await queue.acquire(0);
    const second = queue.acquire(1);
    await advance(t, 139);
    assert.equal(grants.length, 1, 'freed before the window and the grace ran out');
    await advance(t, 1);
    await second;
    await advance(t, 5);
    queue.sent(1);
    // Shard 0's report comes after all, after shard 1's: an IDENTIFY went then, so the next
    // window runs from it.
    await advance(t, 15);
    queue.sent(0);
    const third = queue.acquire(2);
    await advance(t, 39);
    assert.equal(grants.length, 2, 'a late report did not hold the bucket');
    await advance(t, 1);
    await third;
    assert.deepEqual(schedule(grants), [
      [0, 0],
      [1, 140],
      [2, 200],
    ]);
    queue.close();
  });
});
