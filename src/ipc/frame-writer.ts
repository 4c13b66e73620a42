import type { Socket } from 'node:net';

/**
 * Text a writer holds at most before it writes without waiting for the end of the turn, in
 * UTF-16 units (at most three times as many bytes): a burst never builds an unbounded string, and
 * what waits stays small next to the pending-bytes cap the backpressure check guards.
 */
export const COALESCE_LIMIT = 64 * 1024;

// One clock for every writer of the thread: a turn ends when the microtasks queued by its first
// write run, that is once the code that is writing now (a callback, a loop, a handler) has
// returned. One microtask per turn, however many sockets were written to (a broadcast writes to
// every instance in one turn).
const settled = Promise.resolve();
let turn = 0;
let clockRunning = false;
const waitingWriters: FrameWriter[] = [];

function currentTurn(): number {
  if (!clockRunning) {
    clockRunning = true;
    void settled.then(endTurn);
  }
  return turn;
}

function endTurn(): void {
  clockRunning = false;
  turn++;
  // A flush only writes to its socket, so no writer joins the list while it is walked.
  for (const writer of waitingWriters) writer.flush();
  waitingWriters.length = 0;
}

/**
 * The frames written to one socket, coalesced per turn: the first frame of a turn is written at
 * once (a lone request or reply pays no delay); later frames of the same turn wait and go out
 * together in one write when the turn ends, or as soon as they reach {@link COALESCE_LIMIT}.
 * Frames keep their order; `flush()` writes what waits at once, and runs before the socket is
 * closed.
 */
export class FrameWriter {
  private waiting = '';
  /** The turn of this writer's latest write; -1 before the first. */
  private turn = -1;

  /** @param socket the socket the frames go to. */
  constructor(readonly socket: Socket) {}

  /** An upper bound of the bytes that wait in this writer or in the socket's own buffer. */
  get pendingBytes(): number {
    return this.socket.writableLength + this.waiting.length * 3;
  }

  /** Writes one encoded frame, or queues it until the end of the turn. */
  push(frame: string): void {
    const now = currentTurn();
    if (this.turn !== now) {
      this.turn = now;
      if (this.waiting === '') {
        this.socket.write(frame);
        return;
      }
    }
    if (this.waiting === '') {
      this.waiting = frame;
      waitingWriters.push(this);
    } else {
      this.waiting += frame;
    }
    if (this.waiting.length >= COALESCE_LIMIT) this.flush();
  }

  /**
   * Writes what waits now; what waits for a socket that can no longer be written (destroyed, or
   * ended: a write after `end()` would only raise an error) is dropped.
   */
  flush(): void {
    const text = this.waiting;
    if (text === '') return;
    this.waiting = '';
    if (this.socket.writable) this.socket.write(text);
  }
}
