import cluster from 'node:cluster';
import type { InstanceExit, InstanceSpawner } from './instance-handle.interface.js';

/** Mode `cluster`: a `node:cluster` worker running `file`. */
export const spawnClusterWorker: InstanceSpawner = (request) => {
  // setupPrimary settings apply to the next fork; they are set before each one.
  cluster.setupPrimary({
    exec: request.file,
    args: [],
    execArgv: [...process.execArgv, ...request.execArgv],
    serialization: 'advanced',
  });
  const worker = cluster.fork({ ...request.env, ...request.launch });
  const exited = new Promise<InstanceExit>((resolve) => {
    worker.once('exit', (code, signal) => resolve({ code, signal: signal || null }));
  });
  worker.on('error', () => {
    // The exit that follows reports the failure.
  });
  return {
    pid: worker.process.pid,
    exited,
    kill: (signal) => {
      if (worker.process.exitCode === null && worker.process.signalCode === null) {
        worker.process.kill(signal);
      }
    },
  };
};
