import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  BackpressureError,
  ConnectionLostError,
  NotConnectedError,
  PayloadTooLargeError,
  RemoteHandlerError,
  RequestTimeoutError,
} from '../src/index.js';
import { cleanUp } from './support/cleanup.js';
import { clientFor, startInstance, startLink } from './support/link.js';
import { nextMessage } from './support/processes.js';

afterEach(cleanUp);

describe('requests over one connection', () => {
  it('correlates many concurrent requests with their replies by event id', async () => {
    const { client } = await startLink();
    const values = Array.from({ length: 200 }, (_, index) => ({ index }));
    const replies = await Promise.all(values.map((value) => client.request('echo', value)));
    assert.deepEqual(replies, values);
    assert.equal(client.pendingRequests, 0);
  });

  it("delivers events to the instance's handler", async () => {
    const { child, client } = await startLink();
    const notified = nextMessage<{ type: string; data: unknown }>(child, 'notified');
    client.send('notify', { hello: 'instance' });
    assert.deepEqual((await notified).data, { hello: 'instance' });
  });

  it("rejects with the handler's error, typed, and the link goes on", async () => {
    const { client } = await startLink();
    await assert.rejects(client.request('throw'), (error: unknown) => {
      assert.ok(error instanceof RemoteHandlerError);
      assert.equal(error.remoteName, 'TypeError');
      assert.match(error.message, /"throw" on instance 0 failed: TypeError: boom/);
      return true;
    });
    await assert.rejects(client.request('no-such-event'), RemoteHandlerError);
    assert.equal(await client.request('echo', 1), 1);
  });

  it('times out with a typed error and ignores the late reply', async () => {
    const handled: string[] = [];
    const { client } = await startLink({
      dispatchHandler: (_data, context) => void handled.push(context.event),
    });
    await assert.rejects(client.request('slow', { ms: 500 }, { timeout: 50 }), (error: unknown) => {
      assert.ok(error instanceof RequestTimeoutError);
      assert.equal(error.code, 'ERR_SHARDING_REQUEST_TIMEOUT');
      return true;
    });
    assert.equal(client.pendingRequests, 0);
    // The late reply is dropped: neither taken for a new event nor for another request's reply.
    assert.equal(await client.request('slow', { ms: 600 }), 'slow done');
    assert.deepEqual(handled, []);
  });

  it('rejects every pending request at once when the instance dies', async () => {
    const { child, client } = await startLink({ heartbeatInterval: 60_000 });
    const pending = Array.from({ length: 5 }, () =>
      client.request('slow', { ms: 60_000 }, { timeout: 120_000 }),
    );
    // Make sure the requests are in flight before the kill.
    assert.equal(await client.request('echo', 'sync'), 'sync');
    child.kill('SIGKILL');
    const results = await Promise.allSettled(pending);
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.ok(result.reason instanceof ConnectionLostError);
      assert.equal(result.reason.reason, 'socket-closed');
    }
    await assert.rejects(client.request('echo', 1), NotConnectedError);
  });

  it('rejects a request too large for a frame with a typed error and keeps the link', async () => {
    const { client } = await startLink();
    const tooBig = 'x'.repeat(1024 * 1024 + 1);
    await assert.rejects(client.request('echo', tooBig), PayloadTooLargeError);
    assert.throws(() => client.send('echo', tooBig), PayloadTooLargeError);
    assert.equal(await client.request('echo', 'fine'), 'fine');
    assert.equal(client.state, 'identified');
  });

  it('refuses sends under backpressure with a typed error, and the link survives', async () => {
    // A long heartbeat span: the burst keeps both event loops busy, and that is not the test.
    const { client } = await startLink({ heartbeatInterval: 60_000 });
    const chunk = 'b'.repeat(900 * 1024);
    const refused: unknown[] = [];
    for (let i = 0; i < 16; i++) {
      try {
        client.send('sink', chunk);
      } catch (error) {
        refused.push(error);
      }
    }
    assert.ok(refused.length > 0, 'nothing was refused: the test did not build backpressure');
    assert.ok(refused.every((error) => error instanceof BackpressureError));
    assert.equal(client.state, 'identified');
    await client.whenWritable();
    assert.equal(await client.request('echo', 'after the burst'), 'after the burst');
  });

  it('lets the instance request the manager', async () => {
    const { client } = await startLink({
      dispatchHandler: (data, context) => ({
        seen: data,
        from: context.from,
        event: context.event,
      }),
    });
    const reply = await client.request('ask-manager', { q: 1 });
    assert.deepEqual(reply, { seen: { q: 1 }, from: 0, event: 'from-instance' });
  });

  it('refuses to send before IDENTIFY', async () => {
    const started = await startInstance();
    const client = clientFor(started);
    assert.throws(() => client.send('echo', 1), NotConnectedError);
    await assert.rejects(client.request('echo', 1), NotConnectedError);
  });
});
