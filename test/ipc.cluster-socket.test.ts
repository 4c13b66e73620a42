import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { filter, firstValueFrom } from 'rxjs';
import { type ShardingManager } from '../src/index.js';
import { DEFAULT_APPSPACE } from '../src/ipc/index.js';
import { cleanUp } from './support/cleanup.js';
import { startFleet } from './support/fleet.js';
import { listenersOn, listensOn } from './support/unix-sockets.js';

afterEach(cleanUp);

/** The socket path and pid of each instance of a fleet, as it runs now. */
function instanceSockets(manager: ShardingManager): Array<{ path: string; pid: number }> {
  return manager.status().map(({ instanceId, pid }) => ({
    path: join(manager.socketDirectory!, `${DEFAULT_APPSPACE}${instanceId!}`),
    pid: pid!,
  }));
}

describe(
  'cluster mode: each instance owns its socket',
  { skip: process.platform !== 'linux' && 'reads /proc' },
  () => {
    it('the instance listens on its socket, the manager on none', async () => {
      const manager = await startFleet({ mode: 'cluster' });
      for (const { path, pid } of instanceSockets(manager)) {
        assert.ok(listenersOn(path).size > 0, `nothing listens on ${path}`);
        assert.equal(listensOn(process.pid, path), false, `the manager listens on ${path}`);
        assert.equal(listensOn(pid, path), true, `instance ${pid} does not listen on ${path}`);
      }
    });

    it('leaves no listener in the manager after an instance is killed', async () => {
      const manager = await startFleet({ mode: 'cluster' });
      const [, before] = instanceSockets(manager);
      const readyAgain = firstValueFrom(
        manager.status$.pipe(filter((change) => change.instance === 1 && change.to === 'ready')),
      );
      process.kill(before!.pid, 'SIGKILL');
      await readyAgain;

      const [, after] = instanceSockets(manager);
      assert.notEqual(after!.path, before!.path);
      assert.equal(listenersOn(before!.path).size, 0, 'the dead instance still has a listener');
      assert.equal(listensOn(process.pid, after!.path), false, 'the manager listens');
      assert.equal(listensOn(after!.pid, after!.path), true, 'the replacement does not listen');
    });
  },
);
