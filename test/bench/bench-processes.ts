// Every process the bench starts, tracked so that all of them end with the bench, whatever way it
// ends: normally, on an error, on Ctrl-C, or on an uncaught exception.
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { BenchChildMessage } from './bench-config.js';

const children = new Set<ChildProcess>();

/**
 * Processes the bench's children started in turn (sharding instances, discord.js shards), by
 * pid, as the children reported them (`{ type: 'pids' }`). They normally end with their parent;
 * {@link killAll} makes sure, but only kills a pid whose command line still names a file of this
 * build, so that a pid reused by an unrelated process is left alone.
 */
const descendants = new Set<number>();

/** The compiled build's root (`build/`), which every process the bench starts runs a file of. */
const BUILD_ROOT = fileURLToPath(new URL('../../', import.meta.url));

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
  track(child);
  child.on('message', (message: BenchChildMessage) => {
    if (message?.type === 'pids') for (const pid of message.pids) descendants.add(pid);
  });
  return child;
}

/**
 * Spawns `node` (this runner's own binary) with `args`, no IPC channel and no output, tracked for
 * {@link killAll}: the bare-process baseline of the memory measurement.
 */
export function spawnNode(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  track(child);
  return child;
}

function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
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

/**
 * SIGKILLs every child still running and waits for their exits, then every reported descendant
 * still running (they are not our children: their exit is polled, up to 5 s).
 */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...children].map(async (child) => {
      if (hasExited(child)) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }),
  );
  const left = killDescendants();
  for (let waited = 0; waited < 5_000 && left.some(isOurs); waited += 20) await delay(20);
}

/** How many reported descendants still run (a check for the end of the bench). */
export function runningDescendants(): number[] {
  return [...descendants].filter(isOurs);
}

/** SIGKILLs every reported descendant that still runs a file of this build; returns their pids. */
function killDescendants(): number[] {
  const killed: number[] = [];
  for (const pid of descendants) {
    if (!isOurs(pid)) {
      descendants.delete(pid);
      continue;
    }
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      descendants.delete(pid);
    }
  }
  return killed;
}

/**
 * Whether `pid` runs (not a zombie) a file of this build. Not on Linux, where /proc is missing,
 * nothing is known about it: it counts as not ours, and its parent's exit must end it.
 */
function isOurs(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(BUILD_ROOT);
  } catch {
    return false;
  }
}

/**
 * Kills the children on every way out of the runner. `exit` handlers must be synchronous, so the
 * last resort only sends SIGKILL; a signal also ends the runner, which Node would not do once a
 * handler is installed.
 */
export function killChildrenOnExit(): void {
  process.on('exit', () => {
    for (const child of children) if (!hasExited(child)) child.kill('SIGKILL');
    killDescendants();
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
