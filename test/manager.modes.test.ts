import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { afterEach, describe, it } from 'node:test';
import { filter, firstValueFrom } from 'rxjs';
import { RemoteHandlerError, type ShardingMode } from '../src/index.js';
import { cleanUp } from './support/cleanup.js';
import { startFleet } from './support/fleet.js';
import { isAlive } from './support/processes.js';

afterEach(cleanUp);

for (const mode of ['process', 'worker', 'cluster'] as ShardingMode[]) {
  describe(`a fleet in ${mode} mode`, () => {
    it('spawns the shard plan and serves handlers on both sides', async () => {
      const manager = await startFleet({ mode });
      assert.deepEqual(
        manager.status().map(({ instance, state, shards, generation }) => ({
          instance,
          state,
          shards,
          generation,
        })),
        [
          { instance: 0, state: 'ready', shards: [0, 1], generation: 1 },
          { instance: 1, state: 'ready', shards: [2, 3], generation: 1 },
        ],
      );
      const whoami = await manager.request<{ instance: number; shards: number[]; total: number }>(
        1,
        'whoami',
      );
      assert.deepEqual(
        { ...whoami, pid: undefined },
        { instance: 1, shards: [2, 3], total: 4, pid: undefined },
      );

      const all = await manager.broadcastRequest<{ instance: number }>('whoami');
      assert.deepEqual(
        all.map((result) => result.status === 'fulfilled' && result.value.instance),
        [0, 1],
      );
      // instance → manager, and instance → instance through the manager
      assert.deepEqual(await manager.request(0, 'ask-manager', 'hi'), {
        manager: true,
        data: { data: 'hi', asked: 'manager' },
      });
      assert.equal(
        ((await manager.request(0, 'ask-shard', { shard: 3 })) as { instance: number }).instance,
        1,
      );
      const relayed = (await manager.request(1, 'ask-all')) as Array<{
        instance: number;
        status: string;
      }>;
      assert.deepEqual(
        relayed.map(({ instance, status }) => [instance, status]),
        [
          [0, 'fulfilled'],
          [1, 'fulfilled'],
        ],
      );
      await assert.rejects(manager.request(0, 'throw'), (error: unknown) => {
        assert.ok(error instanceof RemoteHandlerError);
        assert.equal(error.remoteName, 'RangeError');
        return true;
      });
      assert.equal(manager.instanceForShard(2), 1);
      assert.equal(
        manager.instanceForGuild('1146749583373226046'),
        manager.instanceForShard(Number((1146749583373226046n >> 22n) % 4n)),
      );
    });

    it('honours file, env and execArgv', async () => {
      const manager = await startFleet({
        mode,
        totalShards: 1,
        env: { FIXTURE_MARK: `marked in ${mode} mode` },
        execArgv: ['--no-deprecation'],
      });
      const launch = await manager.request<{ execArgv: string[]; mark: string; entry: string }>(
        0,
        'launch',
      );
      assert.equal(launch.mark, `marked in ${mode} mode`);
      assert.ok(launch.execArgv.includes('--no-deprecation'), launch.execArgv.join(' '));
      assert.match(launch.entry, /sharding-app\.fixture\.js$/);
    });

    it('restarts an instance that dies, as a new generation', async () => {
      const manager = await startFleet({ mode });
      const restart = firstValueFrom(manager.restart$);
      const ready = firstValueFrom(
        manager.status$.pipe(filter((change) => change.instance === 1 && change.to === 'ready')),
      );
      // An event, not a request: its exit may come before a reply could leave (a worker thread's).
      await manager.send(1, 'exit', { code: 3 });
      const event = await restart;
      assert.equal(event.instance, 1);
      assert.equal((await ready).generation, 2);
      assert.deepEqual(await manager.request(1, 'echo', 'again'), 'again');
    });

    it('leaves no process and no socket after app.close()', async () => {
      const manager = await startFleet({ mode });
      const pids = manager.status().map((status) => status.pid!);
      const root = manager.socketDirectory!;
      await access(root);
      await cleanUp(); // closes the application
      if (mode !== 'worker')
        for (const pid of pids) assert.equal(isAlive(pid), false, `instance ${pid} survived`);
      await assert.rejects(access(root), { code: 'ENOENT' });
      assert.ok(manager.status().every((status) => status.state === 'exited'));
    });
  });
}
