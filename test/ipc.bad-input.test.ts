import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { firstValueFrom, filter } from 'rxjs';
import { IPC_MESSAGE_EVENT, IpcOpCode, type IpcPacket } from '../src/ipc/index.js';
import { cleanUp } from './support/cleanup.js';
import { fakeInstance, frame, packetFrame, rawSocket, strangerHello } from './support/wire.js';
import { startLink } from './support/link.js';

afterEach(cleanUp);

/** Resolves when the socket is closed by the other end. */
const closedByPeer = (socket: Socket) => once(socket, 'close');

describe('bad input to the instance (IpcServer)', () => {
  it('drops bad packets on the manager link, counted, and the link goes on', async () => {
    const { client } = await startLink();
    const send = (packet: unknown) =>
      (
        client as unknown as { connection: { emit(type: string, data: unknown): void } }
      ).connection.emit(IPC_MESSAGE_EVENT, packet);
    const before = ((await client.request('stats')) as { rejectedPackets: number }).rejectedPackets;
    send({ op: 99, d: {} }); // unknown op
    send({ op: 3, d: {} }); // reserved op
    send({ op: 0, d: { event_id: '1', from: 'manager' } }); // DISPATCH without t
    send({ op: 8, d: { seq: 'one', ts: 1 } }); // mistyped field
    send('a string'); // not an object
    send({ op: 1, d: { id: 'x', event_id: 'y', pid: 1, shards: [] } }); // IDENTIFY from a manager
    const after = ((await client.request('stats')) as { rejectedPackets: number }).rejectedPackets;
    assert.equal(after - before, 6);
    assert.equal(client.state, 'identified');
  });

  it('closes only a stranger sending malformed frames; the manager link goes on', async () => {
    const { client, socketRoot, instanceId } = await startLink();
    const path = `${socketRoot}/ddoo${instanceId}`;

    const bad: Array<[string, string]> = [
      ['non-JSON', 'this is not json\f'],
      ['JSON that is not an object', '[1,2,3]\f'],
      [
        'an oversized frame',
        `{"type":"${IPC_MESSAGE_EVENT}","data":"${'x'.repeat(1024 * 1024)}"}\f`,
      ],
      ['an oversized partial frame', 'y'.repeat(1024 * 1024 + 10)],
      ['a reserved event name', frame({ type: 'connect', data: {} })],
    ];
    for (const [what, payload] of bad) {
      const socket = await rawSocket(path);
      const closed = closedByPeer(socket);
      socket.write(payload);
      await closed;
      assert.equal(client.state, 'identified', `after ${what}`);
    }
    assert.deepEqual(await client.request('echo', 'still fine'), 'still fine');
  });

  it('drops well-formed strangers (unknown event, packets before HELLO) and refuses a wrong HELLO', async () => {
    const { client, socketRoot, instanceId } = await startLink();
    const socket = await rawSocket(`${socketRoot}/ddoo${instanceId}`);
    const before = ((await client.request('stats')) as { rejectedPackets: number }).rejectedPackets;
    socket.write(frame({ type: 'some.other.event', data: {} }));
    socket.write(
      packetFrame({ op: 0, t: 'echo', d: { event_id: '1', from: 'manager', reply: true } }),
    );
    socket.write(packetFrame({ op: 8, d: { seq: 1, ts: 1 } }));
    const reply = once(socket, 'data');
    socket.write(strangerHello);
    const [chunk] = (await reply) as [Buffer];
    const answer = JSON.parse(chunk.toString().split('\f')[0]!) as { data: IpcPacket };
    assert.deepEqual(answer.data, { op: IpcOpCode.INVALID_SESSION, d: { id: instanceId } });
    const after = ((await client.request('stats')) as { rejectedPackets: number }).rejectedPackets;
    assert.equal(after - before, 3);
    assert.equal(client.state, 'identified');
  });
});

describe('bad input to the manager (IpcClient)', () => {
  it('drops unknown ops and bad shapes, counted, and stays identified', async () => {
    const { client, peer } = await fakeInstance();
    peer.write(packetFrame({ op: 42, d: {} }));
    peer.write(packetFrame({ op: 7, d: { seq: -1, ts: 0 } }));
    peer.write(packetFrame({ op: 2, d: {} }));
    peer.write(
      packetFrame({ op: 1, d: { id: '77', event_id: 'not-the-hello', pid: 1, shards: [] } }),
    );
    peer.write(frame({ type: 'unknown.event', data: 1 }));
    const heartbeat = firstValueFrom(client.heartbeat$.pipe(filter((beat) => beat.seq === 5)));
    peer.write(packetFrame({ op: 7, d: { seq: 5, ts: Date.now() } }));
    await heartbeat;
    assert.equal(client.rejectedPackets, 5);
    assert.equal(client.state, 'identified');
  });

  it('reports a protocol error and closes the link on a malformed frame, without crashing', async () => {
    const { client, peer } = await fakeInstance();
    const lost = firstValueFrom(client.lost$);
    peer.write('{"type": broken\f');
    const { reason } = await lost;
    assert.equal(reason, 'protocol-error');
    assert.equal(client.state, 'lost');
  });

  it('reports a protocol error on an oversized frame', async () => {
    const { client, peer } = await fakeInstance();
    const lost = firstValueFrom(client.lost$);
    peer.write(
      packetFrame({ op: 0, t: 'x', d: { event_id: '1', from: 0, data: 'z'.repeat(1024 * 1024) } }),
    );
    assert.equal((await lost).reason, 'protocol-error');
  });
});
