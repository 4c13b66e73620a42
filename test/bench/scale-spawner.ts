// The scale section's spawner: it puts the manager's instances in a few host processes
// (scale-host.fixture.ts), round robin, instead of one process each, so that a thousand instance
// links fit on a small machine while the manager runs its real code (supervisors, IpcClients,
// heartbeats, routing). Each handle's pid is its host's; kill() ends the simulated instance only.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type {
  InstanceExit,
  InstanceHandle,
  InstanceSpawner,
} from '../../src/manager/spawn/instance-handle.interface.js';

/** From the manager to a host. */
export type HostCommand =
  { type: 'start'; id: number; launch: Record<string, string> } | { type: 'kill'; id: number };

/** From a host to the manager. */
export type HostReport = { type: 'host-ready' } | { type: 'exited'; id: number };

/** The hosts, and a spawner that places instances on them. */
export interface HostPool {
  spawner: InstanceSpawner;
  pids: number[];
  /** Ends every host (their instances with them). */
  close(): Promise<void>;
}

/** Forks `hosts` host processes and waits until each is ready for instances. */
export async function startHostPool(hosts: number): Promise<HostPool> {
  const file = fileURLToPath(new URL('./scale-host.fixture.js', import.meta.url));
  const children: ChildProcess[] = [];
  const exits = new Map<number, (exit: InstanceExit) => void>();
  for (let index = 0; index < hosts; index++) {
    const child = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (message: HostReport) => {
      if (message.type !== 'exited') return;
      exits.get(message.id)?.({ code: 0, signal: null });
      exits.delete(message.id);
    });
    child.once('exit', () => {
      // A host that dies takes its instances with it.
      for (const [id, settle] of exits)
        if (id % hosts === index) settle({ code: null, signal: 'SIGKILL' });
    });
    children.push(child);
  }
  await Promise.all(
    children.map((child) =>
      once(child, 'message').then(([message]) => {
        if ((message as HostReport).type !== 'host-ready') throw new Error('a host did not start');
      }),
    ),
  );
  let next = 0;
  const spawner: InstanceSpawner = (request) => {
    const id = next++;
    const host = children[id % hosts]!;
    const exited = new Promise<InstanceExit>((resolve) => exits.set(id, resolve));
    host.send({ type: 'start', id, launch: request.launch } satisfies HostCommand);
    const handle: InstanceHandle = {
      pid: host.pid,
      exited,
      kill: () => {
        // A host already gone has ended the instance with it.
        if (host.connected) host.send({ type: 'kill', id } satisfies HostCommand, () => {});
      },
    };
    return handle;
  };
  return {
    spawner,
    pids: children.map((child) => child.pid!),
    close: async () => {
      await Promise.all(
        children.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          child.kill('SIGKILL');
          await exited;
        }),
      );
    },
  };
}
