// The manager side of the scale section's heartbeat baseline: bare `node:net` connections to as
// many bare servers (raw-heartbeat-host.fixture.ts, many per process) as the scale fleet has
// instances; every HEARTBEAT frame is parsed and answered with an ACK, nothing else. Its CPU per
// heartbeat is what the heartbeat traffic costs this machine without the library.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createSocketRoot, removeSocketRoot } from '../../src/ipc/index.js';
import { IPC_MESSAGE_EVENT } from '../../src/protocol/protocol.constants.js';
import { forkBenchChild, killAll, nextMessage } from './bench-processes.js';
import { exitWithParent, fail, report } from './measurements.js';
import { FRAME_DELIMITER, readFrames } from './raw-framing.js';
import type { RawHeartbeatHost } from './raw-heartbeat-host.fixture.js';
import { scaleScenarioFromEnv, type RawHeartbeatResult } from './scale-config.js';

exitWithParent();

const scenario = scaleScenarioFromEnv();
const socketRoot = await createSocketRoot();
try {
  const perHost = Math.ceil(scenario.instances / scenario.hosts);
  const hosts = Array.from({ length: scenario.hosts }, (_, index) => {
    const first = index * perHost;
    const config: RawHeartbeatHost = {
      socketRoot,
      first,
      count: Math.max(0, Math.min(perHost, scenario.instances - first)),
      interval: scenario.heartbeatInterval,
      aligned: scenario.rawAligned === true,
    };
    return forkBenchChild('raw-heartbeat-host.fixture', {
      BENCH_SCALE_RAW_HOST: JSON.stringify(config),
    });
  });
  await report({ type: 'pids', pids: hosts.map((child) => child.pid!) });
  await Promise.all(hosts.map((child) => nextMessage(child, 'listening', 120_000)));
  let heartbeats = 0;
  const sockets: Socket[] = [];
  for (let index = 0; index < scenario.instances; index++) {
    const socket = connect({ path: join(socketRoot, `raw${index}`) });
    await once(socket, 'connect');
    socket.setEncoding('utf8');
    readFrames(socket, (frame) => {
      const packet = frame.data as unknown as { op: number; d: { seq: number; ts: number } };
      if (packet.op !== 7) return;
      heartbeats++;
      const ack = { op: 8, d: { seq: packet.d.seq, ts: packet.d.ts } };
      socket.write(JSON.stringify({ type: IPC_MESSAGE_EVENT, data: ack }) + FRAME_DELIMITER);
    });
    sockets.push(socket);
  }
  await delay(scenario.settleMs);
  heartbeats = 0;
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  await delay(scenario.windowMs);
  const cpu = process.cpuUsage(cpuStart);
  const windowMs = performance.now() - wallStart;
  const result: RawHeartbeatResult = {
    kind: 'raw-heartbeat',
    instances: scenario.instances,
    aligned: scenario.rawAligned === true,
    windowMs,
    heartbeats,
    cpuUs: cpu.user + cpu.system,
    cpuSystemUs: cpu.system,
  };
  await report({ type: 'measured', result });
  for (const socket of sockets) socket.destroy();
  await killAll();
  await removeSocketRoot(socketRoot);
  process.exit(0);
} catch (error) {
  await killAll();
  await removeSocketRoot(socketRoot);
  await fail(error);
}
