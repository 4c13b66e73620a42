import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import {
  ConsoleLogger,
  Injectable,
  Logger,
  Scope,
  type LoggerService,
  type Provider,
} from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test, type TestingModule } from '@nestjs/testing';
import type { DispatchContext } from '../src/dispatch/dispatch-context.interface.js';
import { SHARDING_ROLE } from '../src/common/sharding-role.js';
import { DispatchExplorer } from '../src/dispatch/dispatch.explorer.js';
import { DispatchRegistry } from '../src/dispatch/dispatch.registry.js';
import { OnDispatch } from '../src/dispatch/on-dispatch.decorator.js';
import { NoHandlerError } from '../src/dispatch/dispatch.errors.js';

type Level = 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';

/** Keeps what Nest's `Logger` would print, so tests can assert on it. */
class CapturingLogger implements LoggerService {
  readonly entries: Array<{ level: Level; message: string; params: unknown[] }> = [];

  log(message: unknown, ...params: unknown[]): void {
    this.add('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.add('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.add('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.add('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.add('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.add('fatal', message, params);
  }

  messages(level: Level): string[] {
    return this.entries.filter((entry) => entry.level === level).map((entry) => entry.message);
  }

  private add(level: Level, message: unknown, params: unknown[]): void {
    this.entries.push({ level, message: String(message), params });
  }
}

const apps: TestingModule[] = [];

afterEach(async () => {
  while (apps.length > 0) await apps.pop()!.close();
});

after(() => {
  Logger.overrideLogger(new ConsoleLogger());
});

/** A real Nest application with the explorer, the registry and `providers`, initialised. */
async function start(providers: Provider[]) {
  const logs = new CapturingLogger();
  const app = await Test.createTestingModule({
    imports: [DiscoveryModule],
    providers: [DispatchRegistry, DispatchExplorer, ...providers],
  })
    .setLogger(logs)
    .compile();
  apps.push(app);
  await app.init();
  return { app, logs, registry: app.get(DispatchRegistry) };
}

function requestContext(event: string, from: DispatchContext['from'] = 'manager'): DispatchContext {
  return { event, from, eventId: `${event}-1`, isRequest: true };
}

function eventContext(name: string, from: DispatchContext['from'] = 'manager'): DispatchContext {
  return { event: name, from, eventId: `${name}-1`, isRequest: false };
}

describe('@OnDispatch handlers in a Nest application', () => {
  it("replies to a request with the handler's return value, bound to its instance", async () => {
    @Injectable()
    class Stats {
      private readonly name = 'stats';

      @OnDispatch('PING')
      ping(data: unknown, context: DispatchContext) {
        return { data, by: this.name, context };
      }
    }
    const { registry } = await start([Stats]);
    const context = requestContext('PING', 3);
    // Unbound on purpose: this is how a connection receives it.
    const { handle } = registry;
    assert.deepEqual(await handle({ n: 1 }, context), { data: { n: 1 }, by: 'stats', context });
    assert.deepEqual(registry.events(), ['PING']);
    assert.equal(registry.has('PING'), true);
    assert.equal(registry.has('PONG'), false);
  });

  it('waits for an async handler and replies with what it resolves to', async () => {
    @Injectable()
    class Slow {
      @OnDispatch('SUM')
      async sum(data: number[]): Promise<number> {
        await new Promise<void>((resolve) => setImmediate(resolve));
        return data.reduce((total, value) => total + value, 0);
      }
    }
    const { registry } = await start([Slow]);
    assert.equal(await registry.handle([1, 2, 3], requestContext('SUM')), 6);
  });

  it('registers one method for every event of an array', async () => {
    @Injectable()
    class Lifecycle {
      @OnDispatch(['CONNECTED', 'DESTROYING'])
      seen(_data: unknown, context: DispatchContext): string {
        return `seen ${context.event}`;
      }
    }
    const { registry } = await start([Lifecycle]);
    assert.deepEqual(registry.events(), ['CONNECTED', 'DESTROYING']);
    assert.equal(await registry.handle(null, requestContext('CONNECTED')), 'seen CONNECTED');
    assert.equal(await registry.handle(null, requestContext('DESTROYING')), 'seen DESTROYING');
  });

  it('registers every event of stacked decorators, in source order, each once', async () => {
    const calls: string[] = [];
    @Injectable()
    class Stacked {
      @OnDispatch('FIRST')
      @OnDispatch(['SECOND', 'FIRST'])
      record(_data: unknown, context: DispatchContext): string {
        calls.push(context.event);
        return context.event;
      }
    }
    const { registry } = await start([Stacked]);
    assert.deepEqual(registry.events(), ['FIRST', 'SECOND']);
    assert.equal(await registry.handle(null, requestContext('FIRST')), 'FIRST');
    assert.equal(await registry.handle(null, requestContext('SECOND')), 'SECOND');
    // FIRST is named by both decorators but the method runs once per dispatch.
    assert.deepEqual(calls, ['FIRST', 'SECOND']);
  });

  it("runs every provider's handler; the first registered one's result is the reply", async () => {
    const calls: string[] = [];
    @Injectable()
    class FirstHandler {
      @OnDispatch('WHO')
      async who(): Promise<string> {
        // Settles after the second handler: the reply still is this one's.
        await new Promise<void>((resolve) => setImmediate(resolve));
        calls.push('first');
        return 'first';
      }
    }
    @Injectable()
    class SecondHandler {
      @OnDispatch('WHO')
      who(): string {
        calls.push('second');
        return 'second';
      }
    }
    const { registry } = await start([FirstHandler, SecondHandler]);
    assert.equal(await registry.handle(null, requestContext('WHO')), 'first');
    assert.deepEqual(calls.toSorted(), ['first', 'second']);

    calls.length = 0;
    assert.equal(await registry.handle(null, eventContext('WHO')), undefined);
    assert.deepEqual(calls.toSorted(), ['first', 'second']);
  });

  it('calls the handler of an aliased provider once', async () => {
    let calls = 0;
    @Injectable()
    class Aliased {
      @OnDispatch('ONCE')
      once(): number {
        return ++calls;
      }
    }
    const { registry } = await start([Aliased, { provide: 'ALIAS', useExisting: Aliased }]);
    assert.equal(await registry.handle(null, requestContext('ONCE')), 1);
    assert.equal(calls, 1);
  });

  it('registers nothing twice when discovery runs again', async () => {
    let calls = 0;
    @Injectable()
    class Counted {
      @OnDispatch('COUNT')
      count(): number {
        return ++calls;
      }
    }
    const { app, registry } = await start([Counted]);
    const explorer = app.get(DispatchExplorer);
    explorer.onModuleInit();
    assert.equal(explorer.explore(), 0);
    assert.equal(await registry.handle(null, eventContext('COUNT')), undefined);
    assert.equal(calls, 1);
  });

  it('keeps the handlers of separate applications apart', async () => {
    let created = 0;
    @Injectable()
    class PerApp {
      private readonly id = ++created;

      @OnDispatch('ID')
      getId(): number {
        return this.id;
      }
    }
    const first = await start([PerApp]);
    const second = await start([PerApp]);
    assert.equal(await first.registry.handle(null, requestContext('ID')), 1);
    assert.equal(await second.registry.handle(null, requestContext('ID')), 2);
  });

  it('skips request-scoped providers with a warning', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @OnDispatch('SCOPED')
      scoped(): string {
        return 'per request';
      }
    }
    @Injectable({ scope: Scope.REQUEST })
    class RequestData {
      readonly receivedAt = Date.now();
    }
    @Injectable()
    class NeedsRequest {
      constructor(readonly requestData: RequestData) {}

      @OnDispatch('IMPLICIT')
      implicit(): string {
        return 'implicitly per request';
      }
    }
    @Injectable()
    class Singleton {
      @OnDispatch('STATIC')
      fine(): string {
        return 'singleton';
      }
    }
    const { logs, registry } = await start([PerRequest, RequestData, NeedsRequest, Singleton]);
    assert.deepEqual(registry.events(), ['STATIC']);
    await assert.rejects(registry.handle(null, requestContext('SCOPED')), NoHandlerError);
    const warnings = logs.messages('warn');
    assert.equal(warnings.length, 2, `warnings: ${JSON.stringify(warnings)}`);
    assert.match(warnings[0]!, /^PerRequest is request-scoped .*@OnDispatch methods \(scoped\)/);
    assert.match(
      warnings[1]!,
      /^NeedsRequest is request-scoped .*@OnDispatch methods \(implicit\)/,
    );
    assert.match(warnings[0]!, /Make the provider a singleton/);
  });

  describe('a handler that fails', () => {
    @Injectable()
    class Failing {
      @OnDispatch('SYNC')
      explode(): never {
        throw new TypeError('sync boom');
      }

      @OnDispatch('ASYNC')
      async reject(): Promise<never> {
        await Promise.resolve();
        throw new RangeError('async boom');
      }
    }

    it('rejects a request with its error, which is logged with its name', async () => {
      const { logs, registry } = await start([Failing]);
      await assert.rejects(registry.handle(null, requestContext('SYNC', 2)), {
        name: 'TypeError',
        message: 'sync boom',
      });
      await assert.rejects(registry.handle(null, requestContext('ASYNC')), {
        name: 'RangeError',
        message: 'async boom',
      });
      const errors = logs.entries.filter((entry) => entry.level === 'error');
      assert.deepEqual(
        errors.map((entry) => entry.message),
        [
          'Failing.explode failed on request "SYNC" from instance 2: TypeError: sync boom',
          'Failing.reject failed on request "ASYNC" from manager: RangeError: async boom',
        ],
      );
      assert.match(String(errors[0]!.params[0]), /TypeError: sync boom\n\s+at /);
      assert.equal(errors[0]!.params[1], 'DispatchRegistry');
    });

    it('only logs the error of a fire-and-forget event', async () => {
      const { logs, registry } = await start([Failing]);
      assert.equal(await registry.handle(null, eventContext('SYNC')), undefined);
      assert.equal(await registry.handle(null, eventContext('ASYNC')), undefined);
      assert.deepEqual(logs.messages('error'), [
        'Failing.explode failed on event "SYNC" from manager: TypeError: sync boom',
        'Failing.reject failed on event "ASYNC" from manager: RangeError: async boom',
      ]);
    });

    it('lets the other handlers run; a request gets the first error in registration order', async () => {
      const calls: string[] = [];
      @Injectable()
      class Succeeds {
        @OnDispatch('MIXED')
        ok(): string {
          calls.push('ok');
          return 'ok';
        }
      }
      @Injectable()
      class FailsLate {
        @OnDispatch('MIXED')
        async late(): Promise<never> {
          await new Promise<void>((resolve) => setImmediate(resolve));
          calls.push('late');
          throw new Error('late failure');
        }
      }
      @Injectable()
      class FailsEarly {
        @OnDispatch('MIXED')
        early(): never {
          calls.push('early');
          throw new Error('early failure');
        }
      }
      const { logs, registry } = await start([Succeeds, FailsLate, FailsEarly]);
      // FailsEarly throws first in time, but FailsLate was registered first.
      await assert.rejects(registry.handle(null, requestContext('MIXED')), {
        message: 'late failure',
      });
      assert.deepEqual(calls.toSorted(), ['early', 'late', 'ok']);
      assert.deepEqual(logs.messages('error'), [
        'FailsLate.late failed on request "MIXED" from manager: Error: late failure',
        'FailsEarly.early failed on request "MIXED" from manager: Error: early failure',
      ]);
    });

    it('logs a thrown non-error value too', async () => {
      @Injectable()
      class ThrowsString {
        @OnDispatch('ODD')
        odd(): never {
          throw 'just a string';
        }
      }
      const { logs, registry } = await start([ThrowsString]);
      await assert.rejects(registry.handle(null, requestContext('ODD')), (error) => {
        assert.equal(error, 'just a string');
        return true;
      });
      assert.deepEqual(logs.messages('error'), [
        'ThrowsString.odd failed on request "ODD" from manager: "just a string"',
      ]);
    });
  });

  it('throws NoHandlerError for an event nobody handles', async () => {
    const { registry } = await start([]);
    for (const context of [requestContext('NOBODY'), eventContext('NOBODY')]) {
      await assert.rejects(registry.handle(null, context), (error: unknown) => {
        assert.ok(error instanceof NoHandlerError);
        assert.equal(error.code, 'ERR_SHARDING_NO_HANDLER');
        assert.match(error.message, /"NOBODY"/);
        return true;
      });
    }
  });

  describe('roles', () => {
    @Injectable()
    class Sides {
      @OnDispatch('SIDE', { role: 'manager' })
      manager(): string {
        return 'manager';
      }

      @OnDispatch('SIDE', { role: 'instance' })
      instance(): string {
        return 'instance';
      }

      @OnDispatch('SIDE', { role: 'both' })
      both(): string {
        return 'both';
      }

      @OnDispatch('MANAGER_ONLY', { role: 'manager' })
      managerOnly(): string {
        return 'manager only';
      }
    }

    it('runs only the handlers of the current role', async () => {
      const { registry } = await start([Sides]);
      assert.equal(registry.currentRole, undefined);
      // No role: nothing is filtered.
      assert.equal(await registry.handle(null, requestContext('SIDE')), 'manager');

      const { registry: instance } = await start([
        Sides,
        { provide: SHARDING_ROLE, useValue: 'instance' },
      ]);
      assert.equal(instance.currentRole, 'instance');
      assert.equal(await instance.handle(null, requestContext('SIDE')), 'instance');
      assert.equal(instance.has('MANAGER_ONLY'), false);
      assert.deepEqual(instance.events(), ['SIDE']);
      await assert.rejects(instance.handle(null, requestContext('MANAGER_ONLY')), NoHandlerError);

      const { registry: manager } = await start([
        Sides,
        { provide: SHARDING_ROLE, useValue: 'manager' },
      ]);
      assert.equal(await manager.handle(null, requestContext('SIDE')), 'manager');
      assert.equal(await manager.handle(null, requestContext('MANAGER_ONLY')), 'manager only');
    });

    it('refuses an unknown role', () => {
      assert.throws(() => new DispatchRegistry('both' as never), {
        code: 'ERR_SHARDING_INVALID_DISPATCH_HANDLER',
      });
    });
  });

  it('registers a plain function once, named as given', async () => {
    const { logs, registry } = await start([]);
    const failure = new Error('plain');
    const handler = (): never => {
      throw failure;
    };
    assert.equal(registry.register('PLAIN', handler, 'plainHandler'), true);
    assert.equal(registry.register('PLAIN', handler, 'plainHandler'), false);
    assert.equal(await registry.handle(null, eventContext('PLAIN')), undefined);
    assert.deepEqual(logs.messages('error'), [
      'plainHandler failed on event "PLAIN" from manager: Error: plain',
    ]);
  });
});

describe('@OnDispatch misuse', () => {
  const invalid = {
    name: 'InvalidDispatchHandlerError',
    code: 'ERR_SHARDING_INVALID_DISPATCH_HANDLER',
  };

  it('refuses an empty event name or list', () => {
    assert.throws(() => {
      class EmptyName {
        @OnDispatch('')
        handle(): void {}
      }
      return EmptyName;
    }, invalid);
    assert.throws(() => {
      class EmptyList {
        @OnDispatch([])
        handle(): void {}
      }
      return EmptyList;
    }, /EmptyList\.handle needs one or more non-empty event names; got \[\]/);
  });

  it('refuses an unknown role', () => {
    assert.throws(() => {
      class BadRole {
        @OnDispatch('X', { role: 'shard' as never })
        handle(): void {}
      }
      return BadRole;
    }, /BadRole\.handle has role "shard"; expected one of 'manager', 'instance', 'both'/);
  });

  it('refuses static methods and accessors', () => {
    assert.throws(() => {
      class StaticMethod {
        @OnDispatch('X')
        static handle(): void {}
      }
      return StaticMethod;
    }, invalid);
    assert.throws(() => {
      class Accessor {
        @OnDispatch('X')
        get value(): number {
          return 1;
        }
      }
      return Accessor;
    }, invalid);
  });
});
