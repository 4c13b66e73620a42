// ShardingModule.forInstance / forManager: one AppModule for both roles, where what only one role
// needs (a Discord client) exists only in that role.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import { Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  SHARDING_ENV,
  SHARDING_INSTANCE_CONTEXT,
  ShardingManager,
  ShardingModule,
  type InstanceResult,
} from '../src/index.js';
import { GatewayEmulator } from '../src/testing/index.js';
import { cleanUp, defer } from './support/cleanup.js';
import { withEnv } from './support/options.js';
import { processMark } from './support/process-mark.js';
import { exitOf, fixturePath, killAndWait, nextMessage } from './support/processes.js';

afterEach(cleanUp);

const CLIENT = Symbol('CLIENT');

// An instance-only module as users write one: a client whose factory reads the instance context.
function clientModule(created: string[]) {
  @Module({
    providers: [
      {
        provide: CLIENT,
        inject: [SHARDING_INSTANCE_CONTEXT],
        useFactory: (context: { shards: number[] }) => {
          created.push('client');
          return { shards: context.shards };
        },
      },
    ],
    exports: [CLIENT],
  })
  class ClientModule {}
  return ClientModule;
}

@Injectable()
class Dashboard {
  constructor(readonly manager: ShardingManager) {}
}

@Module({ providers: [Dashboard], exports: [Dashboard] })
class DashboardModule {}

// Uses what forManager re-exports, as a provider of the application's own module would.
@Injectable()
class DashboardUser {
  constructor(@Inject(Dashboard) readonly dashboard: Dashboard) {}
}

describe('ShardingModule.forInstance / forManager in the manager', () => {
  it('leaves forInstance modules out: their factories never run', async () => {
    const created: string[] = [];
    @Module({
      imports: [
        ShardingModule.forRoot({ spawnOnBootstrap: false, isGlobal: true }),
        ShardingModule.forInstance(clientModule(created)),
      ],
    })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    defer(() => app.close());
    assert.deepEqual(created, []);
    assert.throws(() => app.get(CLIENT, { strict: false }), /CLIENT/);
  });

  it('brings forManager modules in, re-exported to the importing module', async () => {
    @Module({
      imports: [
        ShardingModule.forRoot({ spawnOnBootstrap: false, isGlobal: true }),
        ShardingModule.forManager(DashboardModule),
      ],
      providers: [DashboardUser],
    })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    defer(() => app.close());
    assert.equal(app.get(DashboardUser).dashboard.manager, app.get(ShardingManager));
  });
});

describe('ShardingModule.forInstance / forManager, decided by the role', () => {
  it('holds forInstance modules (and no forManager ones) in a process a manager spawned', () => {
    withEnv(SHARDING_ENV.INSTANCE_ID, '1');
    const Bot = clientModule([]);
    const inInstance = ShardingModule.forInstance(Bot, DashboardModule);
    assert.deepEqual(inInstance.imports, [Bot, DashboardModule]);
    assert.deepEqual(inInstance.exports, [Bot, DashboardModule]);
    const inManager = ShardingModule.forManager(DashboardModule);
    assert.deepEqual(inManager.imports, []);
    assert.deepEqual(inManager.exports, []);
  });
});

interface Holdings {
  pid: number;
  shards: number[];
  guilds: number;
  dashboard: boolean;
}

describe('one AppModule for both roles, with a discord.js client (the README shape)', () => {
  const WINDOW = 250;

  async function start(extraEnv: Record<string, string> = {}) {
    const emulator = await GatewayEmulator.start({
      shards: 2,
      maxConcurrency: 1,
      identifyWindow: WINDOW,
      heartbeatInterval: 1_000,
    });
    defer(() => emulator.close());
    const mark = processMark();
    const env = mark.env({
      DISCORD_TOKEN: emulator.token,
      EMULATOR_API: emulator.apiBase,
      IDENTIFY_WINDOW: String(WINDOW),
      ...extraEnv,
    });
    for (const name of Object.values(SHARDING_ENV)) delete env[name];
    const app = fork(fixturePath('one-entry-app.fixture'), [], {
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    defer(() => killAndWait(app));
    let stderr = '';
    app.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    app.stdout!.resume();
    return { app, mark, emulator, stderr: () => stderr };
  }

  it('runs: the client exists in each instance only, the dashboard in the manager only', async () => {
    const { app, mark, emulator, stderr } = await start();
    const report = await nextMessage<{
      type: 'ready';
      manager: { client: boolean; dashboard: boolean };
      instances: Array<InstanceResult<Holdings>>;
    }>(app, 'ready').catch((error: Error) => assert.fail(`${error.message}\n${stderr()}`));
    assert.deepEqual(report.manager, { client: false, dashboard: true });
    const holdings = report.instances.map((result) => {
      assert.equal(result.status, 'fulfilled', JSON.stringify(result));
      return (result as { value: Holdings }).value;
    });
    assert.deepEqual(
      holdings.map(({ shards, guilds, dashboard }) => ({ shards, guilds, dashboard })),
      [
        { shards: [0], guilds: emulator.guildsOf(0).length, dashboard: false },
        { shards: [1], guilds: emulator.guildsOf(1).length, dashboard: false },
      ],
    );
    // Each instance's client logged in on its shard; the manager's never existed.
    assert.deepEqual(
      emulator.identifies
        .filter((identify) => identify.accepted)
        .map((identify) => identify.shardId)
        .toSorted(),
      [0, 1],
    );

    app.kill('SIGTERM');
    const exit = await exitOf(app);
    assert.ok(exit.code === 0 || exit.signal === 'SIGTERM', JSON.stringify(exit));
    assert.deepEqual(mark.pids(), [], 'an instance outlived its manager');
  });

  it('imported without forInstance, the client fails the manager with an error naming the cure', async () => {
    const { app, emulator, stderr } = await start({ FIXTURE_UNSCOPED: '1' });
    const exit = await exitOf(app);
    assert.notEqual(exit.code, 0, stderr());
    assert.match(stderr(), /WrongRoleError/);
    assert.match(
      stderr(),
      /SHARDING_INSTANCE_CONTEXT\.shards is only available in the instance role, and this process is the manager/,
    );
    assert.match(stderr(), /ShardingModule\.forInstance\(BotModule\)/);
    assert.equal(emulator.identifies.length, 0);
  });
});
