// Instances report their shards' gateway state with each heartbeat: real @discordjs/ws and
// discord.js bots against the gateway emulator show up shard by shard in the manager's status(),
// and a hand-made heartbeat with bad reports loses only those, counted.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterEach, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { filter, firstValueFrom } from 'rxjs';
import { ShardingManager, ShardingModule, type InstanceStatus } from '../src/index.js';
import { ShardingMetricsModule } from '../src/metrics/index.js';
import { GatewayEmulator } from '../src/testing/index.js';
import { cleanUp, defer } from './support/cleanup.js';
import { fixturePath } from './support/processes.js';
import { waitUntil } from './support/wait.js';
import { fakeInstance, packetFrame } from './support/wire.js';

afterEach(cleanUp);

const TOKEN = 'emulator-token';

/** A manager whose two instances run `fixture` against the emulator (4 shards, fast heartbeats). */
async function botFleet(fixture: string, imports: DynamicModule[] = []) {
  const emulator = await GatewayEmulator.start({
    token: TOKEN,
    shards: 4,
    guildsPerShard: 2,
    identifyWindow: 100,
    heartbeatInterval: 300,
  });
  defer(() => emulator.close());

  @Module({
    imports: [
      ShardingModule.forRoot({
        file: fixturePath(fixture),
        totalShards: 'auto',
        token: TOKEN,
        api: `${emulator.apiBase}/v10`,
        shardsPerInstance: 2,
        identifyWindow: 100,
        heartbeatInterval: 200,
        env: { EMULATOR_API: emulator.apiBase, DISCORD_TOKEN: TOKEN },
      }),
      ...imports,
    ],
  })
  class ManagerModule {}

  const app = await NestFactory.createApplicationContext(ManagerModule, {
    logger: ['error', 'warn'],
  });
  defer(() => app.close());
  const manager = app.get(ShardingManager);
  await manager.whenReady(60_000);
  return { emulator, manager };
}

/** Whether every shard of every instance was last reported ready, with a ping. */
const everyShardReady = (status: InstanceStatus[]) =>
  status.every(
    (instance) =>
      instance.lastHeartbeat?.shards?.length === instance.shards.length &&
      instance.lastHeartbeat.shards.every(
        (shard) => shard.state === 'ready' && typeof shard.ping === 'number',
      ),
  );

/** Waits for the heartbeat after which `status()` shows every shard ready with a ping. */
async function untilEveryShardReady(manager: ShardingManager): Promise<InstanceStatus[]> {
  if (!everyShardReady(manager.status())) {
    await firstValueFrom(manager.heartbeat$.pipe(filter(() => everyShardReady(manager.status()))));
  }
  return manager.status();
}

describe('shard reports in heartbeats', () => {
  it('show every shard of an @discordjs/ws fleet ready, with its ping and guilds', async () => {
    const { emulator, manager } = await botFleet('ws-bot.fixture');
    const status = await untilEveryShardReady(manager);
    for (const instance of status) {
      assert.deepEqual(
        instance.lastHeartbeat!.shards!.map((shard) => shard.id),
        instance.shards,
      );
      for (const shard of instance.lastHeartbeat!.shards!) {
        assert.ok(shard.ping! >= 0);
        assert.equal(shard.guilds, emulator.guildsOf(shard.id).length);
        assert.ok(shard.events! >= 0);
      }
    }
  });

  it('show every shard of a discord.js fleet (DiscordjsShardCompat) ready, with its guilds', async () => {
    const { emulator, manager } = await botFleet('discord-compat-bot.fixture');
    const status = await untilEveryShardReady(manager);
    for (const instance of status) {
      for (const shard of instance.lastHeartbeat!.shards!) {
        assert.equal(shard.guilds, emulator.guildsOf(shard.id).length);
      }
    }
  });

  it('come back ready after a kill, and the metrics count the sessions resumed', async () => {
    const registry = new Registry();
    const { manager } = await botFleet('ws-bot.fixture', [
      ShardingMetricsModule.forRoot({ registry, prefix: 'bot_' }),
    ]);
    await untilEveryShardReady(manager);
    // Sessions reach the manager a moment after READY: there is no event of it to await.
    await waitUntil(() => manager.sessions().size === 4, 10_000, 'no sessions at the manager');
    const sessions = async () => {
      const metric = await registry.getSingleMetric('bot_sessions_total')!.get();
      return Object.fromEntries(metric.values.map((value) => [value.labels.kind, value.value]));
    };
    assert.deepEqual(await sessions(), { resumed: 0, identified: 4 });

    const back = firstValueFrom(
      manager.status$.pipe(filter((change) => change.instance === 0 && change.to === 'ready')),
    );
    process.kill(manager.status()[0]!.pid!, 'SIGKILL');
    await back;
    await untilEveryShardReady(manager);
    // Its two shards RESUMEd with the sessions the manager kept: no IDENTIFY was spent.
    assert.deepEqual(await sessions(), { resumed: 2, identified: 4 });
  });

  it('are checked by the manager: bad ones are dropped and counted, good ones kept', async () => {
    const { client, peer } = await fakeInstance(); // it runs shard 0
    const heartbeat = firstValueFrom(client.heartbeat$.pipe(filter((beat) => beat.seq === 3)));
    const shards = [
      { id: 0, state: 'ready', ping: 12, guilds: 3, events: 7, extra: 'not kept' },
      { id: 5, state: 'ready' }, // not this instance's shard
      { id: 0, state: 'ready' }, // twice
      { id: -1, state: 'ready' },
      { id: 0, state: 'dancing' },
      { id: 0, state: 'ready', ping: null },
      { id: 0, state: 'ready', guilds: 1.5 },
      'shard 0',
    ];
    const before = client.rejectedPackets;
    peer.write(packetFrame({ op: 7, d: { seq: 2, ts: Date.now(), shards: 'all ready' } }));
    peer.write(packetFrame({ op: 7, d: { seq: 3, ts: Date.now(), shards } }));
    const beat = await heartbeat;
    assert.deepEqual(beat.shards, [{ id: 0, state: 'ready', ping: 12, guilds: 3, events: 7 }]);
    // One for the field that is not a list, one per bad report.
    assert.equal(client.rejectedPackets - before, 1 + shards.length - 1);
    assert.equal(client.state, 'identified');
  });
});
