import type { Socket } from 'node:net';

/**
 * Text a writer holds at most before it writes without waiting for the end of the turn, in
 * UTF-16 units (at most three times as many bytes): a burst never builds an unbounded string, and
 * what waits stays small next to the pending-bytes cap the backpressure check guards.
 */
export const COALESCE_LIMIT = 64 * 1024;

/**
 * The frames written to one socket, coalesced per event-loop turn: the first frame of a turn is
 * written at once (a lone request or reply pays no delay), later frames of the same turn wait and
 * go out together in one write when the turn ends (`process.nextTick`), or as soon as they reach
 * {@link COALESCE_LIMIT}. Frames keep their order; `flush()` writes what waits at once, and must
 * run before the socket is closed.
 */
export class FrameWriter {
  private waiting = '';
  private turnStarted = false;
  private readonly endTurn = () => {
    this.turnStarted = false;
    this.flush();
  };

  /**
   * @param socket the socket the frames go to (its `writableLength` counts for backpressure).
   * @param write writes framed text to the socket (node-ipc's guarded write).
   */
  constructor(
    readonly socket: Socket,
    private readonly write: (frames: string) => unknown,
  ) {}

  /** An upper bound of the bytes that wait in this writer or in the socket's own buffer. */
  get pendingBytes(): number {
    return this.socket.writableLength + this.waiting.length * 3;
  }

  /** Writes one encoded frame (or queues it until the end of the turn). */
  push(frame: string): void {
    if (!this.turnStarted) {
      this.turnStarted = true;
      process.nextTick(this.endTurn);
      if (this.waiting === '') {
        this.write(frame);
        return;
      }
    }
    this.waiting = this.waiting === '' ? frame : this.waiting + frame;
    if (this.waiting.length >= COALESCE_LIMIT) this.flush();
  }

  /** Writes what waits now; what waits for a socket already destroyed is dropped. */
  flush(): void {
    const text = this.waiting;
    if (text === '') return;
    this.waiting = '';
    if (!this.socket.destroyed) this.write(text);
  }
}
