import { lstat, mkdtemp, rm, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MAX_SOCKET_PATH_BYTES } from './ipc.constants.js';
import { SocketInUseError, SocketPathTooLongError, UnsafeSocketRootError } from './ipc.errors.js';

/**
 * Creates a private socket directory (mode 0700) for one manager, under `parent` (the system's
 * temporary directory by default). The name is short so that every socket path fits `sun_path`.
 */
export async function createSocketRoot(parent: string = tmpdir()): Promise<string> {
  // mkdtemp creates the directory with mode 0700.
  return mkdtemp(join(parent, 'nss-'));
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
