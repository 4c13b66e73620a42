import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TerminusModule } from '@nestjs/terminus';
import { ShardingHealthIndicator } from 'nestjs-sharding/health';
import { ShardingMetricsModule } from 'nestjs-sharding/metrics';
import { Registry } from 'prom-client';
import { type Fleet, startFleet } from './fleet.js';

describe('the health check and the metrics entries', () => {
  const registry = new Registry();
  let fleet: Fleet;

  before(async () => {
    fleet = await startFleet(
      fileURLToPath(new URL('../src/main.js', import.meta.url)),
      [ShardingHealthIndicator],
      [TerminusModule.forRoot({ logger: false }), ShardingMetricsModule.forRoot({ registry })],
    );
  });

  after(async () => {
    await fleet?.close();
  });

  it('report the ready fleet, from the ESM build', async () => {
    const result = fleet.app.get(ShardingHealthIndicator).isReady('fleet');
    assert.equal(result.fleet.status, 'up');
    assert.equal(result.fleet.ready, 1);
    assert.match(await registry.metrics(), /^nestjs_sharding_instances\{state="ready"\} 1$/m);
    // The CommonJS build of both entries loads too.
    const require = createRequire(import.meta.url);
    assert.equal(typeof require('nestjs-sharding/health').ShardingHealthIndicator, 'function');
    assert.equal(typeof require('nestjs-sharding/metrics').ShardingMetricsModule, 'function');
  });
});
