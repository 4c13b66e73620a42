// Every process the bench starts, tracked so that all of them end with the bench, whatever way it
// ends: normally, on an error, on Ctrl-C, or on an uncaught exception.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchChildMessage } from './bench-config.js';

const children = new Set<ChildProcess>();

/** Forks a compiled file of `test/bench` with `env` added, tracked for {@link killAll}. */
export function forkBenchChild(
  name: string,
  env: Record<string, string>,
  execArgv: string[] = [],
): ChildProcess {
  const child = fork(fileURLToPath(new URL(`./${name}.js`, import.meta.url)), [], {
    env: { ...process.env, ...env },
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Pins every thread of a running child to one CPU with `taskset` (Linux, util-linux). Returns
 * false when that is not possible (no taskset, not Linux), and the child then runs unpinned.
 */
export function pinToCpu(child: ChildProcess, cpu: number): boolean {
  if (process.platform !== 'linux' || child.pid === undefined) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(child.pid)], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves with the child's next message of `type`; rejects when it reports `failed`, exits
 * first, or stays silent for `timeoutMs`.
 */
export function nextMessage<T extends BenchChildMessage['type']>(
  child: ChildProcess,
  type: T,
  timeoutMs: number,
): Promise<Extract<BenchChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: BenchChildMessage) => {
      if (message.type === 'failed') {
        cleanup();
        reject(new Error(`a bench child failed: ${message.message}`));
      } else if (message.type === type) {
        cleanup();
        resolve(message as Extract<BenchChildMessage, { type: T }>);
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`a bench child exited (${code ?? signal}) before "${type}"`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no "${type}" from a bench child within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * Waits up to `graceMs` for the child to leave by itself (so that `--cpu-prof` can write its
 * profile), then SIGKILLs it and waits for the exit.
 */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (hasExited(child)) return;
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** SIGKILLs every child still running and waits for their exits. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...children].map(async (child) => {
      if (hasExited(child)) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }),
  );
}

/**
 * Kills the children on every way out of the runner. `exit` handlers must be synchronous, so the
 * last resort only sends SIGKILL; a signal also ends the runner, which Node would not do once a
 * handler is installed.
 */
export function killChildrenOnExit(): void {
  process.on('exit', () => {
    for (const child of children) if (!hasExited(child)) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      void killAll().finally(() => process.exit(128 + constants.signals[signal]));
    });
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}
