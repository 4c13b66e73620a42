import 'reflect-metadata';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import { Inject, Injectable, Module, type DynamicModule, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import {
  DuplicateShardingModuleError,
  InvalidShardingOptionError,
  IpcServer,
  MANAGER_SHARD_ID,
  MissingManagerError,
  NoHelloError,
  OnDispatch,
  RemoteHandlerError,
  SHARDING_ENV,
  SHARDING_INSTANCE_CONTEXT,
  SHARDING_ROLE,
  ShardingError,
  ShardingInstance,
  ShardingManager,
  ShardingModule,
  SnowflakeService,
  UnknownInstanceError,
  WrongRoleError,
  type ShardingModuleOptions,
} from '../src/index.js';
import { createSocketRoot, removeSocketRoot } from '../src/ipc/index.js';
import type { ResolvedShardingOptions } from '../src/options/resolve-options.js';
import { RESOLVED_SHARDING_OPTIONS } from '../src/options/options.constants.js';
import { cleanUp, defer } from './support/cleanup.js';
import { startFleet } from './support/fleet.js';
import { withEnv as withVariable } from './support/options.js';
import { waitUntil } from './support/wait.js';
import { exitOf, fixturePath, killAndWait } from './support/processes.js';

afterEach(cleanUp);

// The test process is a manager: no manager variables in its environment. Tests that set some
// restore them afterwards.
function withEnv(values: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(values)) withVariable(name, value);
}

function withoutManagerEnv(): void {
  withEnv(Object.fromEntries(Object.values(SHARDING_ENV).map((name) => [name, undefined])));
}

// Creates a real application around `imports`; closed after the test. `abortOnError: false` makes
// a failed start a rejection instead of Nest's process.exit(1).
async function createApp(imports: Array<Type | DynamicModule>, providers: Type[] = []) {
  @Module({ imports, providers })
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, {
    logger: false,
    abortOnError: false,
  });
  defer(() => app.close());
  return app;
}

// Starting an application that must fail; nothing to close.
function createFailingApp(imports: Array<Type | DynamicModule>): Promise<unknown> {
  @Module({ imports })
  class AppModule {}
  return NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
}

// No spawn: these tests look at the module, not at a fleet.
const quiet: ShardingModuleOptions = { spawnOnBootstrap: false };

// A ConfigModule as users have one: a module that provides and exports configuration.
const SHARDING_CONFIG = Symbol('SHARDING_CONFIG');
interface ShardingConfig {
  total: number;
  perInstance: number;
}

@Module({
  providers: [{ provide: SHARDING_CONFIG, useValue: { total: 6, perInstance: 3 } }],
  exports: [SHARDING_CONFIG],
})
class ConfigModule {}

@Injectable()
class ShardingConfigService {
  constructor(@Inject(SHARDING_CONFIG) private readonly config: ShardingConfig) {}

  // The factory method ConfigurableModuleBuilder asks for by default.
  create(): ShardingModuleOptions {
    return {
      ...quiet,
      totalShards: this.config.total,
      shardsPerInstance: this.config.perInstance,
    };
  }
}

@Module({
  imports: [ConfigModule],
  providers: [ShardingConfigService],
  exports: [ShardingConfigService],
})
class ConfigServiceModule {}

describe('ShardingModule.forRoot / forRootAsync', () => {
  it('fails to create the app when an option is invalid', async () => {
    await assert.rejects(
      createFailingApp([ShardingModule.forRoot({ ...quiet, totalShards: 0 })]),
      (error: unknown) => {
        assert.ok(error instanceof InvalidShardingOptionError, String(error));
        assert.equal(error.option, 'totalShards');
        return true;
      },
    );
    await assert.rejects(
      createFailingApp([
        ShardingModule.forRootAsync({ useFactory: () => ({ mode: 'thread' as never }) }),
      ]),
      (error: unknown) => {
        assert.ok(error instanceof InvalidShardingOptionError, String(error));
        assert.equal(error.option, 'mode');
        return true;
      },
    );
  });

  it('takes its options from useFactory with inject from an imported module', async () => {
    const seen: ShardingConfig[] = [];
    const app = await createApp([
      ShardingModule.forRootAsync({
        imports: [ConfigModule],
        inject: [SHARDING_CONFIG],
        useFactory: async (config: ShardingConfig) => {
          seen.push(config);
          return { ...quiet, totalShards: config.total, shardsPerInstance: config.perInstance };
        },
      }),
    ]);
    assert.deepEqual(seen, [{ total: 6, perInstance: 3 }]);
    const resolved = app.get<ResolvedShardingOptions>(RESOLVED_SHARDING_OPTIONS);
    assert.equal(resolved.totalShards, 6);
    assert.equal(resolved.shardsPerInstance, 3);
    assert.equal(resolved.spawnOnBootstrap, false);
    // And the rest got their defaults.
    assert.equal(resolved.heartbeatInterval, 5_000);
    assert.ok(app.get(ShardingManager) instanceof ShardingManager);
  });

  it('takes its options from useClass', async () => {
    const app = await createApp([
      ShardingModule.forRootAsync({ imports: [ConfigModule], useClass: ShardingConfigService }),
    ]);
    const resolved = app.get<ResolvedShardingOptions>(RESOLVED_SHARDING_OPTIONS);
    assert.equal(resolved.totalShards, 6);
    assert.equal(resolved.shardsPerInstance, 3);
  });

  it('takes its options from useExisting, under @nestjs/testing too', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ShardingModule.forRootAsync({
          imports: [ConfigServiceModule],
          useExisting: ShardingConfigService,
        }),
      ],
    }).compile();
    defer(() => moduleRef.close());
    await moduleRef.init();
    const resolved = moduleRef.get<ResolvedShardingOptions>(RESOLVED_SHARDING_OPTIONS);
    assert.equal(resolved.totalShards, 6);
    assert.ok(moduleRef.get(ShardingManager) instanceof ShardingManager);
  });

  describe('isGlobal', () => {
    @Injectable()
    class FeatureService {
      constructor(readonly manager: ShardingManager) {}
    }

    @Module({ providers: [FeatureService], exports: [FeatureService] })
    class FeatureModule {}

    it('makes ShardingManager injectable in a module that does not import ShardingModule', async () => {
      const app = await createApp([
        ShardingModule.forRoot({ ...quiet, isGlobal: true }),
        FeatureModule,
      ]);
      const feature = app.get(FeatureService);
      assert.ok(feature.manager instanceof ShardingManager);
      assert.equal(feature.manager, app.get(ShardingManager));
    });

    it('works with forRootAsync as well', async () => {
      const app = await createApp([
        ShardingModule.forRootAsync({ isGlobal: true, useFactory: () => quiet }),
        FeatureModule,
      ]);
      assert.equal(app.get(FeatureService).manager, app.get(ShardingManager));
    });

    it('is needed: without it the feature module cannot resolve ShardingManager', async () => {
      // The control of the two tests above: the module is not global by default.
      await assert.rejects(
        createFailingApp([ShardingModule.forRoot(quiet), FeatureModule]),
        /ShardingManager/,
      );
    });
  });
});

// Calls a promise-returning API; a synchronous throw fails the test instead of being caught.
function settle(call: () => Promise<unknown>): Promise<unknown> {
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (error) {
    assert.fail(`threw synchronously: ${String(error)}`);
  }
  return promise;
}

describe('ShardingModule in the manager role', () => {
  it('detects the manager role and provides only its side', async () => {
    withoutManagerEnv();
    const app = await createApp([ShardingModule.forRoot(quiet)]);
    assert.equal(app.get(SHARDING_ROLE), 'manager');
    assert.ok(app.get(ShardingManager) instanceof ShardingManager);
    // The instance side can be injected (one entry file serves both roles); using it fails
    // with one clear error that names what was used.
    const instance = app.get(ShardingInstance);
    const context = app.get<{ shards: number[] }>(SHARDING_INSTANCE_CONTEXT);
    const server = app.get(IpcServer);
    for (const [use, api] of [
      [() => instance.send('x', 1), 'ShardingInstance.send'],
      [() => instance.context, 'ShardingInstance.context'],
      [() => context.shards, 'SHARDING_INSTANCE_CONTEXT.shards'],
      [() => server.state, 'IpcServer.state'],
    ] as const) {
      assert.throws(use, (error: unknown) => {
        assert.ok(error instanceof WrongRoleError, String(error));
        assert.equal(error.code, 'ERR_SHARDING_WRONG_ROLE');
        assert.equal(error.api, api);
        assert.match(
          error.message,
          /only available in the instance role, and this process is the manager/,
        );
        return true;
      });
    }
  });

  it('gives an instance-only factory one clear error in the manager', async () => {
    // The README's discord.js recipe in an AppModule that serves both roles: the factory runs
    // in the manager too, and must say why it cannot work there.
    const CLIENT = Symbol('CLIENT');
    const factoryModule = {
      module: class ClientModule {},
      providers: [
        {
          provide: CLIENT,
          useFactory: (context: { shards: number[] }) => ({ shards: context.shards }),
          inject: [SHARDING_INSTANCE_CONTEXT],
        },
      ],
    };
    await assert.rejects(
      createFailingApp([
        ShardingModule.forRoot({ ...quiet, role: 'manager', isGlobal: true }),
        factoryModule,
      ]),
      (error: unknown) => {
        assert.ok(error instanceof WrongRoleError, String(error));
        assert.equal(error.api, 'SHARDING_INSTANCE_CONTEXT.shards');
        // The cure, not only the symptom: scope the module to instances.
        assert.match(error.message, /ShardingModule\.forInstance\(BotModule\)/);
        return true;
      },
    );
  });

  it('takes a forced role from forRootAsync without running its factory first', async () => {
    withoutManagerEnv();
    const app = await createApp([
      ShardingModule.forRootAsync({ role: 'manager', useFactory: () => quiet }),
    ]);
    assert.equal(app.get(SHARDING_ROLE), 'manager');
  });

  it('answers ShardingManager calls before spawn without spawning', async () => {
    const app = await createApp([ShardingModule.forRoot({ ...quiet, role: 'manager' })]);
    const manager = app.get(ShardingManager);
    assert.equal(typeof manager.id, 'string');
    assert.equal(app.get(SnowflakeService).deconstruct(manager.id).isManager, true);
    assert.equal(manager.totalShards, undefined);
    assert.deepEqual(manager.instances, []);
    assert.deepEqual(manager.status(), []);
    assert.throws(() => manager.instanceForShard(0), UnknownInstanceError);
    assert.throws(
      () => manager.instanceForGuild('1146749583373226046'),
      (error: unknown) =>
        error instanceof UnknownInstanceError && /not spawned/.test(error.message),
    );
    assert.throws(() => manager.link(0), UnknownInstanceError);
    await assert.rejects(manager.send(0, 'x'), UnknownInstanceError);
    await assert.rejects(manager.request(0, 'x'), UnknownInstanceError);
    assert.deepEqual(await manager.broadcast('x'), []);
    assert.deepEqual(await manager.broadcastRequest('x'), []);
    // Shutting down a manager that never spawned is harmless, and idempotent.
    await manager.shutdown();
    await manager.shutdown();
    assert.deepEqual(manager.instances, []);
  });

  it('rejects the promise-returning calls instead of throwing synchronously', async () => {
    const app = await createApp([ShardingModule.forRoot({ ...quiet, role: 'manager' })]);
    const manager = app.get(ShardingManager);
    await assert.rejects(
      settle(() => manager.restart(0)),
      UnknownInstanceError,
    );
  });

  it('shows an instance link read-only, following its generations', async () => {
    const manager = await startFleet({ totalShards: 1, shardsPerInstance: 1 });
    const link = manager.link(0);
    assert.equal(link.instance, 0);
    assert.equal(link.state, 'identified');
    const first = link.instanceId;
    assert.equal(first, manager.status()[0]!.instanceId);
    assert.equal(link.pendingRequests, 0);
    assert.equal(link.rejectedPackets, 0);
    // Nothing on it can change or close the link.
    assert.ok(Object.isFrozen(link));
    for (const member of ['close', 'send', 'request', 'dispatchHandler']) {
      assert.equal(member in link, false, member);
    }
    const pending = manager.request(0, 'slow', { ms: 2_000 });
    // The request is registered once the manager has checked readiness (no event tells when).
    await waitUntil(() => link.pendingRequests === 1, 5_000, 'the request never became pending');
    assert.equal(await pending, 'slow done');
    await manager.restart(0);
    assert.notEqual(link.instanceId, first);
    assert.equal(link.state, 'identified');
  });

  it('boots instances in turn, bootConcurrency at a time, in plan order', async () => {
    const manager = await startFleet(
      { totalShards: 3, shardsPerInstance: 1, bootConcurrency: 1, spawnOnBootstrap: false },
      { waitReady: false },
    );
    const changes: Array<{ instance: number; to: string }> = [];
    manager.status$.subscribe(({ instance, to }) => changes.push({ instance, to }));
    await manager.whenReady(30_000);
    const at = (instance: number, to: string) =>
      changes.findIndex((change) => change.instance === instance && change.to === to);
    // Each instance starts only once the one before it has booted (identified).
    assert.ok(at(0, 'identified') < at(1, 'spawning'), JSON.stringify(changes));
    assert.ok(at(1, 'identified') < at(2, 'spawning'), JSON.stringify(changes));
  });

  it('gives ShardingManager in an instance one clear error when used', async () => {
    const manager = await startFleet({ totalShards: 1, shardsPerInstance: 1 });
    await assert.rejects(manager.request(0, 'use-manager'), (error: unknown) => {
      assert.ok(error instanceof RemoteHandlerError, String(error));
      assert.match(error.message, /ShardingManager\.status is only available in the manager role/);
      assert.match(error.message, /ShardingModule\.forManager\(/);
      return true;
    });
  });

  it('does not spawn a fleet after shutdown()', async () => {
    const app = await createApp([
      ShardingModule.forRoot({
        ...quiet,
        role: 'manager',
        file: fixturePath('sharding-app.fixture'),
        totalShards: 1,
        heartbeatInterval: 200,
        killGrace: 1_000,
      }),
    ]);
    const manager = app.get(ShardingManager);
    // Should the bug be there, stop what it spawned: shutdown() is already spent.
    const internals = manager as unknown as {
      supervisors: Array<{ stop(): Promise<void> }>;
      socketRoot: string | undefined;
    };
    defer(async () => {
      await Promise.all(internals.supervisors.map((supervisor) => supervisor.stop()));
      if (internals.socketRoot !== undefined) await removeSocketRoot(internals.socketRoot);
    });
    await manager.shutdown();
    await assert.rejects(manager.spawn(), ShardingError);
    assert.deepEqual(manager.instances, []);
  });
});

describe('ShardingModule in the instance role without a manager', () => {
  const variables = Object.values(SHARDING_ENV);

  it('fails app creation with MissingManagerError naming every missing variable', async () => {
    withoutManagerEnv();
    await assert.rejects(
      createFailingApp([ShardingModule.forRoot({ role: 'instance' })]),
      (error: unknown) => {
        assert.ok(error instanceof MissingManagerError, String(error));
        assert.equal(error.code, 'ERR_SHARDING_NO_MANAGER');
        for (const name of variables) assert.ok(error.message.includes(name), error.message);
        return true;
      },
    );
  });

  it('names only the variables that are missing when the role is detected', async () => {
    // SHARDING_INSTANCE_IPC alone makes the process an instance; the others are missing.
    withoutManagerEnv();
    withEnv({ [SHARDING_ENV.INSTANCE_ID]: '123' });
    await assert.rejects(createFailingApp([ShardingModule.forRoot({})]), (error: unknown) => {
      assert.ok(error instanceof MissingManagerError, String(error));
      assert.ok(!error.message.includes(SHARDING_ENV.INSTANCE_ID), error.message);
      for (const name of variables.filter((variable) => variable !== SHARDING_ENV.INSTANCE_ID)) {
        assert.ok(error.message.includes(name), error.message);
      }
      return true;
    });
  });

  it('rejects an instance index that is not a number', async () => {
    withEnv({
      [SHARDING_ENV.MANAGER_ID]: '1',
      [SHARDING_ENV.INSTANCE_ID]: '2',
      [SHARDING_ENV.INSTANCE]: 'first',
      [SHARDING_ENV.SOCKET_ROOT]: '/nonexistent',
    });
    await assert.rejects(
      createFailingApp([ShardingModule.forRoot({ role: 'instance' })]),
      (error: unknown) =>
        error instanceof MissingManagerError && error.message.includes(SHARDING_ENV.INSTANCE),
    );
  });

  // Forks the orphan fixture with `env` (and no inherited manager variables), collecting stderr.
  function runOrphan(env: Record<string, string>) {
    const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    for (const name of variables) delete base[name];
    const child = fork(fixturePath('orphan-instance.fixture'), [], {
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    defer(() => killAndWait(child));
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout!.resume();
    let started = false;
    child.on('message', () => (started = true));
    return {
      child,
      // Resolves when the process has exited and its stderr is fully read.
      finished: Promise.all([
        exitOf(child),
        new Promise((resolve) => child.stderr!.once('close', resolve)),
      ]).then(([exit]) => ({ ...exit, stderr, started })),
    };
  }

  it(
    'exits non-zero at once, with the MissingManagerError message on stderr',
    // The bound is the test's timeout: a hang fails the test instead of blocking the suite.
    { timeout: 20_000 },
    async () => {
      const { finished } = await runOrphan({});
      const { code, signal, stderr, started } = await finished;
      assert.equal(started, false);
      assert.equal(signal, null);
      assert.notEqual(code, 0);
      assert.match(stderr, /MissingManagerError/);
      assert.match(stderr, /not started by a manager/);
      for (const name of variables) assert.ok(stderr.includes(name), stderr);
    },
  );

  it(
    'exits non-zero with NoHelloError when its manager never connects',
    { timeout: 20_000 },
    async () => {
      // Every variable is there, but the manager they name does not exist.
      const socketRoot = await createSocketRoot();
      defer(() => removeSocketRoot(socketRoot));
      const snowflakes = new SnowflakeService();
      const { finished } = await runOrphan({
        [SHARDING_ENV.MANAGER_ID]: snowflakes.generate(MANAGER_SHARD_ID),
        [SHARDING_ENV.INSTANCE_ID]: snowflakes.generate(0),
        [SHARDING_ENV.INSTANCE]: '0',
        [SHARDING_ENV.SOCKET_ROOT]: socketRoot,
        FIXTURE_HELLO_TIMEOUT: '300',
      });
      const { code, signal, stderr, started } = await finished;
      assert.equal(started, false);
      assert.equal(signal, null);
      assert.notEqual(code, 0);
      assert.match(stderr, new RegExp(NoHelloError.name));
      assert.match(stderr, /No HELLO from the manager within 300 ms/);
    },
  );
});

describe('ShardingModule imported in two modules of one app', () => {
  let calls = 0;

  @Injectable()
  class CountingHandlers {
    @OnDispatch('x')
    count() {
      calls++;
    }
  }

  @Module({ imports: [ShardingModule.forRoot(quiet)], providers: [CountingHandlers] })
  class FeatureModule {}

  const twice = () => createApp([ShardingModule.forRoot(quiet), FeatureModule]);

  it('fails the start-up with a typed error instead of running two fleets', async () => {
    await assert.rejects(twice(), (error: unknown) => {
      assert.ok(error instanceof DuplicateShardingModuleError);
      assert.match(error.message, /imported 2 times/);
      return true;
    });
    assert.equal(calls, 0);
  });
});
