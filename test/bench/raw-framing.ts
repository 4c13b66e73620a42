// The baseline's wire format: node-ipc's event frame, written by hand. A frame is
// `JSON.stringify({ type, data })` followed by `\f`, read back with `indexOf` + `JSON.parse`,
// exactly as node-ipc's parser does, but with none of its guards (size limits, event-name checks,
// partial-frame timers): what a minimal hand-written Unix socket link would do.
import type { Socket } from 'node:net';

/** node-ipc's default frame delimiter. */
export const FRAME_DELIMITER = '\f';

/** A decoded frame: node-ipc's `{ type, data }` envelope. */
export interface RawFrame {
  type: string;
  data: RawPacket;
}

/** The packet shape the library puts in `data` (the README's "The wire protocol"), typed loosely. */
export interface RawPacket {
  op: number;
  t?: string;
  d: { event_id: string; from: number | 'manager'; data?: unknown; reply?: boolean };
}

/** Encodes one frame, as node-ipc's `Parser.encode` does. */
export function encodeFrame(type: string, data: RawPacket): string {
  return JSON.stringify({ type, data }) + FRAME_DELIMITER;
}

/**
 * Splits a socket's UTF-8 text stream into frames and parses each. One reader per socket; the
 * socket must have `setEncoding('utf8')` (as node-ipc does), so chunks are strings.
 */
export function readFrames(socket: Socket, onFrame: (frame: RawFrame) => void): void {
  let buffer = '';
  socket.on('data', (chunk: string) => {
    const combined = buffer === '' ? chunk : buffer + chunk;
    let start = 0;
    let end = combined.indexOf(FRAME_DELIMITER);
    while (end !== -1) {
      onFrame(JSON.parse(combined.slice(start, end)) as RawFrame);
      start = end + 1;
      end = combined.indexOf(FRAME_DELIMITER, start);
    }
    buffer = start === 0 ? combined : combined.slice(start);
  });
}
