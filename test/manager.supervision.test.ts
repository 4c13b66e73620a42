import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import {
  ConnectionLostError,
  InstanceNotReadyError,
  InstanceUnavailableError,
  type InstanceRestart,
  type InstanceStatusChange,
} from '../src/index.js';
import { cleanUp } from './support/cleanup.js';
import { startFleet } from './support/fleet.js';
import { forkFixture, isAlive, killAndWait, nextMessage } from './support/processes.js';
import { waitUntil } from './support/wait.js';

afterEach(cleanUp);

const becomes = (instance: number, state: string) =>
  filter((change: InstanceStatusChange) => change.instance === instance && change.to === state);

describe('supervision', () => {
  it('restarts an instance killed with SIGKILL, as a new generation', async () => {
    const manager = await startFleet();
    const before = manager.status()[0]!;
    const restart = firstValueFrom(manager.restart$.pipe(filter((event) => event.instance === 0)));
    const readyAgain = firstValueFrom(manager.status$.pipe(becomes(0, 'ready')));

    process.kill(before.pid!, 'SIGKILL');

    const event = await restart;
    assert.equal(event.instance, 0);
    assert.equal(event.generation, 1);
    assert.equal(event.attempt, 1);
    assert.ok(event.delay > 0);
    const ready = await readyAgain;
    assert.equal(ready.generation, 2);
    const after = manager.status()[0]!;
    assert.notEqual(after.pid, before.pid);
    assert.notEqual(after.instanceId, before.instanceId);
    assert.equal(((await manager.request(0, 'whoami')) as { pid: number }).pid, after.pid);
    assert.equal(manager.status()[1]!.generation, 1, 'the other instance was left alone');
  });

  it('replaces a hung (SIGSTOP) instance after the missed-heartbeat span, without waiting killGrace', async () => {
    // A stopped process cannot act on DESTROYING or SIGTERM; with a 60 s killGrace, waiting on
    // either would hold the replacement back far beyond the 30 s allowed here.
    const manager = await startFleet({
      heartbeatInterval: 200,
      missedHeartbeats: 3,
      killGrace: 60_000,
    });
    const { pid } = manager.status()[1]!;
    const restart = firstValueFrom(manager.restart$.pipe(filter((event) => event.instance === 1)));
    const readyAgain = firstValueFrom(
      manager.status$.pipe(becomes(1, 'ready'), timeout({ first: 30_000 })),
    );

    process.kill(pid!, 'SIGSTOP');

    const { reason, cause, exit } = await restart;
    assert.deepEqual(
      { reason, cause, exit },
      {
        reason: 'exited (signal SIGKILL)',
        cause: 'heartbeat-timeout',
        exit: { code: null, signal: 'SIGKILL' },
      },
    );
    assert.equal((await readyAgain).generation, 2);
    assert.equal(isAlive(pid!), false, 'the hung process was killed before its replacement');
  });

  it('reports the exit of each restart, and the first cause noticed', async () => {
    const manager = await startFleet({
      restart: { initialDelay: 50, maxDelay: 200, maxRestarts: 3, window: 600_000 },
    });
    const restarts: InstanceRestart[] = [];
    manager.restart$.subscribe((restart) => restarts.push(restart));
    const changes: InstanceStatusChange[] = [];
    manager.status$.subscribe((change) => changes.push(change));

    // Instance 0, SIGKILLed from outside until it is given up; its socket often closes before
    // its exit is reported.
    for (let kill = 1; kill <= 4; kill++) {
      const next = firstValueFrom(manager.status$.pipe(becomes(0, kill < 4 ? 'ready' : 'gave-up')));
      process.kill(manager.status()[0]!.pid!, 'SIGKILL');
      await next;
    }
    // Instance 1 exits with code 1 on its own.
    const exited = firstValueFrom(manager.status$.pipe(becomes(1, 'restarting')));
    await manager.request(1, 'exit', { code: 1 });
    await exited;

    const killed = restarts.filter((restart) => restart.instance === 0);
    assert.equal(killed.length, 3);
    for (const restart of killed) {
      assert.equal(restart.reason, 'exited (signal SIGKILL)', JSON.stringify(restart));
      assert.deepEqual(restart.exit, { code: null, signal: 'SIGKILL' });
      assert.ok(['socket-closed', 'exited (signal SIGKILL)'].includes(restart.cause));
    }
    const gaveUp = changes.find((change) => change.to === 'gave-up')!;
    assert.equal(gaveUp.reason, 'exited (signal SIGKILL)');
    assert.deepEqual(gaveUp.exit, { code: null, signal: 'SIGKILL' });
    assert.equal(manager.status()[0]!.lastExit?.reason, 'exited (signal SIGKILL)');
    const [crashed] = restarts.filter((restart) => restart.instance === 1);
    assert.equal(crashed!.reason, 'exited (code 1)');
    assert.deepEqual(crashed!.exit, { code: 1, signal: null });
    const exitedChange = changes.find((change) => change.instance === 1 && change.to === 'exited')!;
    assert.equal(exitedChange.reason, 'exited (code 1)');
    assert.equal(exitedChange.cause, crashed!.cause);
  });

  it('rejects a pending request at once when its instance dies', async () => {
    const manager = await startFleet({ requestTimeout: 120_000 });
    const pending = manager.request(0, 'slow', { ms: 120_000 });
    await manager.request(0, 'echo', 'in flight'); // the slow request has reached the instance
    process.kill(manager.status()[0]!.pid!, 'SIGKILL');
    await assert.rejects(pending, ConnectionLostError);
  });

  it('settles broadcastRequest per instance, with partial results', async () => {
    const manager = await startFleet();
    const results = manager.broadcastRequest('slow', { ms: 1_500 }, { timeout: 10_000 });
    await manager.request(1, 'echo', 'in flight');
    process.kill(manager.status()[1]!.pid!, 'SIGKILL');
    const [first, second] = await results;
    assert.deepEqual(first, { instance: 0, status: 'fulfilled', value: 'slow done' });
    assert.equal(second!.status, 'rejected');
    assert.ok(second!.status === 'rejected' && second!.reason instanceof ConnectionLostError);
  });

  it('lets each call choose what to do with an instance that is not ready', async () => {
    const manager = await startFleet({ restart: { initialDelay: 2_000, maxDelay: 2_000 } });
    const restarting = firstValueFrom(manager.status$.pipe(becomes(1, 'restarting')));
    process.kill(manager.status()[1]!.pid!, 'SIGKILL');
    await restarting;

    await assert.rejects(
      manager.request(1, 'echo', 1, { whenNotReady: 'fail' }),
      InstanceNotReadyError,
    );
    const skipped = await manager.broadcastRequest('echo', 1, { whenNotReady: 'skip' });
    assert.deepEqual(skipped, [{ instance: 0, status: 'fulfilled', value: 1 }]);
    await assert.rejects(manager.request(1, 'echo', 1, { timeout: 100 }), InstanceNotReadyError);
    assert.equal(await manager.request(1, 'echo', 'waited', { timeout: 20_000 }), 'waited');
  });

  it('backs off a crash loop and ends in gave-up', async () => {
    const manager = await startFleet(
      {
        totalShards: 1,
        env: { FIXTURE_BEHAVIOUR: 'crash-on-start' },
        restart: { initialDelay: 20, maxDelay: 80, maxRestarts: 3, window: 60_000 },
      },
      { waitReady: false },
    );
    const restarts = firstValueFrom(manager.restart$.pipe(take(3), toArray()));
    const gaveUp = firstValueFrom(manager.status$.pipe(becomes(0, 'gave-up')));
    const spawned = await manager.spawn().then(() => restarts);
    assert.deepEqual(
      spawned.map((event) => event.attempt),
      [1, 2, 3],
    );
    // Exponential: each delay is about twice the one before (±20% jitter).
    assert.ok(spawned[1]!.delay > spawned[0]!.delay && spawned[2]!.delay > spawned[1]!.delay);
    assert.match(spawned[0]!.reason, /code 7/);
    await gaveUp;
    await assert.rejects(manager.request(0, 'echo', 1), InstanceUnavailableError);
  });

  it('restart() during an automatic restart waits for the dying generation, and makes one replacement', async () => {
    const manager = await startFleet({ restart: { initialDelay: 2_000, maxDelay: 2_000 } });
    const { pid } = manager.status()[0]!;
    const changes: InstanceStatusChange[] = [];
    manager.status$
      .pipe(filter((change) => change.instance === 0))
      .subscribe((change) => changes.push(change));
    const stopping = firstValueFrom(manager.status$.pipe(becomes(0, 'stopping')));
    process.kill(pid!, 'SIGKILL');
    await stopping;
    await manager.restart(0);
    await manager.whenReady(30_000);
    assert.equal(isAlive(pid!), false);
    const spawned = changes
      .filter((change) => change.to === 'spawning')
      .map((change) => change.generation);
    assert.deepEqual(spawned, [2]);
    // The spawn came after the old generation had exited.
    const exitedAt = changes.findIndex((change) => change.to === 'exited');
    const spawnedAt = changes.findIndex((change) => change.to === 'spawning');
    assert.ok(exitedAt !== -1 && exitedAt < spawnedAt, JSON.stringify(changes.map((c) => c.to)));
    assert.ok(!changes.some((change) => change.to === 'restarting'));
  });

  it('restart() replaces a healthy instance, and is idempotent', async () => {
    const manager = await startFleet();
    const spawned: number[] = [];
    manager.status$
      .pipe(filter((change) => change.instance === 0 && change.to === 'spawning'))
      .subscribe((change) => spawned.push(change.generation));
    // Two calls while one replacement is under way make one replacement.
    await Promise.all([manager.restart(0), manager.restart(0)]);
    await manager.whenReady(30_000);
    assert.deepEqual(spawned, [2]);
    assert.equal(manager.status()[0]!.generation, 2);
    assert.equal(manager.status()[1]!.generation, 1);
  });

  it('restart() resolves when the new generation is ready to serve', async () => {
    const manager = await startFleet();
    for (let round = 2; round <= 4; round++) {
      await manager.restart(0);
      const { state, generation } = manager.status()[0]!;
      assert.deepEqual({ state, generation }, { state: 'ready', generation: round });
      assert.equal(await manager.request(0, 'echo', round, { whenNotReady: 'fail' }), round);
    }
  });
});

describe('the manager killed with SIGKILL', () => {
  for (const mode of ['process', 'cluster']) {
    it(`leaves no ${mode} instance alive`, async () => {
      const manager = forkFixture('sharding-manager.fixture', { FIXTURE_MODE: mode });
      const { status } = await nextMessage<{ type: string; status: Array<{ pid: number }> }>(
        manager,
        'ready',
      );
      const pids = status.map((instance) => instance.pid);
      assert.equal(pids.length, 2);
      assert.ok(pids.every(isAlive));
      await killAndWait(manager);
      await waitUntil(
        () => !pids.some(isAlive),
        10_000,
        `instances ${pids} outlived their manager`,
      );
    });
  }
});
