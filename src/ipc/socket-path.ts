import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  currentProcessIdentity,
  hasEnded,
  parseProcessIdentity,
} from '../common/process-identity.js';
import { MAX_SOCKET_PATH_BYTES } from './ipc.constants.js';
import { SocketInUseError, SocketPathTooLongError, UnsafeSocketRootError } from './ipc.errors.js';

// Socket directories are `nss-` and six characters from mkdtemp; a sweep looks at these only.
const SOCKET_ROOT_PREFIX = 'nss-';

/**
 * The file in a socket directory that names the process owning it. No socket is named so: a
 * socket's name is its appspace followed by a snowflake's digits.
 */
export const SOCKET_ROOT_OWNER_FILE = '.owner';

// An owner file is a few dozen bytes; anything much larger was not written by a manager.
const MAX_OWNER_FILE_BYTES = 4_096;

/**
 * Creates a private socket directory (mode 0700) for one manager, under `parent` (the system's
 * temporary directory by default), with an owner file naming this process. The name is short
 * so that every socket path fits `sun_path`. First removes the directories under `parent` that
 * managers killed without a shutdown left behind (see {@link sweepAbandonedSocketRoots}).
 */
export async function createSocketRoot(parent: string = tmpdir()): Promise<string> {
  await sweepAbandonedSocketRoots(parent);
  // mkdtemp creates the directory with mode 0700.
  const root = await mkdtemp(join(parent, SOCKET_ROOT_PREFIX));
  try {
    const owner = JSON.stringify(await currentProcessIdentity());
    await writeFile(join(root, SOCKET_ROOT_OWNER_FILE), owner, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    await removeSocketRoot(root);
    throw error;
  }
  return root;
}

/**
 * Removes the socket directories under `parent` whose owner process has ended (SIGKILL, a
 * crash, a power loss) and resolves with their paths. A directory stays unless all of this
 * holds: it is a real directory named `nss-…` directly in `parent`, it and its owner file belong
 * to this user, the owner file names a process that has certainly ended (see
 * {@link hasEnded}: a reused pid does not keep a directory, a pid that cannot be checked does),
 * and no socket in it accepts connections (an instance running on after its manager, with
 * `onManagerLost: 'continue'`). Safe to run by several managers at once: a directory is first
 * renamed, which only one of them can do. Never throws: what cannot be checked stays.
 */
export async function sweepAbandonedSocketRoots(parent: string): Promise<string[]> {
  const names = await readdir(parent).catch(() => [] as string[]);
  const removed = await Promise.all(
    names
      .filter((name) => name.startsWith(SOCKET_ROOT_PREFIX))
      .map((name) => removeIfAbandoned(parent, name).catch(() => undefined)),
  );
  return removed.filter((path) => path !== undefined);
}

async function removeIfAbandoned(parent: string, name: string): Promise<string | undefined> {
  const root = join(parent, name);
  if (!(await isAbandoned(root))) return undefined;
  // The rename is the claim: of two managers sweeping at once, the second gets ENOENT. A
  // sweeper killed before rm leaves an `nss-` name with the same dead owner, swept next time.
  const claimed = join(parent, `${name}.swept-${randomBytes(4).toString('hex')}`);
  try {
    await rename(root, claimed);
  } catch {
    return undefined;
  }
  await rm(claimed, { recursive: true, force: true });
  return root;
}

async function isAbandoned(root: string): Promise<boolean> {
  if (!isOwnEntry(await lstat(root), 'directory')) return false;
  const ownerPath = join(root, SOCKET_ROOT_OWNER_FILE);
  const ownerStats = await lstat(ownerPath);
  if (!isOwnEntry(ownerStats, 'file') || ownerStats.size > MAX_OWNER_FILE_BYTES) return false;
  const owner = parseProcessIdentity(await readFile(ownerPath, 'utf8'));
  if (owner === undefined || !(await hasEnded(owner))) return false;
  for (const entry of await readdir(root)) {
    const path = join(root, entry);
    if ((await lstat(path)).isSocket() && (await isSocketLive(path))) return false;
  }
  return true;
}

// A directory or file that is what it says (no symlink) and belongs to this user.
function isOwnEntry(stats: Stats, kind: 'directory' | 'file'): boolean {
  const isKind = kind === 'directory' ? stats.isDirectory() : stats.isFile();
  // Without uids (Windows) nothing can be attributed: nothing is swept.
  return isKind && typeof process.getuid === 'function' && stats.uid === process.getuid();
}

/** Removes a socket directory made by {@link createSocketRoot}, with whatever is left in it. */
export async function removeSocketRoot(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}

/** The socket path of an endpoint: `<root>/<appspace><id>`, checked against the OS limit. */
export function socketPathFor(root: string, appspace: string, id: string): string {
  const path = join(root, `${appspace}${id}`);
  if (process.platform !== 'win32' && Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new SocketPathTooLongError(path, MAX_SOCKET_PATH_BYTES);
  }
  return path;
}

/**
 * Makes `path` free for a new server: checks that its directory is private to this user, leaves
 * a live server's socket alone (throws {@link SocketInUseError}) and removes a stale one whose
 * server is gone.
 */
export async function claimSocketPath(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  await assertPrivateDirectory(dirname(path));
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) {
    throw new UnsafeSocketRootError(path, 'holds a file that is not a socket where a socket goes');
  }
  if (await isSocketLive(path)) throw new SocketInUseError(path);
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

async function assertPrivateDirectory(directory: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // node-ipc creates it 0700
    throw error;
  }
  if (!stats.isDirectory()) throw new UnsafeSocketRootError(directory, 'is not a directory');
  if (typeof process.getuid === 'function' && stats.uid !== process.getuid()) {
    throw new UnsafeSocketRootError(directory, 'belongs to another user');
  }
  if ((stats.mode & 0o077) !== 0) {
    throw new UnsafeSocketRootError(
      directory,
      `has mode ${(stats.mode & 0o777).toString(8)}, open to others`,
    );
  }
}

/** Whether a server accepts connections on `path` (a refused or missing socket is stale). */
function isSocketLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => {
      probe.destroy();
      resolve(false);
    });
  });
}
