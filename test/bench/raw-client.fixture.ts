// The manager side of the baseline: a bare `node:net` client with the library's packet shape and
// a minimal request/reply correlation (a Map by event id), driven by the shared measurement loops.
import { connect } from 'node:net';
import { BenchEnv } from './bench-config.js';
import { exitWithParent, fail, report, runMeasurement } from './measurements.js';
import { RawTransport } from './raw-transport.js';

exitWithParent();

try {
  const socket = connect({ path: process.env[BenchEnv.RAW_SOCKET]! });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.setEncoding('utf8');
  const result = await runMeasurement(new RawTransport(socket, process.env[BenchEnv.ID_TEMPLATE]!));
  await report({ type: 'result', result });
  socket.end();
  process.exit(0);
} catch (error) {
  await fail(error);
}
