import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { DispatchContext } from '../src/index.js';
import { cleanUp } from './support/cleanup.js';
import { fakeInstance, packetFrame } from './support/fake-instance.js';

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
