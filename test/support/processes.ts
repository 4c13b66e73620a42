import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Every child a test started; {@link killAll} ends them whether the test passed or not. */
const children = new Set<ChildProcess>();

/** The compiled path of a fixture in `test/fixtures`. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}.js`, import.meta.url));
}

/** Forks a fixture with `env` added to the environment, and tracks it for cleanup. */
export function forkFixture(name: string, env: Record<string, string>): ChildProcess {
  const child = fork(fixturePath(name), [], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Kills every tracked child with SIGKILL (works on stopped ones too) and waits for the exits. */
export async function killAll(): Promise<void> {
  await Promise.all([...children].map((child) => killAndWait(child)));
}

/** SIGKILLs a child and waits for its exit. */
export async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** Resolves with the exit code and signal of a child. */
export async function exitOf(
  child: ChildProcess,
): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return { code: child.exitCode, signal: child.signalCode };
  }
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  return { code, signal };
}

/** A message a fixture sends with `process.send`. */
export interface FixtureMessage {
  type: string;
  [key: string]: unknown;
}

/**
 * Resolves with the next message of `type` from a child that `accept` takes (default: any);
 * rejects if the child exits first.
 */
export function nextMessage<T extends FixtureMessage = FixtureMessage>(
  child: ChildProcess,
  type: string,
  accept: (message: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FixtureMessage) => {
      if (message?.type !== type || !accept(message as T)) return;
      cleanup();
      resolve(message as T);
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`the fixture exited (${code ?? signal}) before sending "${type}"`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * Whether a process with this pid runs. A zombie (exited, not yet reaped by whoever adopted it)
 * does not count: it has stopped, and reaping it is its new parent's business.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ...", where comm may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}
