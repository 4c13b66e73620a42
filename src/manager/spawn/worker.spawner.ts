import { Worker } from 'node:worker_threads';
import type { InstanceExit, InstanceSpawner } from './instance-handle.interface.js';

/**
 * Mode `worker`: a `worker_threads` Worker in the manager's process. The manager's variables go
 * in `workerData`; both signals terminate the thread.
 */
export const spawnWorker: InstanceSpawner = (request) => {
  let worker: Worker;
  try {
    worker = new Worker(request.file, {
      workerData: request.launch,
      env: { ...process.env, ...request.env },
      // Without execArgv a worker inherits the manager's options (those a thread can take), as a
      // forked child does; given, it replaces them, as Node's Worker does.
      ...(request.execArgv.length > 0 ? { execArgv: request.execArgv } : {}),
    });
  } catch (error) {
    // Bad execArgv and the like throw at once: report it as an instance that exited.
    process.emitWarning(`Could not start a worker instance: ${(error as Error).message}`);
    return { pid: undefined, exited: Promise.resolve({ code: 1, signal: null }), kill: () => {} };
  }
  let ended = false;
  const exited = new Promise<InstanceExit>((resolve) => {
    worker.once('exit', (code) => {
      ended = true;
      resolve({ code, signal: null });
    });
  });
  // An uncaught error ends the thread ('exit' follows); without a listener it would reach the manager.
  worker.on('error', (error) => {
    process.emitWarning(`Worker instance failed: ${error.message}`);
  });
  return {
    pid: process.pid,
    exited,
    kill: () => {
      if (!ended) void worker.terminate();
    },
  };
};
