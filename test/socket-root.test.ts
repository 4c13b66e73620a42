import assert from 'node:assert/strict';
import { once } from 'node:events';
import {
  access,
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { createSocketRoot, removeSocketRoot } from '../src/ipc/index.js';
import { SOCKET_ROOT_OWNER_FILE } from '../src/ipc/socket-path.js';
import { cleanUp, defer } from './support/cleanup.js';
import {
  forkFixture,
  isAlive,
  killAndWait,
  nextMessage,
  type FixtureMessage,
} from './support/processes.js';
import { waitUntil } from './support/wait.js';

afterEach(cleanUp);

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

// A parent directory of this test's own, so that no sweep here looks at anyone else's.
async function privateParent(): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), 'sweep-test-'));
  defer(() => rm(parent, { recursive: true, force: true }));
  return parent;
}

interface ManagerReady extends FixtureMessage {
  status: Array<{ pid: number }>;
  socketDirectory: string;
}

// Starts a real manager application in a child process, with its socket directory in `parent`.
async function startManager(parent: string, mode = 'process') {
  const child = forkFixture('sharding-manager.fixture', {
    FIXTURE_MODE: mode,
    FIXTURE_SOCKET_PARENT: parent,
  });
  const ready = await nextMessage<ManagerReady>(child, 'ready');
  return { child, directory: ready.socketDirectory, pids: ready.status.map(({ pid }) => pid) };
}

// A process that created a socket directory in `parent` and runs until killed.
async function startOwner(parent: string) {
  const child = forkFixture('socket-root.fixture', { FIXTURE_SOCKET_PARENT: parent });
  const { root } = await nextMessage<{ type: string; root: string }>(child, 'created');
  const owner = JSON.parse(await readFile(join(root, SOCKET_ROOT_OWNER_FILE), 'utf8')) as Record<
    string,
    unknown
  >;
  return { child, root, owner };
}

// A socket directory made by hand, with `owner` as its owner file (none if undefined).
async function fakeRoot(parent: string, name: string, owner?: object | string): Promise<string> {
  const root = join(parent, name);
  await mkdir(root, { mode: 0o700 });
  if (owner !== undefined) {
    const text = typeof owner === 'string' ? owner : JSON.stringify(owner);
    await writeFile(join(root, SOCKET_ROOT_OWNER_FILE), text, { mode: 0o600 });
  }
  return root;
}

// What a manager's start does: create its own directory (and sweep); removed after the test.
async function managerStart(parent: string): Promise<string> {
  const root = await createSocketRoot(parent);
  defer(() => removeSocketRoot(root));
  return root;
}

describe('socket directories of managers that did not shut down', () => {
  for (const mode of ['process', 'cluster']) {
    it(`a ${mode}-mode manager killed with SIGKILL leaves its directory; the next manager's start removes it`, async () => {
      const parent = await privateParent();
      const killed = await startManager(parent, mode);
      await killAndWait(killed.child);
      await waitUntil(
        () => !killed.pids.some(isAlive),
        10_000,
        `instances ${killed.pids} outlived their manager`,
      );
      assert.ok(await exists(killed.directory), 'a manager killed with SIGKILL cannot clean up');

      const next = await startManager(parent, mode);

      assert.equal(await exists(killed.directory), false, 'the dead manager’s directory is left');
      assert.deepEqual(await readdir(parent), [basename(next.directory)]);
    });
  }

  it('leaves the directory of a live manager, and its sockets, alone', async () => {
    const parent = await privateParent();
    const live = await startManager(parent);
    const sockets = await readdir(live.directory);
    assert.ok(sockets.length > 1, `no sockets in ${sockets}`);

    await managerStart(parent);

    assert.deepEqual((await readdir(live.directory)).toSorted(), sockets.toSorted());
    assert.equal(live.child.exitCode, null);
  });

  it('removes the directory of an ended owner, and leaves a live owner’s', async () => {
    const parent = await privateParent();
    const live = await startOwner(parent);
    const ended = await startOwner(parent);
    await killAndWait(ended.child);

    await managerStart(parent);

    assert.ok(await exists(live.root));
    assert.equal(await exists(ended.root), false);
  });

  it(
    'tells a reused pid or an earlier boot from a live owner',
    { skip: process.platform !== 'linux' && 'the start time and boot id come from /proc' },
    async () => {
      const parent = await privateParent();
      const { owner } = await startOwner(parent);
      assert.equal(typeof owner.start, 'string');
      assert.equal(typeof owner.boot, 'string');
      // The owner's pid runs, but it is another process than the one that wrote the file.
      const reused = await fakeRoot(parent, 'nss-reused', { ...owner, start: '1' });
      const earlierBoot = await fakeRoot(parent, 'nss-booted', { ...owner, boot: 'earlier' });
      // The same pid, start and boot: the owner itself.
      const same = await fakeRoot(parent, 'nss-same', owner);

      await managerStart(parent);

      assert.equal(await exists(reused), false, 'a reused pid kept a directory');
      assert.equal(await exists(earlierBoot), false, 'a directory from an earlier boot stayed');
      assert.ok(await exists(same), 'a live owner’s directory was removed');
    },
  );

  it('never removes what it cannot attribute to an ended owner of this host', async () => {
    const parent = await privateParent();
    const ended = await startOwner(parent);
    await killAndWait(ended.child);
    const kept = [
      await fakeRoot(parent, 'nss-no-owner'),
      await fakeRoot(parent, 'nss-garbage', 'not json'),
      await fakeRoot(parent, 'nss-no-pid', { ...ended.owner, pid: 'one' }),
      await fakeRoot(parent, 'nss-elsewhere', { ...ended.owner, host: 'another-host' }),
      await fakeRoot(parent, 'nss-namespace', { ...ended.owner, pidNamespace: 'pid:[1]' }),
    ];
    // The ended owner's directory seen through a symlink: neither the link nor the target goes.
    const outside = await privateParent();
    const target = await fakeRoot(outside, 'nss-target', ended.owner);
    await symlink(target, join(parent, 'nss-link'));
    kept.push(join(parent, 'nss-link'), target);
    // A plain file with the prefix.
    await writeFile(join(parent, 'nss-file'), 'precious');
    kept.push(join(parent, 'nss-file'));
    // An owner file this user cannot read (root reads anything: then it proves nothing).
    if (process.getuid?.() !== 0) {
      const unreadable = await fakeRoot(parent, 'nss-unreadable', ended.owner);
      await chmod(join(unreadable, SOCKET_ROOT_OWNER_FILE), 0o000);
      kept.push(unreadable);
    }

    await managerStart(parent);

    for (const path of kept) assert.ok(await exists(path), `${path} was removed`);
    assert.equal(await exists(ended.root), false);
  });

  it('keeps the directory of an ended manager while a socket in it still serves', async () => {
    // An instance with onManagerLost 'continue' runs on in its dead manager's directory.
    const parent = await privateParent();
    const ended = await startOwner(parent);
    await killAndWait(ended.child);
    const server = createServer();
    defer(() => new Promise((resolve) => server.close(resolve)));
    server.listen(join(ended.root, 'ddoo1234'));
    await once(server, 'listening');

    await managerStart(parent);
    assert.ok(await exists(ended.root));

    await new Promise((resolve) => server.close(resolve));
    await managerStart(parent);
    assert.equal(await exists(ended.root), false);
  });

  it('lets several managers start at once over the same abandoned directories', async () => {
    const parent = await privateParent();
    const ended = await startOwner(parent);
    await killAndWait(ended.child);
    const abandoned = await Promise.all(
      Array.from({ length: 8 }, (_, index) => fakeRoot(parent, `nss-dead${index}`, ended.owner)),
    );

    const started = await Promise.all(Array.from({ length: 4 }, () => managerStart(parent)));

    assert.deepEqual(
      (await readdir(parent)).toSorted(),
      started.map((root) => basename(root)).toSorted(),
    );
    for (const root of abandoned) assert.equal(await exists(root), false);
  });
});
