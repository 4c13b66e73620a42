import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { BackpressureError, type IpcClient } from '../src/index.js';
import { COALESCE_LIMIT } from '../src/ipc/frame-writer.js';
import { MAX_PENDING_BYTES } from '../src/ipc/node-ipc.endpoint.js';
import { cleanUp } from './support/cleanup.js';
import { fakeInstance, type PacketReader } from './support/wire.js';

afterEach(cleanUp);

/** Counts the writes made on the client's real socket (and their characters), passing them on. */
function countWrites(client: IpcClient): { writes: number; characters: number } {
  const socket = (client as unknown as { connection: { socket: Socket } }).connection.socket;
  const counted = { writes: 0, characters: 0 };
  const write = socket.write.bind(socket) as (chunk: string) => boolean;
  socket.write = ((chunk: string) => {
    counted.writes++;
    counted.characters += chunk.length;
    return write(chunk);
  }) as Socket['write'];
  return counted;
}

/** The `data` of every DISPATCH named `event` the fake instance has read, in order. */
function received(reader: PacketReader, event: string): unknown[] {
  return reader.packets.filter((packet) => packet.t === event).map((packet) => packet.d.data);
}

describe('writes coalesced per turn (IpcClient to a fake instance)', () => {
  it('writes a burst of one turn in a few writes, in order, and still delivers it when the link closes in that turn', async () => {
    const { client, peer, reader } = await fakeInstance();
    const counted = countWrites(client);
    // Everything the client wrote has been read when the fake instance sees the link end.
    const ended = once(peer, 'end');
    // Few bytes, but as separate writes more than the socket's kernel buffer takes (each write
    // costs a buffer of its own): written one by one, a close right after loses the rest.
    const burst = 400;
    for (let n = 0; n < burst; n++) client.send('burst', n);
    await client.close();
    await ended;
    assert.deepEqual(
      received(reader, 'burst'),
      Array.from({ length: burst }, (_, n) => n),
    );
    // One write for the first frame of the turn, then one per coalescing limit at most.
    const most = 2 + Math.floor(counted.characters / COALESCE_LIMIT);
    assert.ok(counted.writes <= most, `${counted.writes} writes for ${burst} frames`);
  });

  it('never holds more than the coalescing limit back, and refuses a burst past the pending cap with BackpressureError', async () => {
    const { client, peer, reader } = await fakeInstance();
    peer.pause(); // nothing is read: what is written stays pending
    const counted = countWrites(client);
    const data = 'x'.repeat(100 * 1024);
    let accepted = 0;
    let refusal: unknown;
    try {
      for (; accepted < 1_000; accepted++) client.send('big', { n: accepted, data });
    } catch (error) {
      refusal = error;
    }
    assert.ok(refusal instanceof BackpressureError, `got ${String(refusal)}`);
    assert.ok(accepted * data.length <= MAX_PENDING_BYTES, `${accepted} frames accepted`);
    // Within the same turn, all but at most the limit has gone to the socket already.
    assert.ok(counted.characters >= accepted * data.length - COALESCE_LIMIT);
    assert.equal(client.state, 'identified');

    peer.resume();
    await reader.next(
      (packet) => packet.t === 'big' && (packet.d.data as { n: number }).n === accepted - 1,
    );
    assert.deepEqual(
      received(reader, 'big').map((value) => (value as { n: number }).n),
      Array.from({ length: accepted }, (_, n) => n),
    );
    // The link goes on once the peer reads again.
    client.send('after', 1);
    await reader.next((packet) => packet.t === 'after');
  });
});
