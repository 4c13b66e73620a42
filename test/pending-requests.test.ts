import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestTimeoutError } from '../src/index.js';
import { PendingRequests } from '../src/ipc/pending-requests.js';

const timeout = (event: string) => () => new RequestTimeoutError(event, 1, 'a test peer');

describe('PendingRequests.whenEmpty', () => {
  it('resolves at once when nothing waits', async () => {
    await new PendingRequests().whenEmpty();
  });

  it('resolves when the last request is answered', async () => {
    const pending = new PendingRequests();
    const first = pending.add('1', 'a', 60_000, timeout('a'));
    const second = pending.add('2', 'b', 60_000, timeout('b'));
    let empty = false;
    const idle = pending.whenEmpty().then(() => (empty = true));
    assert.equal(pending.reject('2', new Error('two')), true);
    await assert.rejects(second, /two/);
    await Promise.resolve();
    assert.equal(empty, false, 'resolved while a request still waited');
    assert.equal(pending.resolve('1', 'a', 'one'), 'settled');
    assert.equal(await first, 'one');
    await idle;
  });

  it('resolves when the last request fails, alone or with all the others', async () => {
    const pending = new PendingRequests();
    const lone = pending.add('1', 'a', 60_000, timeout('a'));
    const idleAfterOne = pending.whenEmpty();
    pending.reject('1', new Error('one'));
    await assert.rejects(lone, /one/);
    await idleAfterOne;
    const requests = [
      pending.add('2', 'b', 60_000, timeout('b')),
      pending.add('3', 'c', 60_000, timeout('c')),
    ];
    const idleAfterAll = pending.whenEmpty();
    pending.rejectAll(new Error('gone'));
    for (const request of requests) await assert.rejects(request, /gone/);
    await idleAfterAll;
    assert.equal(pending.size, 0);
  });

  it('resolves when the last request times out', async () => {
    const pending = new PendingRequests();
    // Its deadline is read from performance.now(), which mocked timers do not move: a real one.
    const request = pending.add('1', 'slow', 10, timeout('slow'));
    const idle = pending.whenEmpty();
    await assert.rejects(request, RequestTimeoutError);
    await idle;
  });
});
