import { GuardedParser, IPCProtocolError } from 'node-ipc';
import { IPC_MESSAGE_EVENT } from '../protocol/protocol.constants.js';

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
 */
export class ShardingFrameParser extends GuardedParser {
  override encode(type: string, data?: unknown): string {
    if (type !== IPC_MESSAGE_EVENT) this.validateType(type);
    const frame = JSON.stringify({ type, data: data === undefined ? {} : data });
    this.checkSize(frame);
    return frame + this.delimiter;
  }

  override read(
    buffer: string,
    data: string,
    receive: (message: { type: string; data: unknown }) => void,
  ): string {
    const combined = buffer ? buffer + data : data;
    const delimiter = this.delimiter;
    let start = 0;
    let end = combined.indexOf(delimiter);
    while (end !== -1) {
      const frame = combined.slice(start, end);
      this.checkSize(frame);
      receive(this.decodeMessage(frame));
      start = end + delimiter.length;
      end = combined.indexOf(delimiter, start);
    }
    const remainder = start === 0 ? combined : combined.slice(start);
    this.checkSize(remainder);
    return remainder;
  }

  override decodeMessage(frame: string): { type: string; data: unknown } {
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
    return message as { type: string; data: unknown };
  }

  private checkSize(text: string): void {
    if (text.length * 3 <= this.maxMessageSize) return;
    this.assertFrameSize(text.length, Buffer.byteLength(text));
  }
}
