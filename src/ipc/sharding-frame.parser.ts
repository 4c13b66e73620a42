import { GuardedParser, IPCProtocolError } from 'node-ipc';
import { IPC_MESSAGE_EVENT } from '../protocol/protocol.constants.js';

/** A decoded frame: node-ipc's envelope. */
export interface FrameMessage {
  type: string;
  data: unknown;
}

/** node-ipc's delivery of one decoded frame to its connection (its event bus and listeners). */
export type FrameReceiver = (message: FrameMessage) => void;

/** A frame whose node-ipc event name is not the protocol's: counted and dropped by its receiver. */
export class ForeignEvent {
  constructor(
    /** The frame's event name. */
    readonly type: string,
  ) {}
}

/**
 * node-ipc's guarded parser with the same limits (frame size, event names, partial-frame time,
 * pending writes), minus two costs it pays on every frame:
 * - the UTF-8 length of a frame is computed only when the frame might be too large: a string of
 *   `n` UTF-16 units has at most `3n` bytes, so `3n <= maxMessageSize` proves it fits;
 * - the protocol's own event name is known safe, so only other names are validated.
 *
 * A frame of another (valid) event name is handed on under the protocol's name as a
 * {@link ForeignEvent}, so that the endpoints count and drop it where they handle packets, with no
 * catch-all listener called for every frame.
 *
 * With {@link deliver} set, decoded frames go to it instead of node-ipc's event bus, which costs
 * a dispatch through every layer per frame; it still gets node-ipc's receiver, to hand on what it
 * does not take.
 */
export class ShardingFrameParser extends GuardedParser {
  /**
   * Takes every decoded frame in place of `receive` (node-ipc's receiver of the connection the
   * frame came on). Default: none, frames go to `receive`.
   */
  deliver: ((message: FrameMessage, receive: FrameReceiver) => void) | undefined;

  override encode(type: string, data?: unknown): string {
    if (type !== IPC_MESSAGE_EVENT) this.validateType(type);
    const frame = JSON.stringify({ type, data: data === undefined ? {} : data });
    this.checkSize(frame);
    return frame + this.delimiter;
  }

  override read(buffer: string, data: string, receive: FrameReceiver): string {
    const combined = buffer ? buffer + data : data;
    const delimiter = this.delimiter;
    const deliver = this.deliver;
    let start = 0;
    let end = combined.indexOf(delimiter);
    while (end !== -1) {
      const frame = combined.slice(start, end);
      this.checkSize(frame);
      if (deliver === undefined) receive(this.decodeMessage(frame));
      else deliver(this.decodeMessage(frame), receive);
      start = end + delimiter.length;
      end = combined.indexOf(delimiter, start);
    }
    const remainder = start === 0 ? combined : combined.slice(start);
    this.checkSize(remainder);
    return remainder;
  }

  override decodeMessage(frame: string): FrameMessage {
    let message: { type?: unknown; data?: unknown };
    try {
      message = JSON.parse(frame);
    } catch {
      throw new IPCProtocolError('ERR_IPC_INVALID_JSON', 'received message is not valid JSON');
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      throw new IPCProtocolError(
        'ERR_IPC_INVALID_MESSAGE',
        'received message must be a JSON object',
      );
    }
    if (message.type !== IPC_MESSAGE_EVENT) {
      this.validateType(message.type);
      return { type: IPC_MESSAGE_EVENT, data: new ForeignEvent(message.type as string) };
    }
    return message as FrameMessage;
  }

  private checkSize(text: string): void {
    if (text.length * 3 <= this.maxMessageSize) return;
    this.assertFrameSize(text.length, Buffer.byteLength(text));
  }
}
