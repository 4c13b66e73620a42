import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { defer } from './cleanup.js';

/** A private `redis-server` on a Unix socket in a temporary directory, for one test. */
export interface TestRedis {
  /** The socket path: give it as `coordination.redis`. */
  readonly socket: string;
  /** SIGKILLs the server (nothing is saved: it forgets everything) and waits for its exit. */
  kill(): Promise<void>;
  /** Starts it again on the same socket (after {@link kill}). */
  restart(): Promise<void>;
}

/** Why the Redis tests cannot run here, or undefined when `redis-server` is installed. */
export function missingRedis(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0
    ? undefined
    : 'redis-server not installed: install Debian\'s "redis-server" to run the multi-host tests';
}

/** A {@link TestRedis} that its caller stops: `remove` kills it and deletes its directory. */
export interface LaunchedRedis extends TestRedis {
  remove(): Promise<void>;
}

/**
 * Starts a `redis-server` with no TCP port and no persistence, on a socket in a fresh temporary
 * directory. The caller removes it (tests use {@link startRedis}, which does).
 */
export async function launchRedis(): Promise<LaunchedRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'nsh-redis-'));
  const socket = join(dir, 'redis.sock');
  let server: ChildProcess | undefined;
  const start = async () => {
    server = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--unixsocket',
        socket,
        '--unixsocketperm',
        '700',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await readyToAccept(server);
  };
  const kill = async () => {
    const current = server;
    if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
    const exited = once(current, 'exit');
    current.kill('SIGKILL');
    await exited;
  };
  try {
    await start();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    socket,
    kill,
    restart: start,
    async remove() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A private `redis-server` for the current test (see {@link launchRedis}), removed after it,
 * pass or fail. Skips the test, with a notice on the console, when `redis-server` is not
 * installed: then it returns undefined and the test returns at once.
 */
export async function startRedis(t: TestContext): Promise<TestRedis | undefined> {
  const missing = missingRedis();
  if (missing !== undefined) {
    console.log(`# skipped: ${missing}`);
    t.skip(missing);
    return undefined;
  }
  const redis = await launchRedis();
  defer(() => redis.remove());
  return redis;
}

/** Resolves when the server says it accepts connections; rejects if it exits first. */
function readyToAccept(server: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!/ready to accept connections/i.test(output)) return;
      // Keep draining its output, or a full pipe would stall the server.
      server.stdout!.off('data', onData);
      server.stdout!.resume();
      server.off('exit', onExit);
      resolve();
    };
    const onExit = (code: number | null) =>
      reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`));
    server.stdout!.on('data', onData);
    server.once('exit', onExit);
  });
}
