import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { RemoteHandlerError, type DispatchContext } from '../src/index.js';
import { IPC_MESSAGE_EVENT } from '../src/ipc/index.js';
import { cleanUp } from './support/cleanup.js';
import { fakeInstance, packetFrame } from './support/wire.js';
import { startLink } from './support/link.js';

afterEach(cleanUp);

describe('the manager before it accepts IDENTIFY', () => {
  it('acts on nothing but IDENTIFY, INVALID_SESSION and ERROR', async () => {
    const handled: DispatchContext[] = [];
    const packets: number[] = [];
    const { client, peer, reader } = await fakeInstance({
      client: { dispatchHandler: (_data, context) => void handled.push(context) },
      beforeIdentify: (early) => {
        early.write(packetFrame({ op: 0, t: 'early-event', d: { event_id: '1', from: 0 } }));
        early.write(
          packetFrame({ op: 0, t: 'early-request', d: { event_id: '2', from: 0, reply: true } }),
        );
        early.write(packetFrame({ op: 7, d: { seq: 1, ts: Date.now() } }));
        // ERROR is allowed: it settles nothing, since nothing was asked yet.
        early.write(
          packetFrame({ op: 4, d: { event_id: '3', error: { name: 'E', message: 'm' } } }),
        );
      },
    });
    client.packets$.subscribe((packet) => packets.push(packet.op));

    // The same packets after IDENTIFY are acted on: the handler answers the request.
    peer.write(
      packetFrame({ op: 0, t: 'late-request', d: { event_id: '4', from: 0, reply: true } }),
    );
    const reply = await reader.next((packet) => packet.d.event_id === '4');
    assert.equal(reply.t, 'late-request');

    assert.deepEqual(
      handled.map((context) => context.event),
      ['late-request'],
      'a dispatch sent before IDENTIFY reached the handler',
    );
    assert.equal(
      reader.packets.some((packet) => packet.d.event_id === '2'),
      false,
      'a request sent before IDENTIFY was answered',
    );
    assert.equal(client.rejectedPackets, 3);
    assert.deepEqual(packets, [0]);
    assert.equal(client.state, 'identified');
  });
});

describe('replies', () => {
  it('the manager settles a request only with a reply of the same event, from its instance', async () => {
    const { client, peer, reader } = await fakeInstance();
    const reply = client.request('echo', 'question');
    const request = await reader.next((packet) => packet.op === 0 && packet.t === 'echo');
    const eventId = request.d.event_id!;
    const answer = (t: string, from: unknown, data: string) =>
      peer.write(packetFrame({ op: 0, t, d: { event_id: eventId, from, data } }));
    answer('other', 0, 'another event');
    answer('echo', 5, 'another instance');
    answer('echo', 'manager', 'the manager itself');
    answer('echo', 0, 'the answer');
    assert.equal(await reply, 'the answer');
    assert.equal(client.rejectedPackets, 3);
    assert.equal(client.pendingRequests, 0);

    // ERROR names no event: it settles by event id on its connection.
    const failing = client.request('echo', 'again');
    const second = await reader.next((packet) => packet.op === 0 && packet.d.event_id !== eventId);
    peer.write(
      packetFrame({
        op: 4,
        d: { event_id: second.d.event_id, error: { name: 'RangeError', message: 'no' } },
      }),
    );
    await assert.rejects(failing, RemoteHandlerError);
  });

  it('the instance settles a request only with a reply of the same event, from its manager', async () => {
    const { client } = await startLink({
      dispatchHandler: (_data, context) => {
        // Before the real reply, two that must not settle the instance's request.
        const { connection } = client as unknown as {
          connection: { emit(type: string, data: unknown): void };
        };
        const wrong = (t: string, from: unknown, data: string) =>
          connection.emit(IPC_MESSAGE_EVENT, {
            op: 0,
            t,
            d: { event_id: context.eventId, from, data },
          });
        wrong('other', 'manager', 'another event');
        wrong(context.event, 3, 'an instance');
        return 'the answer';
      },
    });
    const stats = () => client.request<{ rejectedPackets: number }>('stats');
    const before = (await stats()).rejectedPackets;
    assert.equal(await client.request('ask-manager', 'question'), 'the answer');
    assert.equal((await stats()).rejectedPackets - before, 2);
  });
});
