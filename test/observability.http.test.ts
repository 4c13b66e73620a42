// Health checks and Prometheus metrics served by a real Nest HTTP application (Express, on a free
// port) whose module runs the manager of a real fleet: readiness drops while an instance is down
// and comes back with it, liveness holds throughout, and the scraped metrics say what happened.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { Controller, Get, Header, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { filter, firstValueFrom } from 'rxjs';
import { ShardingManager, ShardingModule } from '../src/index.js';
import { ShardingHealthIndicator } from '../src/health/index.js';
import { ShardingMetricsModule } from '../src/metrics/index.js';
import { cleanUp, defer } from './support/cleanup.js';
import { fixturePath } from './support/processes.js';

afterEach(cleanUp);

/** One sample of the Prometheus text format: a name, its labels and its value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses prom-client's text exposition: `# TYPE` lines, and one sample per other line. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice('# TYPE '.length).split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { types, samples };
}

/** The value of the sample `name` whose labels include `labels`, or undefined. */
function valueOf(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return samples.find(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  )?.value;
}

/** Starts the HTTP application of the manager; resolves with its base URL and the manager. */
async function startHttpManager(registry: Registry) {
  @Controller()
  class ProbeController {
    constructor(
      private readonly health: HealthCheckService,
      private readonly sharding: ShardingHealthIndicator,
    ) {}

    @Get('ready')
    @HealthCheck()
    ready() {
      return this.health.check([() => this.sharding.isReady('sharding')]);
    }

    @Get('live')
    @HealthCheck()
    live() {
      return this.health.check([() => this.sharding.isLive('manager')]);
    }

    @Get('metrics')
    @Header('Content-Type', registry.contentType)
    metrics() {
      return registry.metrics();
    }
  }

  @Module({
    imports: [
      ShardingModule.forRoot({
        file: fixturePath('sharding-app.fixture'),
        totalShards: 4,
        shardsPerInstance: 2,
        heartbeatInterval: 200,
        killGrace: 1_000,
        env: { FIXTURE_REPORT_SHARDS: '1' },
        // Long enough that the instance is surely still down when the probe asks.
        restart: { initialDelay: 2_000, maxDelay: 2_000 },
      }),
      TerminusModule.forRoot({ logger: false }),
      ShardingMetricsModule.forRoot({ registry }),
    ],
    controllers: [ProbeController],
    providers: [ShardingHealthIndicator],
  })
  class HttpManagerModule {}

  const app = await NestFactory.create(HttpManagerModule, { logger: ['error', 'warn'] });
  defer(() => app.close());
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, manager: app.get(ShardingManager) };
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

async function scrape(base: string) {
  const response = await fetch(`${base}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  return parseExposition(await response.text());
}

describe('health checks and metrics over HTTP', () => {
  it('reports readiness, liveness and metrics, through an instance killed and restarted', async () => {
    const registry = new Registry();
    const { base, manager } = await startHttpManager(registry);
    await manager.whenReady(30_000);
    // A heartbeat that carries a round trip: the histograms have something.
    await firstValueFrom(manager.heartbeat$.pipe(filter((beat) => beat.roundTrip !== undefined)));
    await manager.request(0, 'echo', 'hello');
    await manager.request(1, 'slow', { ms: 1_000 }, { timeout: 20 }).catch(() => undefined);

    const ready = await getJson(`${base}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ok');
    const details = ready.body.details.sharding;
    assert.equal(details.status, 'up');
    assert.equal(details.ready, 2);
    assert.deepEqual(
      details.instances.map((instance: { instance: number; shards: Array<{ id: number }> }) => [
        instance.instance,
        instance.shards.map((shard) => shard.id),
      ]),
      [
        [0, [0, 1]],
        [1, [2, 3]],
      ],
    );

    const before = await scrape(base);
    const p = 'nestjs_sharding_';
    assert.equal(before.types.get(`${p}instances`), 'gauge');
    assert.equal(before.types.get(`${p}instance_restarts_total`), 'counter');
    assert.equal(before.types.get(`${p}instance_heartbeat_round_trip_seconds`), 'histogram');
    assert.equal(before.types.get(`${p}instance_event_loop_lag_seconds`), 'histogram');
    assert.equal(before.types.get(`${p}request_duration_seconds`), 'histogram');
    assert.equal(valueOf(before.samples, `${p}instances`, { state: 'ready' }), 2);
    assert.equal(valueOf(before.samples, `${p}instances`, { state: 'restarting' }), 0);
    for (const instance of ['0', '1']) {
      assert.ok(valueOf(before.samples, `${p}instance_resident_memory_bytes`, { instance })! > 0);
      assert.ok(valueOf(before.samples, `${p}instance_heap_used_bytes`, { instance })! > 0);
      assert.equal(valueOf(before.samples, `${p}instance_state`, { instance, state: 'ready' }), 1);
    }
    assert.ok(valueOf(before.samples, `${p}instance_heartbeat_round_trip_seconds_count`)! >= 1);
    assert.equal(valueOf(before.samples, `${p}requests_total`, { outcome: 'ok' }), 1);
    assert.equal(valueOf(before.samples, `${p}requests_total`, { outcome: 'timeout' }), 1);
    assert.equal(valueOf(before.samples, `${p}requests_total`, { outcome: 'not-ready' }), 0);
    assert.equal(
      valueOf(before.samples, `${p}request_duration_seconds_count`, { outcome: 'ok' }),
      1,
    );
    assert.equal(
      valueOf(before.samples, `${p}instance_restarts_total`, { instance: '0' }),
      undefined,
    );
    // Labels are bounded: instances, shards and fixed words only.
    const allowed = new Set(['instance', 'shard', 'state', 'reason', 'outcome', 'kind', 'le']);
    for (const sample of before.samples.filter((each) => each.name.startsWith(p))) {
      for (const label of Object.keys(sample.labels)) assert.ok(allowed.has(label), label);
    }

    const stopping = firstValueFrom(
      manager.status$.pipe(filter((change) => change.instance === 0 && change.to === 'stopping')),
    );
    const back = firstValueFrom(
      manager.status$.pipe(filter((change) => change.instance === 0 && change.to === 'ready')),
    );
    process.kill(manager.status()[0]!.pid!, 'SIGKILL');
    await stopping;

    const down = await getJson(`${base}/ready`);
    assert.equal(down.status, 503);
    assert.equal(down.body.details.sharding.status, 'down');
    assert.notEqual(down.body.details.sharding.instances[0].state, 'ready');
    assert.deepEqual(down.body.details.sharding.instances[0].shards, [
      { id: 0, state: 'disconnected' },
      { id: 1, state: 'disconnected' },
    ]);
    // The manager works: Kubernetes must not restart it for a dead instance.
    const live = await getJson(`${base}/live`);
    assert.equal(live.status, 200);
    assert.equal(live.body.details.manager.status, 'up');

    await back;
    assert.equal((await getJson(`${base}/ready`)).status, 200);
    const after = await scrape(base);
    const restarts = after.samples.filter(
      (sample) => sample.name === `${p}instance_restarts_total` && sample.labels.instance === '0',
    );
    assert.equal(
      restarts.reduce((sum, sample) => sum + sample.value, 0),
      1,
    );
    assert.ok(['socket-closed', 'exited'].includes(restarts[0]!.labels.reason!));
    assert.equal(valueOf(after.samples, `${p}instances`, { state: 'ready' }), 2);
  });

  it('drops the series of instances and shards that are gone', async () => {
    const registry = new Registry();
    const { base, manager } = await startHttpManager(registry);
    await manager.whenReady(30_000);
    const reported = (instance: number) =>
      manager.status()[instance]?.lastHeartbeat?.shards !== undefined &&
      manager.status()[instance]?.lastHeartbeat?.roundTrip !== undefined;
    await firstValueFrom(manager.heartbeat$.pipe(filter(() => reported(0) && reported(1))));
    const before = await scrape(base);
    const p = 'nestjs_sharding_';
    for (const shard of ['0', '1', '2', '3']) {
      assert.equal(valueOf(before.samples, `${p}shard_state`, { shard, state: 'ready' }), 1);
      assert.equal(valueOf(before.samples, `${p}shard_ping_seconds`, { shard }), 0.005);
    }
    assert.ok(
      valueOf(before.samples, `${p}instance_heartbeat_round_trip_seconds_count`, {
        instance: '1',
      })! >= 1,
    );

    // 2 shards, 2 per instance: one instance is left.
    await manager.reshard(2);
    const after = await scrape(base);
    const gone = after.samples.filter(
      (sample) =>
        sample.labels.instance === '1' ||
        sample.labels.shard === '2' ||
        sample.labels.shard === '3',
    );
    assert.deepEqual(gone, []);
    assert.equal(
      valueOf(after.samples, `${p}instance_state`, { instance: '0', state: 'ready' }),
      1,
    );
  });
});
