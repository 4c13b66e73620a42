import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RestartOptions } from '../src/index.js';
import { RestartPolicy } from '../src/manager/restart-policy.js';
import { resolveShardingOptions } from '../src/options/resolve-options.js';

// RestartPolicy options with a low maxDelay, so the cap shows after four restarts.
const policyOptions = (overrides: RestartOptions = {}): Required<RestartOptions> => ({
  initialDelay: 1_000,
  maxDelay: 8_000,
  multiplier: 2,
  jitter: 0.2,
  maxRestarts: 100,
  window: 600_000,
  ...overrides,
});

// Delays of consecutive restarts one millisecond apart (well inside the window).
const delays = (policy: RestartPolicy, count: number): number[] =>
  Array.from({ length: count }, (_, index) => {
    const decision = policy.next(index);
    assert.equal(decision.giveUp, false);
    assert.equal(decision.attempt, index + 1);
    return (decision as { delay: number }).delay;
  });

describe('RestartPolicy', () => {
  it('doubles the delay up to maxDelay (no jitter at random() = 0.5)', () => {
    assert.deepEqual(
      delays(new RestartPolicy(policyOptions(), () => 0.5), 6),
      [1_000, 2_000, 4_000, 8_000, 8_000, 8_000],
    );
  });

  it('spreads each delay by at most \u00b1jitter', () => {
    // random() = 0 is the low edge (-20%), values near 1 the high edge (+20%).
    assert.deepEqual(
      delays(new RestartPolicy(policyOptions(), () => 0), 5),
      [800, 1_600, 3_200, 6_400, 6_400],
    );
    assert.deepEqual(
      delays(new RestartPolicy(policyOptions(), () => 1), 5),
      [1_200, 2_400, 4_800, 9_600, 9_600],
    );
    const sequence = [0.1, 0.9, 0.25, 0.75, 0.6];
    let call = 0;
    const spread = delays(new RestartPolicy(policyOptions(), () => sequence[call++]!), 5);
    const base = [1_000, 2_000, 4_000, 8_000, 8_000];
    spread.forEach((delay, index) => {
      assert.ok(delay >= base[index]! * 0.8 && delay <= base[index]! * 1.2, `${delay}`);
    });
    assert.deepEqual(spread, [840, 2_320, 3_600, 8_800, 8_320]);
  });

  it('gives up after maxRestarts within the window, without recording the refusal', () => {
    const policy = new RestartPolicy(policyOptions({ maxRestarts: 3, window: 1_000 }), () => 0.5);
    assert.deepEqual(policy.next(0), { giveUp: false, attempt: 1, delay: 1_000 });
    assert.deepEqual(policy.next(100), { giveUp: false, attempt: 2, delay: 2_000 });
    assert.deepEqual(policy.next(200), { giveUp: false, attempt: 3, delay: 4_000 });
    assert.deepEqual(policy.next(300), { giveUp: true, attempt: 4 });
    assert.deepEqual(policy.next(400), { giveUp: true, attempt: 4 });
  });

  it('forgets restarts older than the window', () => {
    const policy = new RestartPolicy(policyOptions({ maxRestarts: 3, window: 1_000 }), () => 0.5);
    policy.next(0);
    policy.next(100);
    policy.next(200);
    assert.equal(policy.next(999).giveUp, true);
    // At 1150 the restarts at 0 and 100 are older than the window; the one at 200 still counts.
    assert.deepEqual(policy.next(1_150), { giveUp: false, attempt: 2, delay: 2_000 });
  });

  it('starts the backoff over after a quiet window', () => {
    const policy = new RestartPolicy(policyOptions({ maxRestarts: 3, window: 1_000 }), () => 0.5);
    policy.next(0);
    policy.next(10);
    policy.next(20);
    assert.deepEqual(policy.next(5_000), { giveUp: false, attempt: 1, delay: 1_000 });
  });

  it('starts over after reset()', () => {
    const policy = new RestartPolicy(policyOptions({ maxRestarts: 2 }), () => 0.5);
    policy.next(0);
    policy.next(1);
    assert.equal(policy.next(2).giveUp, true);
    policy.reset();
    assert.deepEqual(policy.next(3), { giveUp: false, attempt: 1, delay: 1_000 });
  });

  it('with the default options, allows 5 restarts in 10 minutes at 1, 2, 4, 8, 16 s', () => {
    const policy = new RestartPolicy(resolveShardingOptions().restart, () => 0.5);
    assert.deepEqual(delays(policy, 5), [1_000, 2_000, 4_000, 8_000, 16_000]);
    assert.equal(policy.next(599_999).giveUp, true);
  });
});
