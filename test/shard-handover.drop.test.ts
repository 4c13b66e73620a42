// Dropping shards by a deadline (a lost lease): an instance that does not release them in time,
// or that is already being stopped in stages, is SIGKILLed by then, not after killGrace or
// readyTimeout.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { IdentifyBroker } from '../src/discord/identify.broker.js';
import type { InstanceSupervisor } from '../src/manager/instance.supervisor.js';
import { ShardHandover } from '../src/manager/shard-handover.js';
import { superviseFakes, type FakeSupervision } from './support/fake-instance.js';

/** Lets promise chains run, firing the fake timers due within `ms`. */
async function run(t: TestContext, ms = 0): Promise<void> {
  t.mock.timers.tick(ms);
  for (let round = 0; round < 10; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    t.mock.timers.tick(0);
  }
}

/** Instance 0 (shards 0 and 1) ready, over fakes that die of SIGKILL only, with a handover. */
async function readyInstance(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_800_000_000_000 });
  const fleet: FakeSupervision = superviseFakes({ killGrace: 60_000, readyTimeout: 300_000 }, [
    'SIGKILL',
  ]);
  fleet.supervisor.start();
  await run(t);
  fleet.links[0]!.identify();
  await run(t);
  const supervisor = fleet.supervisor as unknown as InstanceSupervisor;
  const handover = new ShardHandover({
    supervisor: () => supervisor,
    ownerOf: () => 0,
    route: () => undefined,
    unroute: () => undefined,
    totalShards: () => 2,
    // As the manager's: the request times out after `timeout` (the fake instance never answers).
    request: (target, event, data, timeout = 300_000) =>
      new Promise((_, reject) => {
        void target.client!.request(event, data);
        setTimeout(() => reject(new Error('timed out')), timeout);
      }),
    broker: {} as IdentifyBroker,
    logger: { log: () => undefined, warn: () => undefined },
  });
  return { fleet, handover };
}

describe('dropping shards by a deadline', () => {
  it('SIGKILLs an instance that has not released them by the deadline', async (t) => {
    const { fleet, handover } = await readyInstance(t);
    void handover.drop([0, 1], 1_000);
    await run(t);
    assert.deepEqual(fleet.links[0]!.requests, ['RESTRUCTURING']);
    assert.deepEqual(fleet.handles[0]!.signals, []);
    await run(t, 1_000);
    assert.deepEqual(fleet.handles[0]!.signals, ['SIGKILL'], 'not killed by the deadline');
  });

  it('SIGKILLs at once an instance already being stopped in stages', async (t) => {
    const { fleet, handover } = await readyInstance(t);
    void fleet.supervisor.restart('manual restart');
    await run(t);
    assert.equal(fleet.supervisor.state, 'stopping');
    void handover.drop([0, 1], 1_000);
    await run(t);
    assert.deepEqual(fleet.handles[0]!.signals, ['SIGKILL'], 'left to its staged kill');
  });
});
