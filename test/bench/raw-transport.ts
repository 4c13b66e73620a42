// The baseline's manager end of a link: a bare `node:net` socket with the library's packet shape
// and a minimal request/reply correlation (a Map by event id). Used by raw-client.fixture.ts (the
// ipc section) and raw-fanout.fixture.ts (the fleet section's reference).
import type { Socket } from 'node:net';
import { IPC_MESSAGE_EVENT } from '../../src/protocol/protocol.constants.js';
import type { BenchTransport } from './measurements.js';
import { encodeFrame, readFrames, type RawFrame } from './raw-framing.js';

/** The baseline transport: what a hand-written manager link would minimally do. */
export class RawTransport implements BenchTransport {
  private readonly pending = new Map<string, (data: unknown) => void>();
  // Ids as long as a real snowflake (same bytes on the wire), made by string concatenation: the
  // cost of generating snowflakes is the library's to show, not the baseline's.
  private readonly idPrefix: string;
  private counter = 0;

  constructor(
    private readonly socket: Socket,
    idTemplate: string,
  ) {
    this.idPrefix = idTemplate.slice(0, -9);
    readFrames(socket, (frame) => this.onFrame(frame));
  }

  request(event: string, data?: unknown): Promise<unknown> {
    const eventId = this.nextId();
    const reply = new Promise<unknown>((resolve) => this.pending.set(eventId, resolve));
    this.write(event, { event_id: eventId, from: 'manager', data, reply: true });
    return reply;
  }

  send(event: string, data?: unknown): void {
    this.write(event, { event_id: this.nextId(), from: 'manager', data });
  }

  private write(event: string, d: RawFrame['data']['d']): void {
    this.socket.write(encodeFrame(IPC_MESSAGE_EVENT, { op: 0, t: event, d }));
  }

  private nextId(): string {
    return this.idPrefix + String(1e9 + ++this.counter).slice(1);
  }

  private onFrame(frame: RawFrame): void {
    const resolve = this.pending.get(frame.data.d.event_id);
    if (resolve === undefined) return;
    this.pending.delete(frame.data.d.event_id);
    resolve(frame.data.d.data);
  }
}
