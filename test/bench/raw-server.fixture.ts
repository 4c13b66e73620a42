// The instance side of the baseline: a bare `node:net` Unix socket server speaking the same
// frames and packets as the library, with no validation, no timers and no event bus in between.
import { createServer, type Socket } from 'node:net';
import { IPC_MESSAGE_EVENT } from '../../src/protocol/protocol.constants.js';
import { BenchEnv, BenchEvent } from './bench-config.js';
import { cpuTime, exitWithParent, fail, report } from './measurements.js';
import { encodeFrame, readFrames, type RawFrame } from './raw-framing.js';

exitWithParent();

const INSTANCE = 0;
let sunk = 0;

function serve(socket: Socket): void {
  socket.setEncoding('utf8');
  readFrames(socket, (frame: RawFrame) => {
    const packet = frame.data;
    if (packet.op !== 0) return;
    let result: unknown;
    switch (packet.t) {
      case BenchEvent.ECHO:
        result = packet.d.data;
        break;
      case BenchEvent.SINK:
        sunk++;
        break;
      case BenchEvent.SINK_SYNC:
        result = sunk;
        break;
      case BenchEvent.CPU_USAGE:
        result = cpuTime();
        break;
    }
    if (packet.d.reply === true) {
      socket.write(
        encodeFrame(IPC_MESSAGE_EVENT, {
          op: 0,
          t: packet.t,
          d: { event_id: packet.d.event_id, from: INSTANCE, data: result },
        }),
      );
    }
  });
  // Like the library's instance: the manager gone means this process is done.
  socket.on('close', () => process.exit(0));
  socket.on('error', () => socket.destroy());
}

try {
  const path = process.env[BenchEnv.RAW_SOCKET]!;
  const server = createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path }, () => resolve());
  });
  await report({ type: 'listening', path });
} catch (error) {
  await fail(error);
}
