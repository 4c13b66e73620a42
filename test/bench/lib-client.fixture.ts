// The manager side of the library run: an IpcClient in its own process, connected with the real
// HELLO/IDENTIFY handshake, driven by the shared measurement loops.
import { Logger } from '@nestjs/common';
import { IpcClient } from '../../src/index.js';
import { exitWithParent, fail, report, runMeasurement } from './measurements.js';

Logger.overrideLogger(['error']);
exitWithParent();

try {
  const env = process.env;
  const client = new IpcClient({
    managerId: env.SHARDING_MANAGER_IPC!,
    instanceId: env.SHARDING_INSTANCE_IPC!,
    instance: Number(env.SHARDING_INSTANCE),
    shards: [0],
    totalShards: 1,
    socketRoot: env.SHARDING_SOCKET_ROOT!,
  });
  await client.connect();
  const result = await runMeasurement(client);
  await report({ type: 'result', result });
  await client.close();
  process.exit(0);
} catch (error) {
  await fail(error);
}
