import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { cleanUp } from './support/cleanup.js';
import { SnowflakeService } from '../src/index.js';
import {
  clientFor,
  instanceEnv,
  managerIdentity,
  startInstance,
  startLink,
} from './support/link.js';
import { exitOf, forkFixture, isAlive, killAndWait, nextMessage } from './support/processes.js';
import { waitUntil } from './support/wait.js';

const snowflakes = new SnowflakeService();

afterEach(cleanUp);

describe('heartbeats', () => {
  it('flow from the instance with stats and round trips, and are acknowledged', async () => {
    // Many missed beats allowed on both sides (the instance watches the manager's acks with its
    // own count): a busy machine must not end the link in this test.
    const { child, client } = await startLink(
      { heartbeatInterval: 50, missedHeartbeats: 40 },
      { FIXTURE_MISSED_HEARTBEATS: '40' },
    );
    const ack = nextMessage<{ type: string; seq: number; roundTrip: number }>(child, 'ack');

    const heartbeats = await firstValueFrom(client.heartbeat$.pipe(take(3), toArray()));

    const seqs = heartbeats.map((heartbeat) => heartbeat.seq);
    assert.deepEqual(seqs, [seqs[0]!, seqs[0]! + 1, seqs[0]! + 2]);
    for (const heartbeat of heartbeats) {
      assert.equal(heartbeat.instance, 0);
      assert.ok(heartbeat.rss! > 0 && heartbeat.heapUsed! > 0);
      assert.ok(heartbeat.eventLoopLag! >= 0);
    }
    // The instance measured the round trip of an acknowledged heartbeat, and reports it.
    const { roundTrip } = await ack;
    assert.ok(roundTrip >= 0);
    // Each heartbeat carries the round trip of an earlier one that was acknowledged.
    const later = await firstValueFrom(
      client.heartbeat$.pipe(filter((heartbeat) => typeof heartbeat.roundTrip === 'number')),
    );
    assert.ok(later.roundTrip! >= 0);
    assert.equal(typeof client.roundTrip, 'number');
  });

  it("reports the instance's event-loop lag: a blocked loop shows by how long it was blocked", async () => {
    // The instance must not take its own block for a lost manager either.
    const { client } = await startLink(
      { heartbeatInterval: 50, missedHeartbeats: 40 },
      { FIXTURE_MISSED_HEARTBEATS: '40' },
    );
    const blockMs = 400;
    const before = await firstValueFrom(client.heartbeat$.pipe(take(3), toArray()));
    // Every heartbeat from the request on: the late one may come before or after the reply.
    const after = firstValueFrom(client.heartbeat$.pipe(take(6), toArray()));
    assert.equal(await client.request('block', { ms: blockMs }), 'unblocked');
    const lags = (await after).map((heartbeat) => heartbeat.eventLoopLag!);
    const blocked = Math.max(...lags);
    // The heartbeat due during the block went out late by most of it; the idle ones were not.
    assert.ok(blocked >= blockMs / 2, `lags after the block: ${lags.join(', ')} ms`);
    for (const heartbeat of before) assert.ok(heartbeat.eventLoopLag! < blocked);
  });

  it('reports the instance dead at once when it is killed with SIGKILL', async () => {
    const { child, client } = await startLink({ heartbeatInterval: 60_000 });
    const lost = firstValueFrom(client.lost$);
    child.kill('SIGKILL');
    // The heartbeat span is a minute: only the closed socket can report this.
    const { reason, error } = await lost;
    assert.equal(reason, 'socket-closed');
    assert.equal(error.code, 'ERR_SHARDING_CONNECTION_LOST');
    assert.equal(client.state, 'lost');
  });

  it('reports a stopped instance (SIGSTOP) dead after the missed-heartbeat span', async () => {
    const { child, client } = await startLink({ heartbeatInterval: 50, missedHeartbeats: 3 });
    await firstValueFrom(client.heartbeat$);
    const lost = firstValueFrom(client.lost$);
    child.kill('SIGSTOP');
    const { reason } = await lost;
    assert.equal(reason, 'heartbeat-timeout');
    assert.equal(client.state, 'lost');
  });
});

describe('the instance losing its manager', () => {
  it("exits under the 'exit' policy when the manager's socket closes", async () => {
    const { child, client } = await startLink({}, { FIXTURE_ON_MANAGER_LOST: 'exit' });
    const lost = nextMessage<{ type: string; reason: string }>(child, 'manager-lost');
    await client.close();
    assert.equal((await lost).reason, 'socket-closed');
    assert.deepEqual(await exitOf(child), { code: 0, signal: null });
  });

  it("keeps running under the 'continue' policy and takes its manager back", async () => {
    const started = await startLink({}, { FIXTURE_ON_MANAGER_LOST: 'continue' });
    const lost = nextMessage<{ type: string; reason: string }>(started.child, 'manager-lost');
    await started.client.close();
    assert.equal((await lost).reason, 'socket-closed');

    const again = clientFor(started, { heartbeatInterval: 50 });
    await again.connect();
    assert.deepEqual(await again.request('echo', 'back'), 'back');
    await firstValueFrom(again.heartbeat$);
    assert.equal(started.child.exitCode, null);
  });

  it('notices a hung manager (SIGSTOP) after the missed-heartbeat span', async () => {
    const identity = await managerIdentity();
    const instance = await startInstance({ FIXTURE_ON_MANAGER_LOST: 'exit' }, identity);
    const env = instanceEnv(identity.managerId, instance.instanceId, 0, identity.socketRoot);
    const manager = forkFixture('ipc-client.fixture', { ...env, FIXTURE_HEARTBEAT_INTERVAL: '50' });
    await nextMessage(manager, 'identified');
    const lost = nextMessage<{ type: string; reason: string }>(instance.child, 'manager-lost');

    manager.kill('SIGSTOP');

    // The socket stays open while the manager is stopped: only the missing acks tell.
    assert.equal((await lost).reason, 'heartbeat-timeout');
    assert.deepEqual(await exitOf(instance.child), { code: 0, signal: null });
  });

  it('leaves no orphan when the manager that forked it is killed with SIGKILL', async () => {
    const { managerId, socketRoot } = await managerIdentity();
    const env = instanceEnv(managerId, snowflakes.generate(0), 0, socketRoot);
    const manager = forkFixture('ipc-client.fixture', { ...env, FIXTURE_FORK_INSTANCE: '1' });
    const { pid } = await nextMessage<{ type: string; pid: number }>(manager, 'identified');
    assert.ok(isAlive(pid));

    await killAndWait(manager);

    await waitUntil(() => !isAlive(pid), 10_000, `instance ${pid} still runs without its manager`);
  });
});
