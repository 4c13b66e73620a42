import { constants, createDeflate, deflateSync, type Deflate } from 'node:zlib';
import type { WebSocket } from 'ws';
import { ws } from './ws.loader.js';

/** Transport compression asked for in the connection URL. */
export type TransportCompression = 'zlib-stream' | null;

/**
 * One gateway socket: encodes what the emulator sends (JSON text; or one zlib stream over the
 * whole connection, each payload ending in a sync flush, as Discord does for
 * `compress=zlib-stream`; or one zlib payload per message after an IDENTIFY with
 * `compress: true`) and keeps sends and the final close in order.
 */
export class EmulatorConnection<Session> {
  /**
   * The session this socket carries, once IDENTIFY or RESUME succeeded. Kept after the session
   * moved to another socket, so that this one's close is still recorded with it.
   */
  session: Session | undefined;
  /** Set while a RESUME on this socket waits for the session's previous socket to finish closing. */
  resumePending = false;
  /** Set when the emulator started the close, with the code it used. */
  closedByEmulator: { code: number; reason: string } | undefined;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;

  private payloadCompression = false;
  private readonly deflate: Deflate | undefined;
  private deflated: Buffer[] = [];
  // Compressed sends finish asynchronously; everything after them waits its turn here.
  private queue: Promise<void> = Promise.resolve();

  constructor(
    /** The emulator's number for this socket, from 1 in connection order. */
    readonly id: number,
    readonly socket: WebSocket,
    compression: TransportCompression,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    if (compression === 'zlib-stream') {
      this.deflate = createDeflate();
      this.deflate.on('data', (chunk: Buffer) => this.deflated.push(chunk));
    }
  }

  /** Compress every later payload on its own (IDENTIFY's `compress: true`), unless the transport already is. */
  compressPayloads(): void {
    if (this.deflate === undefined) this.payloadCompression = true;
  }

  /** Sends a payload (dropped silently if the socket is no longer open). */
  send(payload: object): void {
    const text = JSON.stringify(payload);
    const deflate = this.deflate;
    if (deflate === undefined) {
      this.enqueue(() => {
        if (this.open) this.socket.send(this.payloadCompression ? deflateSync(text) : text);
      });
      return;
    }
    this.queue = this.queue.then(
      () =>
        new Promise<void>((resolve) => {
          deflate.write(text);
          deflate.flush(constants.Z_SYNC_FLUSH, () => {
            const data = Buffer.concat(this.deflated);
            this.deflated = [];
            if (this.open) this.socket.send(data);
            resolve();
          });
        }),
    );
  }

  /** Closes the socket after everything sent before; resolves when it has closed. */
  close(code: number, reason: string): Promise<void> {
    if (this.closedByEmulator === undefined && this.open) {
      this.closedByEmulator = { code, reason };
      this.enqueue(() => this.socket.close(code, reason));
      // A peer that never answers the close frame must not hold the emulator open.
      const timer = setTimeout(() => this.socket.terminate(), 1_000);
      timer.unref();
      void this.closed.then(() => clearTimeout(timer));
    }
    return this.closed;
  }

  /** Releases the compression stream; call once the socket has closed. */
  dispose(): void {
    this.deflate?.destroy();
  }

  /** Whether the socket can still carry payloads. */
  get open(): boolean {
    return this.socket.readyState === ws.WebSocket.OPEN;
  }

  /** Open, and the emulator has not decided to close it: its session is still in use here. */
  get live(): boolean {
    return this.open && this.closedByEmulator === undefined;
  }

  /**
   * The client started the close (its close frame arrived, or the socket failed), and the socket
   * has not closed yet: the close code is known only once it has.
   */
  get closingByClient(): boolean {
    return this.socket.readyState === ws.WebSocket.CLOSING && this.closedByEmulator === undefined;
  }

  private enqueue(task: () => void): void {
    this.queue = this.queue.then(task);
  }
}
