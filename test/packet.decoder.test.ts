import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePacket, IpcOpCode, type PacketRejectionCode } from '../src/ipc/index.js';
import { isWellFormedHeartbeat } from '../src/protocol/packet.decoder.js';

const hello = {
  id: '1',
  event_id: '2',
  instance: 0,
  shards: [0, 1],
  total_shards: 2,
  heartbeat_interval: 5000,
};

function rejectionOf(value: unknown): { code: PacketRejectionCode; field?: string } {
  const result = decodePacket(value);
  assert.equal(result.ok, false, `expected ${JSON.stringify(value)} to be rejected`);
  return result.ok ? { code: 'NOT_AN_OBJECT' } : result.rejection;
}

describe('decodePacket', () => {
  it('accepts every packet of the protocol table', () => {
    const packets = [
      {
        op: IpcOpCode.DISPATCH,
        t: 'EVENT',
        d: { event_id: '1', from: 'manager', data: { any: 1 } },
      },
      {
        op: IpcOpCode.DISPATCH,
        t: 'EVENT',
        d: { event_id: '1', from: 3, reply: true, to: { guild: '9' } },
      },
      { op: IpcOpCode.DISPATCH, t: 'EVENT', d: { event_id: '1', from: 3, to: [1, 2] } },
      { op: IpcOpCode.IDENTIFY, d: { id: '1', event_id: '2', pid: 10, shards: [0] } },
      { op: IpcOpCode.HELLO, d: hello },
      { op: IpcOpCode.HELLO, d: { ...hello, lease_ttl: 3000 } },
      {
        op: IpcOpCode.ERROR,
        d: { event_id: '1', error: { name: 'Error', message: 'x', code: 'E' } },
      },
      { op: IpcOpCode.INVALID_SESSION, d: { id: '1' } },
      {
        op: IpcOpCode.HEARTBEAT,
        d: { seq: 1, ts: 1.5, rss: 1, heapUsed: 2, eventLoopLag: 0.1, rtt: 0.2 },
      },
      { op: IpcOpCode.HEARTBEAT_ACK, d: { seq: 1, ts: 1.5 } },
    ];
    for (const packet of packets) {
      const result = decodePacket(packet);
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.packet, packet);
    }
  });

  it('rejects with a typed reason, never a throw', () => {
    const cases: Array<[unknown, PacketRejectionCode, string?]> = [
      [null, 'NOT_AN_OBJECT'],
      ['text', 'NOT_AN_OBJECT'],
      [[1, 2], 'NOT_AN_OBJECT'],
      [{ d: {} }, 'BAD_FIELD', 'op'],
      [{ op: '0', d: {} }, 'BAD_FIELD', 'op'],
      [{ op: 1.5, d: {} }, 'BAD_FIELD', 'op'],
      [{ op: 99, d: {} }, 'UNKNOWN_OP', 'op'],
      [{ op: -1, d: {} }, 'UNKNOWN_OP', 'op'],
      [{ op: 3, d: {} }, 'RESERVED_OP', 'op'],
      [{ op: 5, d: {} }, 'RESERVED_OP', 'op'],
      [{ op: 0, d: { event_id: '1', from: 0 } }, 'DISPATCH_WITHOUT_EVENT', 't'],
      [{ op: 0, t: '', d: { event_id: '1', from: 0 } }, 'DISPATCH_WITHOUT_EVENT', 't'],
      [{ op: 7, t: 'X', d: { seq: 1, ts: 1 } }, 'EVENT_WITHOUT_DISPATCH', 't'],
      [{ op: 7 }, 'MISSING_FIELD', 'd'],
      [{ op: 7, d: [] }, 'BAD_FIELD', 'd'],
      [{ op: 7, d: { ts: 1 } }, 'MISSING_FIELD', 'd.seq'],
      [{ op: 7, d: { seq: -1, ts: 1 } }, 'BAD_FIELD', 'd.seq'],
      [{ op: 7, d: { seq: 1, ts: Infinity } }, 'BAD_FIELD', 'd.ts'],
      [{ op: 2, d: { ...hello, shards: [0, 'one'] } }, 'BAD_FIELD', 'd.shards'],
      [{ op: 2, d: { ...hello, id: 5 } }, 'BAD_FIELD', 'd.id'],
      [{ op: 2, d: { ...hello, lease_ttl: '3000' } }, 'BAD_FIELD', 'd.lease_ttl'],
      [{ op: 0, t: 'E', d: { event_id: '1', from: 'someone' } }, 'BAD_FIELD', 'd.from'],
      [{ op: 0, t: 'E', d: { event_id: '1', from: 0, to: 'some' } }, 'BAD_FIELD', 'd.to'],
      [{ op: 0, t: 'E', d: { event_id: '1', from: 0, reply: 'yes' } }, 'BAD_FIELD', 'd.reply'],
      [{ op: 4, d: { event_id: '1', error: 'boom' } }, 'BAD_FIELD', 'd.error'],
    ];
    for (const [value, code, field] of cases) {
      const rejection = rejectionOf(value);
      assert.equal(rejection.code, code, JSON.stringify(value));
      assert.equal(rejection.field, field, JSON.stringify(value));
    }
  });

  it('takes a heartbeat on its fast path only when the general path accepts it', () => {
    const heartbeats: unknown[] = [
      { op: 7, d: { seq: 1, ts: 1.5 } },
      { op: 7, t: null, d: { seq: 0, ts: 1, rss: 1, heapUsed: 2, eventLoopLag: 0, rtt: 0.2 } },
      { op: 7, d: { seq: 1, ts: 1, shards: [{ id: 0, state: 'ready' }], extra: 'x' } },
      { op: 7, t: 'X', d: { seq: 1, ts: 1 } },
      { op: 7 },
      { op: 7, d: [] },
      { op: 7, d: { ts: 1 } },
      { op: 7, d: { seq: -1, ts: 1 } },
      { op: 7, d: { seq: 1.5, ts: 1 } },
      { op: 7, d: { seq: 1, ts: Infinity } },
      { op: 7, d: { seq: 1, ts: '1' } },
      { op: 7, d: { seq: 1, ts: 1, rss: '1' } },
      { op: 7, d: { seq: 1, ts: 1, heapUsed: NaN } },
      { op: 7, d: { seq: 1, ts: 1, eventLoopLag: null } },
      { op: 7, d: { seq: 1, ts: 1, rtt: {} } },
      [7],
      null,
    ];
    for (const value of heartbeats) {
      const fast = isWellFormedHeartbeat(value);
      assert.equal(fast, decodePacket(value).ok, JSON.stringify(value));
    }
    assert.equal(heartbeats.filter(isWellFormedHeartbeat).length, 3);
    // Other ops, valid or not, take the general path.
    assert.equal(isWellFormedHeartbeat({ op: 8, d: { seq: 1, ts: 1 } }), false);
  });

  it('does not inspect application data or trip on prototype keys', () => {
    const result = decodePacket(
      JSON.parse('{"op":0,"t":"E","d":{"event_id":"1","from":0,"data":{"__proto__":{"x":1}}}}'),
    );
    assert.ok(result.ok);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});
