// A host of simulated sharding instances for the scale section: many instances in one process,
// each reduced to the library's own IpcServer on its own socket (the real protocol: HELLO,
// IDENTIFY, heartbeats with stats, requests), ready as soon as identified (CONNECTED). The manager
// process (scale-manager.fixture.ts) forked it and starts and stops instances over the fork
// channel, as its spawner's handles (scale-spawner.ts).
import { IpcServer } from '../../src/index.js';
import { BenchEvent } from './bench-config.js';
import { exitWithParent } from './measurements.js';
import type { HostCommand, HostReport } from './scale-spawner.js';

exitWithParent();

const servers = new Map<number, IpcServer>();

function post(message: HostReport): void {
  if (process.connected) process.send!(message, undefined, {}, () => {});
}

async function start(id: number, launch: Record<string, string>): Promise<void> {
  const server = new IpcServer({
    managerId: launch.SHARDING_MANAGER_IPC!,
    instanceId: launch.SHARDING_INSTANCE_IPC!,
    instance: Number(launch.SHARDING_INSTANCE),
    socketRoot: launch.SHARDING_SOCKET_ROOT!,
    // The host's parent is the manager; the fork channel's end is handled once, above.
    watchParent: false,
    dispatchHandler: (data, context) => (context.event === BenchEvent.ECHO ? data : undefined),
  });
  servers.set(id, server);
  // A lost manager ends the simulated instance, as `onManagerLost: 'exit'` ends a real one.
  server.managerLost$.subscribe(() => void stop(id));
  await server.listen();
  await server.whenIdentified();
  server.send('CONNECTED', { shards: [], restructure: false });
}

async function stop(id: number): Promise<void> {
  const server = servers.get(id);
  if (server === undefined) return;
  servers.delete(id);
  await server.close();
  post({ type: 'exited', id });
}

process.on('message', (command: HostCommand) => {
  if (command.type === 'start') {
    start(command.id, command.launch).catch(() => void stop(command.id));
  } else if (command.type === 'kill') {
    void stop(command.id);
  }
});
post({ type: 'host-ready' });
