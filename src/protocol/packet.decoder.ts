import { describeValue } from '../common/describe-value.js';
import { IpcOpCode } from './op-code.enum.js';
import type { IpcPacket, IpcPacketOf } from './ipc-packet.types.js';

/** Why a received value is not a packet of the protocol. */
export type PacketRejectionCode =
  | 'NOT_AN_OBJECT'
  | 'UNKNOWN_OP'
  | 'RESERVED_OP'
  | 'MISSING_FIELD'
  | 'BAD_FIELD'
  | 'DISPATCH_WITHOUT_EVENT'
  | 'EVENT_WITHOUT_DISPATCH'
  | 'UNKNOWN_EVENT_TYPE'
  | 'UNAUTHENTICATED'
  | 'WRONG_SENDER'
  | 'MISMATCHED_REPLY';

/** A typed reason for dropping a received value. */
export interface PacketRejection {
  code: PacketRejectionCode;
  /** The offending field, as a path such as `d.event_id`. */
  field?: string;
  /** A human-readable sentence for the log. */
  message: string;
}

/** The outcome of {@link decodePacket}. */
export type DecodeResult =
  { ok: true; packet: IpcPacket } | { ok: false; rejection: PacketRejection };

type FieldCheck = (value: unknown) => boolean;

const isString: FieldCheck = (value) => typeof value === 'string' && value.length > 0;
const isInteger: FieldCheck = (value) => Number.isSafeInteger(value) && (value as number) >= 0;
const isFiniteNumber: FieldCheck = (value) => typeof value === 'number' && Number.isFinite(value);
const isShardList: FieldCheck = (value) => Array.isArray(value) && value.every(isInteger);
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isSender: FieldCheck = (value) => value === 'manager' || isInteger(value);
const isOptionalBoolean: FieldCheck = (value) => value === undefined || typeof value === 'boolean';
const isOptionalNumber: FieldCheck = (value) => value === undefined || isFiniteNumber(value);
const isTarget: FieldCheck = (value) =>
  value === undefined ||
  value === 'all' ||
  (Array.isArray(value) && value.every(isInteger)) ||
  (isPlainObject(value) && (isInteger(value.shard) || isString(value.guild)));
const isSerializedError: FieldCheck = (value) =>
  isPlainObject(value) &&
  typeof value.name === 'string' &&
  typeof value.message === 'string' &&
  (value.code === undefined || typeof value.code === 'string');

/**
 * Required (`true` as the second element) and optional fields of `d`, per op code. A field
 * absent from the table is carried through unchecked (newer peers may add fields).
 */
const PAYLOAD_SCHEMAS: Partial<Record<IpcOpCode, Record<string, [FieldCheck, boolean]>>> = {
  [IpcOpCode.DISPATCH]: {
    event_id: [isString, true],
    from: [isSender, true],
    reply: [isOptionalBoolean, false],
    to: [isTarget, false],
  },
  [IpcOpCode.IDENTIFY]: {
    id: [isString, true],
    event_id: [isString, true],
    pid: [isInteger, true],
    shards: [isShardList, true],
  },
  [IpcOpCode.HELLO]: {
    id: [isString, true],
    event_id: [isString, true],
    instance: [isInteger, true],
    shards: [isShardList, true],
    total_shards: [isInteger, true],
    heartbeat_interval: [isInteger, true],
    lease_ttl: [isOptionalNumber, false],
  },
  [IpcOpCode.ERROR]: { event_id: [isString, true], error: [isSerializedError, true] },
  [IpcOpCode.INVALID_SESSION]: { id: [isString, true] },
  [IpcOpCode.HEARTBEAT]: {
    seq: [isInteger, true],
    ts: [isFiniteNumber, true],
    rss: [isOptionalNumber, false],
    heapUsed: [isOptionalNumber, false],
    eventLoopLag: [isOptionalNumber, false],
    rtt: [isOptionalNumber, false],
  },
  [IpcOpCode.HEARTBEAT_ACK]: { seq: [isInteger, true], ts: [isFiniteNumber, true] },
};

/** The schemas as lists, built once: the decoder runs for every packet. */
const FIELD_LISTS = new Map<number, Array<[string, FieldCheck, boolean]>>(
  Object.entries(PAYLOAD_SCHEMAS).map(([op, schema]) => [
    Number(op),
    Object.entries(schema).map(([name, [check, required]]) => [name, check, required]),
  ]),
);

/**
 * The fast path of {@link decodePacket}: whether `value` is a DISPATCH that needs no further check
 * (and no relay target, which the general path checks). `false` says nothing: decode it then.
 */
export function isWellFormedDispatch(value: unknown): value is IpcPacketOf<IpcOpCode.DISPATCH> {
  const packet = value as { op?: unknown; t?: unknown; d?: Record<string, unknown> } | null;
  if (typeof packet !== 'object' || packet === null || packet.op !== IpcOpCode.DISPATCH)
    return false;
  const { t, d } = packet;
  if (typeof t !== 'string' || t.length === 0) return false;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return false;
  const { event_id: eventId, from, reply, to } = d;
  return (
    typeof eventId === 'string' &&
    eventId.length > 0 &&
    (from === 'manager' || (Number.isSafeInteger(from) && (from as number) >= 0)) &&
    (reply === undefined || typeof reply === 'boolean') &&
    to === undefined &&
    !Array.isArray(packet)
  );
}

/**
 * The fast path of {@link decodePacket} for the other frequent packet, HEARTBEAT (a manager reads
 * one per instance per interval): whether `value` is one that needs no further check. `false`
 * says nothing: decode it then.
 */
export function isWellFormedHeartbeat(value: unknown): value is IpcPacketOf<IpcOpCode.HEARTBEAT> {
  const packet = value as { op?: unknown; t?: unknown; d?: Record<string, unknown> } | null;
  if (typeof packet !== 'object' || packet === null || packet.op !== IpcOpCode.HEARTBEAT)
    return false;
  const { t, d } = packet;
  if ((t !== undefined && t !== null) || typeof d !== 'object' || d === null) return false;
  const { seq, ts, rss, heapUsed, eventLoopLag, rtt } = d;
  return (
    Number.isSafeInteger(seq) &&
    (seq as number) >= 0 &&
    isFiniteNumber(ts) &&
    (rss === undefined || isFiniteNumber(rss)) &&
    (heapUsed === undefined || isFiniteNumber(heapUsed)) &&
    (eventLoopLag === undefined || isFiniteNumber(eventLoopLag)) &&
    (rtt === undefined || isFiniteNumber(rtt)) &&
    !Array.isArray(d) &&
    !Array.isArray(packet)
  );
}

const RESERVED_OPS = new Set<number>([IpcOpCode.CACHE_OPERATE, IpcOpCode.EMERGENCY]);

function reject(code: PacketRejectionCode, message: string, field?: string): DecodeResult {
  return { ok: false, rejection: { code, message, field } };
}

/**
 * Turns any received value into a typed packet, or a typed reason to drop it. Never throws.
 *
 * The decoder checks the envelope (`op`, `d`, `t`) and the fields of `d` that the protocol
 * relies on; a DISPATCH's `data` is the application's and is not inspected.
 */
export function decodePacket(value: unknown): DecodeResult {
  // Nearly every packet is a well-formed DISPATCH: check it in one pass. Anything else, valid or
  // not, takes the general path, which also words the rejection.
  if (isWellFormedDispatch(value)) return { ok: true, packet: value };
  if (!isPlainObject(value)) return reject('NOT_AN_OBJECT', 'the packet is not a JSON object');
  const { op, d, t } = value;
  if (typeof op !== 'number' || !Number.isInteger(op)) {
    return reject('BAD_FIELD', `"op" must be an integer, got ${describeValue(op)}`, 'op');
  }
  if (RESERVED_OPS.has(op)) {
    return reject('RESERVED_OP', `op ${op} is reserved by Discordoo and not used`, 'op');
  }
  const schema = PAYLOAD_SCHEMAS[op as IpcOpCode];
  if (!schema) return reject('UNKNOWN_OP', `op ${op} is not an op of the protocol`, 'op');

  if (op === IpcOpCode.DISPATCH) {
    if (!isString(t)) {
      return reject('DISPATCH_WITHOUT_EVENT', 'a DISPATCH must name its event in "t"', 't');
    }
  } else if (t !== undefined && t !== null) {
    return reject('EVENT_WITHOUT_DISPATCH', `"t" is only allowed on DISPATCH (op ${op})`, 't');
  }
  if (d === undefined) return reject('MISSING_FIELD', `op ${op} needs "d"`, 'd');
  if (!isPlainObject(d))
    return reject('BAD_FIELD', `"d" must be an object, got ${describeValue(d)}`, 'd');

  for (const [name, check, required] of FIELD_LISTS.get(op)!) {
    const field = d[name];
    if (field === undefined) {
      if (required) return reject('MISSING_FIELD', `op ${op} needs "d.${name}"`, `d.${name}`);
      continue;
    }
    if (!check(field)) {
      return reject('BAD_FIELD', `"d.${name}" of op ${op} is ${describeValue(field)}`, `d.${name}`);
    }
  }
  return { ok: true, packet: value as unknown as IpcPacket };
}
