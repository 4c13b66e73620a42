import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { HEARTBEAT_PHASES, nextHeartbeatDelay } from '../src/ipc/heartbeat-schedule.js';
import { HeartbeatWatchdog } from '../src/ipc/heartbeat-watchdog.js';

describe('heartbeats on the phase grid', () => {
  const interval = 5_000;
  const phaseOf = (instance: number) =>
    (instance % HEARTBEAT_PHASES) * (interval / HEARTBEAT_PHASES);

  it('puts each beat on its instance phase of the interval, whenever it is asked', () => {
    for (const instance of [0, 1, 7, 10, 23, 999]) {
      for (const now of [
        1_700_000_000_000, 1_700_000_000_001, 1_700_000_004_999, 1_700_000_002_500,
      ]) {
        const wait = nextHeartbeatDelay(instance, interval, now);
        assert.ok(
          wait >= interval / 2 && wait < interval * 1.5,
          `delay ${wait} for instance ${instance}`,
        );
        assert.equal(
          (now + wait - phaseOf(instance)) % interval,
          0,
          `instance ${instance} at ${now}`,
        );
      }
    }
  });

  it('gives instances a phase apart a tenth of the interval apart, and wraps every ten', () => {
    const now = 1_700_000_000_000;
    const at = (instance: number) => now + nextHeartbeatDelay(instance, interval, now);
    assert.equal(at(10), at(0));
    assert.equal(at(23), at(3));
    const phases = new Set(Array.from({ length: 1_000 }, (_, instance) => at(instance) % interval));
    assert.equal(phases.size, HEARTBEAT_PHASES);
  });

  it('puts the next beat a whole interval on, on the phase and just before it (a timer a little early)', () => {
    const onPhase = 1_700_000_000_000 + phaseOf(3) - (1_700_000_000_000 % interval);
    assert.equal(nextHeartbeatDelay(3, interval, onPhase), interval);
    assert.equal(nextHeartbeatDelay(3, interval, onPhase - 0.4), Math.round(interval + 0.4));
    assert.equal(nextHeartbeatDelay(3, interval, onPhase - 1), interval + 1);
  });
});

describe('HeartbeatWatchdog', () => {
  it('reports silence once, a whole span after the last sign of life, not a span after start', async () => {
    const span = 150;
    const events = new EventEmitter();
    let silences = 0;
    const watchdog = new HeartbeatWatchdog(span, () => {
      silences++;
      events.emit('silence', performance.now());
    });
    try {
      const silence = once(events, 'silence');
      watchdog.start();
      // Fed twice inside the first span: the span restarts from the second feed.
      await delay(span / 3);
      watchdog.feed();
      await delay(span / 3);
      watchdog.feed();
      const lastFeed = performance.now();
      const [at] = (await silence) as [number];
      // A lower bound only: a loaded machine can make the timer late, never early.
      assert.ok(at - lastFeed >= span - 1, `silence after ${at - lastFeed} ms`);
      await delay(span * 2);
      assert.equal(silences, 1);
    } finally {
      watchdog.stop();
    }
  });

  it('stays silent after stop()', async () => {
    let silences = 0;
    const watchdog = new HeartbeatWatchdog(20, () => silences++);
    watchdog.start();
    watchdog.feed();
    watchdog.stop();
    await delay(80);
    assert.equal(silences, 0);
  });
});
