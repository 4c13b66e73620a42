// The discord.js compatibility layer: a real discord.js bot written for discord.js's
// ShardingManager calls client.shard unchanged inside real instances, against the gateway
// emulator. ids and count are the instance's, fetchClientValues reads every instance's client,
// broadcastEval is refused unless allowed, send reaches the manager, respawnAll restarts the
// instances one after the other.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { Injectable, Module, type Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterEach, describe, it } from 'node:test';
import { filter, firstValueFrom } from 'rxjs';
import {
  DiscordjsShardCompat,
  OnDispatch,
  ShardingManager,
  ShardingModule,
  WrongRoleError,
  type DispatchContext,
  type InstanceStatusChange,
  type ShardingMode,
} from '../src/index.js';
import { ShardClientResponder } from '../src/discord/shard-client.responder.js';
import { GatewayEmulator } from '../src/testing/index.js';
import { cleanUp, defer } from './support/cleanup.js';
import { fixturePath } from './support/processes.js';

afterEach(cleanUp);

const TOKEN = 'emulator-token';
const WINDOW = 100;

type ProbeResult = {
  value?: unknown;
  error?: { name: string; message: string; code?: string; remoteCode?: string };
};

/** What the manager's `@OnDispatch('MESSAGE')` handler received. */
const messages: Array<{ from: unknown; data: unknown }> = [];

@Injectable()
class MessageLedger {
  @OnDispatch('MESSAGE', { role: 'manager' })
  record(data: unknown, context: DispatchContext) {
    messages.push({ from: context.from, data });
  }
}

/** The emulator (4 shards) and a manager running the compat bot fixture, 2 shards per instance, ready. */
async function startCompatFleet({
  allowBroadcastEval = false,
  mode = 'process' as ShardingMode,
} = {}) {
  const emulator = await GatewayEmulator.start({
    token: TOKEN,
    shards: 4,
    maxConcurrency: 2,
    identifyWindow: WINDOW,
  });
  defer(() => emulator.close());
  // The manager has DiscordjsShardCompat too (one module for both roles), with no client.
  const providers: Provider[] = [DiscordjsShardCompat, MessageLedger];

  @Module({
    imports: [
      ShardingModule.forRoot({
        file: fixturePath('discord-compat-bot.fixture'),
        mode,
        totalShards: 4,
        shardsPerInstance: 2,
        maxConcurrency: 2,
        identifyWindow: WINDOW,
        identifyMargin: 20,
        heartbeatInterval: 500,
        killGrace: 1_000,
        env: {
          EMULATOR_API: emulator.apiBase,
          DISCORD_TOKEN: TOKEN,
          ALLOW_BROADCAST_EVAL: allowBroadcastEval ? '1' : '0',
        },
      }),
    ],
    providers,
  })
  class ManagerModule {}

  const app = await NestFactory.createApplicationContext(ManagerModule, {
    logger: ['error', 'warn'],
  });
  defer(() => app.close());
  const manager = app.get(ShardingManager);
  await manager.whenReady(60_000);
  const probe = (instance: number, call: string, args: Record<string, unknown> = {}) =>
    manager.request<ProbeResult>(instance, 'compat-probe', { call, ...args });
  // Each instance's guild count: the guilds of its two shards.
  const guildCounts = [
    emulator.guildsOf(0).length + emulator.guildsOf(1).length,
    emulator.guildsOf(2).length + emulator.guildsOf(3).length,
  ];
  return { app, emulator, manager, probe, guildCounts };
}

describe('client.shard of a discord.js bot in a sharding instance', () => {
  it("answers discord.js's ShardClientUtil calls, unchanged, from every instance", async () => {
    const { app, probe, guildCounts } = await startCompatFleet();
    // The manager may list the provider (one module for both roles) but has no client to install.
    assert.throws(() => app.get(DiscordjsShardCompat).install({}), WrongRoleError);
    assert.ok(
      guildCounts.every((count) => count > 0),
      'the emulator gave an instance no guild',
    );

    assert.deepEqual(await probe(0, 'info'), { value: { ids: [0, 1], count: 4, mode: 'process' } });
    assert.deepEqual(await probe(1, 'info'), { value: { ids: [2, 3], count: 4, mode: 'process' } });

    // One value per instance, in instance order, whichever instance asks.
    for (const asker of [0, 1]) {
      assert.deepEqual(await probe(asker, 'guildCounts'), { value: guildCounts });
    }
    // A shard targets its instance and gives that value alone.
    assert.deepEqual(await probe(0, 'fetch', { path: 'guilds.cache.size', shard: 3 }), {
      value: guildCounts[1],
    });
    assert.deepEqual(await probe(1, 'fetch', { path: 'options.shards' }), {
      value: [
        [0, 1],
        [2, 3],
      ],
    });

    // A path that breaks off names the instance and the place; nothing is evaluated.
    const broken = await probe(1, 'fetch', { path: 'guilds.nope.size' });
    assert.equal(broken.error?.code, 'ERR_SHARDING_REMOTE_HANDLER', JSON.stringify(broken));
    assert.equal(broken.error?.remoteCode, 'ERR_SHARDING_SHARD_CLIENT_CALL');
    assert.match(
      broken.error!.message,
      /on instance 0 failed: .*client\.guilds\.nope is undefined/,
    );
    // A shard the bot does not have is refused before anything is sent.
    const noShard = await probe(0, 'fetch', { path: 'guilds.cache.size', shard: 4 });
    assert.equal(noShard.error?.name, 'ShardClientCallError', JSON.stringify(noShard));
    assert.equal(noShard.error?.code, 'ERR_SHARDING_SHARD_CLIENT_CALL');
    assert.match(noShard.error!.message, /no shard 4: shard ids run from 0 to 3/);

    // broadcastEval is off by default, and says what to do instead.
    const evaluated = await probe(0, 'evalGuildCounts');
    assert.equal(evaluated.error?.name, 'BroadcastEvalDisabledError', JSON.stringify(evaluated));
    assert.equal(evaluated.error?.code, 'ERR_SHARDING_BROADCAST_EVAL_DISABLED');
    assert.match(evaluated.error!.message, /@OnDispatch\('guild-count'/);
    assert.match(evaluated.error!.message, /\{ to: 'all' \}/);

    // send() reaches the manager's @OnDispatch('MESSAGE') handler.
    messages.length = 0;
    assert.deepEqual(await probe(1, 'send', { message: { hello: 'manager' } }), {});
    assert.deepEqual(messages, [{ from: 1, data: { hello: 'manager' } }]);
  });

  it('runs broadcastEval with the client and its context when allowed, in worker threads too', async () => {
    const { probe, guildCounts } = await startCompatFleet({
      allowBroadcastEval: true,
      mode: 'worker',
    });
    assert.deepEqual(await probe(1, 'info'), { value: { ids: [2, 3], count: 4, mode: 'worker' } });
    assert.deepEqual(await probe(1, 'evalGuildCounts'), { value: guildCounts });
    // The function runs in the target instance, with the context it was given.
    assert.deepEqual(await probe(0, 'evalWithContext', { shard: 2 }), { value: 'shards 2+3' });
    assert.deepEqual(await probe(0, 'evalWithContext'), { value: ['shards 0+1', 'shards 2+3'] });
  });

  it('respawnAll rolls every instance to a new generation, one after the other, shards kept online', async () => {
    const { manager, probe } = await startCompatFleet();
    const changes: InstanceStatusChange[] = [];
    manager.status$.subscribe((change) => changes.push(change));
    const lastBack = firstValueFrom(
      manager.status$.pipe(
        filter(
          (change) => change.instance === 1 && change.generation === 1 && change.to === 'exited',
        ),
      ),
    );

    assert.deepEqual(await probe(1, 'respawnAll'), {});
    await lastBack;

    assert.deepEqual(
      manager.status().map((status) => [status.state, status.generation]),
      [
        ['ready', 2],
        ['ready', 2],
      ],
    );
    const at = (instance: number, generation: number, to: string) =>
      changes.findIndex(
        (change) =>
          change.instance === instance && change.generation === generation && change.to === to,
      );
    // A rolling restart: each old generation stops only once its new one is ready, and instance 1
    // is replaced only after instance 0.
    assert.ok(at(0, 2, 'ready') < at(0, 1, 'stopping'), JSON.stringify(changes));
    assert.ok(at(1, 2, 'ready') < at(1, 1, 'stopping'), JSON.stringify(changes));
    assert.ok(at(0, 1, 'stopping') < at(1, 2, 'spawning'), JSON.stringify(changes));
    // The restarted bot serves client.shard again.
    assert.deepEqual(await probe(1, 'info'), { value: { ids: [2, 3], count: 4, mode: 'process' } });
  });
});

describe('the instance side of client.shard', () => {
  it('reads a path without calling functions, and answers failures instead of throwing', async () => {
    let called = false;
    const client = {
      guilds: { cache: new Map([['1', { id: '1' }]]) },
      destroy: () => {
        called = true;
      },
      big: 10n,
    };
    const responder = new ShardClientResponder(client, 3, false);
    assert.deepEqual(responder.fetchClientValue({ path: 'guilds.cache.size' }), {
      instance: 3,
      value: 1,
    });
    assert.deepEqual(responder.fetchClientValue({ path: 'destroy' }), {
      instance: 3,
      value: undefined,
    });
    assert.equal(called, false, 'a function on the path was called');

    const notJson = responder.fetchClientValue({ path: 'big' });
    assert.ok('error' in notJson);
    assert.equal(notJson.error.code, 'ERR_SHARDING_SHARD_CLIENT_CALL');
    assert.match(notJson.error.message, /client\.big cannot be sent to another process as JSON/);
    const badPath = responder.fetchClientValue({ path: 'guilds..size' });
    assert.ok('error' in badPath);
    assert.match(badPath.error.message, /empty segment/);

    // This instance did not allow broadcastEval: the source is never evaluated, whoever sends it.
    const evaluated = await responder.evaluate({ script: '() => { throw new Error("ran"); }' });
    assert.ok('error' in evaluated);
    assert.equal(evaluated.error.code, 'ERR_SHARDING_BROADCAST_EVAL_DISABLED');
    assert.match(evaluated.error.message, /off in instance 3/);
  });
});
