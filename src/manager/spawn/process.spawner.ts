import { fork } from 'node:child_process';
import type { InstanceExit, InstanceHandle, InstanceSpawner } from './instance-handle.interface.js';

/** Mode `process`: `child_process.fork`, with an IPC channel whose loss the child watches. */
export const spawnProcess: InstanceSpawner = (request) => {
  const child = fork(request.file, [], {
    env: { ...process.env, ...request.env, ...request.launch },
    execArgv: [...process.execArgv, ...request.execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const exited = new Promise<InstanceExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A child that cannot start emits 'error' and may never emit 'exit'.
    child.once('error', () => {
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });
  const handle: InstanceHandle = {
    pid: child.pid,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
  return handle;
};
