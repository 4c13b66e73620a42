// The instance side of the scale section's heartbeat baseline: many bare `node:net` Unix socket
// servers in one process, each sending, once connected, a HEARTBEAT frame (the library's packet,
// with the same stats) every interval and reading the ACKs: the heartbeat traffic of the scale
// section's simulated instances without the library on either end.
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { nextHeartbeatDelay } from '../../src/ipc/heartbeat-schedule.js';
import { IPC_MESSAGE_EVENT } from '../../src/protocol/protocol.constants.js';
import { exitWithParent, fail, report } from './measurements.js';
import { FRAME_DELIMITER, readFrames } from './raw-framing.js';

exitWithParent();

/** Where this host serves: `<socketRoot>/raw<first>` … `raw<first + count - 1>`. */
export interface RawHeartbeatHost {
  socketRoot: string;
  first: number;
  count: number;
  /** ms between two heartbeats of one server. */
  interval: number;
  /** Beat on the library's phase grid (nextHeartbeatDelay), else at a random phase each. */
  aligned: boolean;
}

const host = JSON.parse(process.env.BENCH_SCALE_RAW_HOST!) as RawHeartbeatHost;

function serve(socket: Socket, index: number): void {
  socket.setEncoding('utf8');
  let seq = 0;
  let rtt: number | undefined;
  readFrames(socket, (frame) => {
    const ack = frame.data as unknown as { op: number; d: { ts: number } };
    if (ack.op === 8) rtt = Date.now() - ack.d.ts;
  });
  const beat = () => {
    const memory = process.memoryUsage();
    const packet = {
      op: 7,
      d: {
        seq: ++seq,
        ts: Date.now(),
        rtt,
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        eventLoopLag: 0,
      },
    };
    socket.write(JSON.stringify({ type: IPC_MESSAGE_EVENT, data: packet }) + FRAME_DELIMITER);
  };
  // Either on the library's grid, or spread at random over the interval, as the instances of a
  // fleet that boot at different times are: connected all at once, they would beat in bursts that
  // one wake-up of the event loop reads together.
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(
      () => {
        beat();
        schedule();
      },
      host.aligned ? nextHeartbeatDelay(index, host.interval) : host.interval,
    );
  };
  timer = setTimeout(
    () => {
      beat();
      schedule();
    },
    host.aligned ? nextHeartbeatDelay(index, host.interval) : Math.random() * host.interval,
  );
  socket.on('close', () => clearTimeout(timer));
  socket.on('error', () => socket.destroy());
}

try {
  for (let index = host.first; index < host.first + host.count; index++) {
    const server = createServer((socket) => serve(socket, index));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: join(host.socketRoot, `raw${index}`) }, () => resolve());
    });
  }
  await report({ type: 'listening', path: host.socketRoot });
} catch (error) {
  await fail(error);
}
