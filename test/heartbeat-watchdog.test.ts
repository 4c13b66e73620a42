import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { HeartbeatWatchdog } from '../src/ipc/heartbeat-watchdog.js';
import { cleanUp, defer } from './support/cleanup.js';

afterEach(cleanUp);

const SPAN = 100;

/** Keeps this process's event loop busy for `ms`, as a loaded machine or a long job would. */
function stall(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}

/**
 * A real Unix socket pair; the receiving side feeds a watchdog on every chunk. `events` records
 * what happened in order: `data` for each chunk read, `silence` when the watchdog fired.
 */
async function watchedPair(): Promise<{
  sender: Socket;
  watchdog: HeartbeatWatchdog;
  events: string[];
  silence: Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'sharding-watchdog-'));
  defer(() => rm(dir, { recursive: true, force: true }));
  const server = createServer();
  defer(() => server.close());
  server.listen(join(dir, 's.sock'));
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const sender = connect(join(dir, 's.sock'));
  defer(() => sender.destroy());
  await once(sender, 'connect');
  const [receiver] = await accepted;
  defer(() => receiver.destroy());

  const events: string[] = [];
  let silenced!: () => void;
  const silence = new Promise<void>((resolve) => (silenced = resolve));
  const watchdog = new HeartbeatWatchdog(SPAN, () => {
    events.push('silence');
    silenced();
  });
  defer(() => watchdog.stop());
  receiver.on('data', () => {
    events.push('data');
    watchdog.feed();
  });
  return { sender, watchdog, events, silence };
}

describe('HeartbeatWatchdog', () => {
  it('reads a sign of life that arrived while this process was stalled before judging silence', async () => {
    const { sender, watchdog, events, silence } = await watchedPair();
    watchdog.start();
    // The other side beats in time, but this process cannot read it: timers run before socket
    // reads when the loop resumes, so a naive watchdog fires with the beat already waiting.
    sender.write('beat');
    stall(3 * SPAN);
    // Then the other side goes quiet for good: it must still be reported.
    await silence;
    assert.deepEqual(events, ['data', 'silence']);
  });

  it('gives the other side one more span when this process was stalled past the span', async () => {
    const { sender, watchdog, events, silence } = await watchedPair();
    watchdog.start();
    // Nothing could be heard while stalled (this side could not even send its own beats).
    stall(3 * SPAN);
    setImmediate(() => sender.write('beat'));
    await silence;
    assert.deepEqual(events, ['data', 'silence']);
  });

  it('reports silence after the span when nothing comes and this process is not stalled', async () => {
    const { watchdog, events, silence } = await watchedPair();
    watchdog.start();
    await silence;
    assert.deepEqual(events, ['silence']);
  });

  it('gives a stalled process the extra span only once per silence', async () => {
    const { sender, watchdog, events, silence } = await watchedPair();
    watchdog.start();
    // Stalled through the span, then (half a span into the extra one) through that one too:
    // the other side had two spans. It is reported then, not given a third one (in which this
    // beat would come).
    stall(3 * SPAN);
    setTimeout(() => {
      stall(3 * SPAN);
      setTimeout(() => sender.write('late beat'), SPAN / 2);
    }, SPAN / 2);
    await silence;
    assert.deepEqual(events, ['silence']);
  });
});
