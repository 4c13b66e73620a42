import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  INSTANCE_TRANSITIONS,
  type InstanceRestart,
  type InstanceState,
} from '../src/manager/instance-state.js';
import { superviseFakes, type FakeSupervision } from './support/fake-instance.js';

/**
 * Lets the supervisor's promise chains run, and fires the fake timers due within `ms`. Timers
 * set by those chains at the current fake time fire too.
 */
async function run(t: TestContext, ms = 0): Promise<void> {
  t.mock.timers.tick(ms);
  for (let round = 0; round < 10; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    t.mock.timers.tick(0);
  }
}

function fakeClock(t: TestContext): void {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_800_000_000_000 });
}

/** A supervisor over fakes, started, whose first generation is ready (fake clock on). */
async function readyFleet(
  t: TestContext,
  ...args: Parameters<typeof superviseFakes>
): Promise<FakeSupervision> {
  fakeClock(t);
  const fleet = superviseFakes(...args);
  fleet.supervisor.start();
  await run(t);
  fleet.links[0]!.identify();
  await run(t);
  return fleet;
}

describe('InstanceSupervisor (fake handles, links and timers)', () => {
  it('goes spawning → connecting → identified → ready', async (t) => {
    const fleet = await readyFleet(t);
    assert.deepEqual(fleet.states(), ['spawning', 'connecting', 'identified', 'ready']);
    assert.equal(fleet.supervisor.state, 'ready');
    assert.equal(fleet.links[0]!.launch.instance, 0);
    assert.deepEqual(fleet.links[0]!.launch.shards, [0, 1]);
  });

  it('restarts after an exit once ready, after the backoff delay', async (t) => {
    const fleet = await readyFleet(t);
    fleet.handles[0]!.exit({ code: 1, signal: null });
    await run(t);
    assert.equal(fleet.supervisor.state, 'restarting');
    assert.deepEqual(fleet.handles[0]!.signals, [], 'an exited instance gets no signal');
    await run(t, 999);
    assert.equal(fleet.handles.length, 1, 'respawned before the delay');
    await run(t, 1);
    assert.equal(fleet.handles.length, 2);
    fleet.links[1]!.identify();
    await run(t);
    assert.deepEqual(fleet.states().slice(3), [
      'ready',
      'stopping',
      'exited',
      'restarting',
      'spawning',
      'connecting',
      'identified',
      'ready',
    ]);
    assert.equal(fleet.supervisor.status().generation, 2);
  });

  it('backs off exponentially, then gives up', async (t) => {
    fakeClock(t);
    const fleet = superviseFakes({ restart: { maxRestarts: 3 } });
    const delays: number[] = [];
    fleet.supervisor.restart$.subscribe((restart) => delays.push(restart.delay));
    fleet.supervisor.start();
    for (let crash = 0; crash < 4; crash++) {
      await run(t);
      fleet.handles[crash]!.exit({ code: 7, signal: null });
      await run(t, delays[crash - 1] ?? 0);
      if (crash < 3) await run(t, delays[crash]!);
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000]);
    assert.equal(fleet.supervisor.state, 'gave-up');
    assert.equal(fleet.handles.length, 4);
    assert.equal(fleet.errors.length, 1);
    assert.match(fleet.errors[0]!, /gave up/);
    await assert.rejects(fleet.supervisor.whenReady(1), {
      code: 'ERR_SHARDING_INSTANCE_UNAVAILABLE',
    });
  });

  it('tells the instance in DESTROYING whether a new generation takes its shards over', async (t) => {
    const fleet = await readyFleet(t);
    const restarted = fleet.supervisor.restart();
    await run(t);
    fleet.handles[0]!.exit({ code: 0, signal: null });
    await run(t);
    fleet.links[1]!.identify();
    await run(t);
    await restarted;
    const stopped = fleet.supervisor.stop();
    await run(t);
    fleet.handles[1]!.exit({ code: 0, signal: null });
    await run(t);
    await stopped;
    assert.deepEqual(
      [fleet.links[0]!.requestData, fleet.links[1]!.requestData],
      [[{ reason: 'manual restart', replaced: true }], [{ reason: 'shutdown', replaced: false }]],
    );
  });

  it('makes one replacement for concurrent restart() calls', async (t) => {
    const fleet = await readyFleet(t);
    const first = fleet.supervisor.restart();
    assert.equal(fleet.supervisor.restart(), first);
    await run(t);
    // The graceful stage: DESTROYING, then SIGTERM after killGrace.
    assert.deepEqual(fleet.links[0]!.requests, ['DESTROYING']);
    await run(t, 5_000);
    assert.deepEqual(fleet.handles[0]!.signals, ['SIGTERM']);
    await run(t);
    assert.equal(fleet.handles.length, 2);
    fleet.links[1]!.identify();
    await run(t);
    await first;
    assert.equal(fleet.handles.length, 2);
    assert.ok(!fleet.states().includes('restarting'));
  });

  it('restart() during a handshake that then fails makes one replacement, after the exit', async (t) => {
    fakeClock(t);
    const fleet = superviseFakes();
    fleet.supervisor.start();
    await run(t);
    const restarted = fleet.supervisor.restart();
    // The instance dies on its own while the restart's staged kill runs.
    fleet.handles[0]!.exit({ code: 1, signal: null });
    fleet.links[0]!.refuse(new Error('socket closed'));
    await run(t);
    assert.equal(fleet.handles.length, 2);
    fleet.links[1]!.identify();
    await run(t);
    await restarted;
    assert.equal(fleet.supervisor.state, 'ready');
    assert.equal(fleet.handles.length, 2);
    assert.ok(!fleet.states().includes('restarting'), fleet.states().join(' '));
    const states = fleet.states();
    assert.ok(states.indexOf('exited') < states.lastIndexOf('spawning'));
  });

  it('stop() during a restart delay spawns nothing more and completes the streams', async (t) => {
    fakeClock(t);
    const fleet = superviseFakes();
    let completed = false;
    fleet.supervisor.status$.subscribe({ complete: () => (completed = true) });
    fleet.supervisor.start();
    await run(t);
    fleet.links[0]!.identify();
    fleet.handles[0]!.exit({ code: null, signal: 'SIGKILL' });
    await run(t);
    assert.equal(fleet.supervisor.state, 'restarting');
    await fleet.supervisor.stop();
    await run(t, 60_000);
    assert.equal(fleet.handles.length, 1);
    assert.equal(fleet.supervisor.state, 'exited');
    assert.ok(completed);
    await assert.rejects(fleet.supervisor.restart(), { code: 'ERR_SHARDING_INSTANCE_UNAVAILABLE' });
  });

  it('kills a generation that missed its heartbeats with SIGKILL first, without waiting for killGrace', async (t) => {
    // A stopped or busy process: only SIGKILL ends it.
    const fleet = await readyFleet(t, { killGrace: 60_000 }, ['SIGKILL']);
    fleet.links[0]!.lose('heartbeat-timeout');
    await run(t);
    assert.deepEqual(fleet.handles[0]!.signals, ['SIGKILL']);
    assert.deepEqual(fleet.links[0]!.requests, [], 'no DESTROYING to a hung instance');
    assert.equal(fleet.supervisor.state, 'restarting');
    await run(t, 1_000);
    assert.equal(fleet.handles.length, 2, 'replaced after the restart delay alone');
  });

  it('reports the exit and the first cause noticed, in restart$, status$ and the logs', async (t) => {
    const fleet = await readyFleet(t, { restart: { maxRestarts: 1 } });
    const restarts: InstanceRestart[] = [];
    fleet.supervisor.restart$.subscribe((restart) => restarts.push(restart));
    // The socket closes before the exit is known, as it mostly does for a SIGKILL.
    fleet.links[0]!.lose('socket-closed');
    fleet.handles[0]!.exit({ code: null, signal: 'SIGKILL' });
    await run(t);
    await run(t, 1_000);
    fleet.links[1]!.identify();
    await run(t);
    fleet.links[1]!.lose('socket-closed');
    fleet.handles[1]!.exit({ code: 1, signal: null });
    await run(t);

    const first = { reason: 'exited (signal SIGKILL)', cause: 'socket-closed' };
    assert.deepEqual(
      restarts.map(({ reason, cause, exit }) => ({ reason, cause, exit })),
      [{ ...first, exit: { code: null, signal: 'SIGKILL' } }],
    );
    const why = (to: string) =>
      fleet.changes
        .filter((change) => change.to === to)
        .map(({ reason, cause, exit }) => ({ reason, cause, exit }));
    assert.deepEqual(why('stopping'), [
      { reason: 'socket-closed', cause: 'socket-closed', exit: undefined },
      { reason: 'socket-closed', cause: 'socket-closed', exit: undefined },
    ]);
    assert.deepEqual(why('restarting'), [{ ...first, exit: { code: null, signal: 'SIGKILL' } }]);
    assert.deepEqual(why('gave-up'), [
      { reason: 'exited (code 1)', cause: 'socket-closed', exit: { code: 1, signal: null } },
    ]);
    assert.match(fleet.warnings[0]!, /exited \(signal SIGKILL\) \(first noticed: socket-closed\)/);
    assert.match(fleet.errors[0]!, /gave up.*exited \(code 1\) \(first noticed: socket-closed\)/);
    assert.deepEqual(fleet.supervisor.status().lastExit, {
      code: 1,
      signal: null,
      reason: 'exited (code 1)',
      cause: 'socket-closed',
    });
  });

  it('restart() resolves when the new generation is ready, not before', async (t) => {
    const fleet = await readyFleet(t, {}, ['SIGTERM', 'SIGKILL']);
    let settled = false;
    const restarted = fleet.supervisor.restart().finally(() => (settled = true));
    await run(t, 5_000);
    assert.equal(fleet.handles.length, 2);
    assert.equal(settled, false, 'resolved before the new generation was ready');
    fleet.links[1]!.identify({ connected: false });
    await run(t);
    assert.equal(settled, false, 'resolved on IDENTIFY, before CONNECTED');
    fleet.links[1]!.dispatch('CONNECTED');
    await restarted;
    assert.equal(fleet.supervisor.state, 'ready');
  });

  it('restart() waits through a failed new generation, and rejects when it is given up', async (t) => {
    const fleet = await readyFleet(t, { restart: { maxRestarts: 1 } });
    const restarted = assert.rejects(fleet.supervisor.restart(), {
      code: 'ERR_SHARDING_INSTANCE_UNAVAILABLE',
    });
    await run(t, 5_000);
    fleet.handles[1]!.exit({ code: 1, signal: null });
    await run(t);
    await run(t, 1_000);
    assert.equal(fleet.handles.length, 3, 'the policy restarted the failed generation');
    fleet.handles[2]!.exit({ code: 1, signal: null });
    await run(t);
    await restarted;
    assert.equal(fleet.supervisor.state, 'gave-up');
  });

  it('restart() rejects when the instance is not ready within readyTimeout, or stopped', async (t) => {
    const fleet = await readyFleet(t, { readyTimeout: 20_000 });
    const late = assert.rejects(fleet.supervisor.restart(), {
      code: 'ERR_SHARDING_INSTANCE_NOT_READY',
    });
    await run(t, 5_000);
    await run(t, 20_000);
    await late;
    const stopped = assert.rejects(fleet.supervisor.restart(), {
      code: 'ERR_SHARDING_INSTANCE_UNAVAILABLE',
    });
    await run(t);
    const stopping = fleet.supervisor.stop();
    await run(t, 5_000);
    await Promise.all([stopped, stopping]);
  });

  it('ignores the signals of a generation that is being ended', async (t) => {
    const fleet = await readyFleet(t);
    fleet.links[0]!.lose('socket-closed');
    // Late signals of the same generation: no second kill, no second restart.
    fleet.links[0]!.lose('heartbeat-timeout');
    fleet.handles[0]!.exit({ code: 1, signal: null });
    await run(t);
    assert.equal(fleet.warnings.length, 1);
    assert.deepEqual(fleet.changes.filter((change) => change.to === 'restarting').length, 1);
  });
});

describe('INSTANCE_TRANSITIONS', () => {
  it('is enforced: a transition it does not list throws', () => {
    const { supervisor } = superviseFakes();
    const transition = (supervisor as unknown as { transition(to: InstanceState): void })
      .transition;
    assert.throws(() => transition.call(supervisor, 'ready'), {
      name: 'IllegalTransitionError',
      code: 'ERR_SHARDING_ILLEGAL_TRANSITION',
    });
    assert.equal(supervisor.state, 'idle');
  });

  it('reaches every state from idle, and lets every state stop', () => {
    const reached = new Set<InstanceState>(['idle']);
    for (let pass = 0; pass < 10; pass++)
      for (const from of reached) for (const to of INSTANCE_TRANSITIONS[from]) reached.add(to);
    assert.deepEqual([...reached].toSorted(), Object.keys(INSTANCE_TRANSITIONS).toSorted());
    for (const [from, targets] of Object.entries(INSTANCE_TRANSITIONS)) {
      const stops = targets.includes('stopping') || targets.includes('exited') || from === 'exited';
      assert.ok(stops || from === 'stopping', `${from} cannot be stopped`);
    }
  });
});
