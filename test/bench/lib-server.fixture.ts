// The instance side of the library run: an IpcServer in its own process, as a sharding instance
// would have, answering the bench events. It leaves by itself when the manager closes the link
// (it applies the `'exit'` policy itself, as ShardingInstance does), which lets `--cpu-prof` write
// its profile.
import { Logger } from '@nestjs/common';
import { IpcServer } from '../../src/index.js';
import { BenchEvent } from './bench-config.js';
import { cpuTime, exitWithParent, fail, report } from './measurements.js';

// Only errors: the expected "lost the manager, exiting" warning would clutter the bench output.
Logger.overrideLogger(['error']);
exitWithParent();

try {
  const env = process.env;
  let sunk = 0;
  const server = new IpcServer({
    managerId: env.SHARDING_MANAGER_IPC!,
    instanceId: env.SHARDING_INSTANCE_IPC!,
    instance: Number(env.SHARDING_INSTANCE),
    socketRoot: env.SHARDING_SOCKET_ROOT!,
    dispatchHandler: (data, context) => {
      switch (context.event) {
        case BenchEvent.ECHO:
          return data;
        case BenchEvent.SINK:
          sunk++;
          return undefined;
        case BenchEvent.SINK_SYNC:
          return sunk;
        case BenchEvent.CPU_USAGE:
          return cpuTime();
        default:
          throw new Error(`the bench server has no "${context.event}" handler`);
      }
    },
  });
  server.managerLost$.subscribe(() => void server.close().then(() => process.exit(0)));
  await server.listen();
  await report({ type: 'listening', path: server.socketPath });
} catch (error) {
  await fail(error);
}
