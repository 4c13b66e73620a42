import assert from 'node:assert/strict';
import { HealthIndicatorService } from '@nestjs/terminus';
import { describe, it } from 'node:test';
import type { ModuleRef } from '@nestjs/core';
import type { InstanceState, InstanceStatus, ShardReport } from '../src/index.js';
import {
  InvalidReadinessRuleError,
  meetsReadiness,
  ShardingHealthIndicator,
} from '../src/health/index.js';

function instance(state: InstanceState, shards: ShardReport[] = []): InstanceStatus {
  return {
    instance: 0,
    state,
    generation: 1,
    restarts: 0,
    shards: shards.map((shard) => shard.id),
    lastHeartbeat: { instance: 0, seq: 1, shards, at: 0 },
  };
}

describe('the readiness rule', () => {
  it('needs every instance ready by default, or the share it is given', () => {
    const nine = [...Array.from({ length: 9 }, () => instance('ready')), instance('restarting')];
    assert.equal(meetsReadiness(nine, {}), false);
    assert.equal(meetsReadiness(nine, { minReadyRatio: 0.9 }), true);
    assert.equal(meetsReadiness(nine, { minReadyRatio: 0.95 }), false);
    assert.equal(meetsReadiness([], { minReadyRatio: 0 }), false, 'no fleet is not ready');
  });

  it('can also need every shard reported ready, or be a function', () => {
    const fleet = [
      instance('ready', [
        { id: 0, state: 'ready' },
        { id: 1, state: 'resuming' },
      ]),
    ];
    assert.equal(meetsReadiness(fleet, {}), true);
    assert.equal(meetsReadiness(fleet, { requireShardsReady: true }), false);
    // A shard never reported does not count as ready.
    const unreported = { ...instance('ready', [{ id: 0, state: 'ready' }]), shards: [0, 1] };
    assert.equal(meetsReadiness([unreported], { requireShardsReady: true }), false);
    assert.equal(
      meetsReadiness([instance('ready', [{ id: 0, state: 'ready' }])], {
        requireShardsReady: true,
      }),
      true,
    );
    assert.equal(
      meetsReadiness(fleet, (status) => status.length === 1),
      true,
    );
  });

  it('refuses a malformed rule with a typed error', () => {
    const indicator = new ShardingHealthIndicator(
      new HealthIndicatorService(),
      undefined as unknown as ModuleRef, // never reached: the rule is checked first
    );
    for (const rule of [
      { minReadyRatio: 2 },
      { minReadyRatio: Number.NaN },
      { requireShardsReady: 'yes' },
      null,
    ]) {
      assert.throws(
        () => indicator.isReady('fleet', rule as never),
        (error: unknown) =>
          error instanceof InvalidReadinessRuleError &&
          error.code === 'ERR_SHARDING_INVALID_READINESS_RULE',
      );
    }
  });
});
