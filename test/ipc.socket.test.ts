import assert from 'node:assert/strict';
import { once } from 'node:events';
import { access, chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import {
  IpcServer,
  SocketInUseError,
  SocketPathTooLongError,
  UnsafeSocketRootError,
} from '../src/index.js';
import { createSocketRoot, removeSocketRoot } from '../src/ipc/index.js';
import { SOCKET_ROOT_OWNER_FILE } from '../src/ipc/socket-path.js';
import { cleanUp, defer } from './support/cleanup.js';
import { exitOf, forkFixture, nextMessage } from './support/processes.js';
import { instanceEnv, managerIdentity } from './support/link.js';

afterEach(cleanUp);

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

function serverAt(socketRoot: string, instanceId = '1234'): IpcServer {
  const server = new IpcServer({
    managerId: '1',
    instanceId,
    instance: 0,
    socketRoot,
    watchParent: false,
  });
  defer(() => server.close());
  return server;
}

describe('socket directory and socket files', () => {
  it('creates a private (0700) socket root per manager', async () => {
    const root = await createSocketRoot();
    defer(() => removeSocketRoot(root));
    assert.equal((await stat(root)).mode & 0o777, 0o700);
    // The owner file, which lets a later manager remove the directory should this one be killed.
    const ownerFile = join(root, SOCKET_ROOT_OWNER_FILE);
    assert.equal((await stat(ownerFile)).mode & 0o777, 0o600);
    assert.equal(JSON.parse(await readFile(ownerFile, 'utf8')).pid, process.pid);
    assert.notEqual(
      root,
      await createSocketRoot().then((other) => (defer(() => removeSocketRoot(other)), other)),
    );
  });

  it('never takes over a live socket', async () => {
    const { socketRoot } = await managerIdentity();
    const first = serverAt(socketRoot);
    await first.listen();
    const second = serverAt(socketRoot);
    await assert.rejects(second.listen(), SocketInUseError);
    assert.equal(first.state, 'listening');
  });

  it('cleans a stale socket left by a process killed with SIGKILL, and removes its own on close', async () => {
    const { managerId, socketRoot } = await managerIdentity();
    const instanceId = '5678';
    const child = forkFixture(
      'ipc-server.fixture',
      instanceEnv(managerId, instanceId, 0, socketRoot),
    );
    const { path } = await nextMessage<{ type: string; path: string }>(child, 'listening');
    child.kill('SIGKILL');
    await exitOf(child);
    assert.ok(await exists(path), 'a killed server leaves its socket file behind');

    const server = serverAt(socketRoot, instanceId);
    await server.listen();
    assert.equal(server.socketPath, path);
    await server.close();
    assert.equal(await exists(path), false);
  });

  it('close() during listen() leaves no server and no socket behind', async () => {
    const { socketRoot } = await managerIdentity();
    const server = serverAt(socketRoot);
    const listening = server.listen();
    await server.close();
    await listening;
    assert.equal(server.state, 'closed');
    assert.equal(await exists(server.socketPath), false);
    await assert.rejects(server.listen());
  });

  it('refuses a socket root open to other users', async () => {
    const open = await mkdtemp(join(tmpdir(), 'nss-open-'));
    defer(() => removeSocketRoot(open));
    await chmod(open, 0o755);
    await assert.rejects(serverAt(open).listen(), UnsafeSocketRootError);
  });

  it('refuses to unlink something that is not a socket', async () => {
    const { socketRoot } = await managerIdentity();
    await writeFile(join(socketRoot, 'ddoo1234'), 'precious');
    await assert.rejects(serverAt(socketRoot).listen(), UnsafeSocketRootError);
    assert.ok(await exists(join(socketRoot, 'ddoo1234')));
  });

  it('refuses a socket path longer than sun_path with a typed error', () => {
    const server = serverAt(`/tmp/${'d'.repeat(120)}`);
    assert.throws(() => server.socketPath, SocketPathTooLongError);
  });

  it('lets a plain net server hold the path and still refuses to take it over', async () => {
    const { socketRoot } = await managerIdentity();
    const other = createServer();
    defer(() => new Promise((resolve) => other.close(resolve)));
    other.listen(join(socketRoot, 'ddoo1234'));
    await once(other, 'listening');
    await assert.rejects(serverAt(socketRoot).listen(), SocketInUseError);
  });
});
