import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import type { DispatchContext } from '../src/dispatch/dispatch-context.interface.js';
import { NoHandlerError } from '../src/dispatch/dispatch.errors.js';
import { DispatchRegistry } from '../src/dispatch/dispatch.registry.js';

const context = (event: string, isRequest: boolean): DispatchContext => ({
  event,
  from: 'manager',
  eventId: '1',
  isRequest,
});

/** A registry whose failure logs are counted instead of printed. */
function quietRegistry(): { registry: DispatchRegistry; errors: string[] } {
  const registry = new DispatchRegistry('instance');
  const errors: string[] = [];
  const logger = (registry as unknown as { logger: Logger }).logger;
  logger.error = (message: unknown) => void errors.push(String(message));
  return { registry, errors };
}

describe('DispatchRegistry.run: the straight path of one handler', () => {
  it('answers a synchronous handler with its plain value, in the same turn', () => {
    const { registry } = quietRegistry();
    registry.register('SUM', (data) => (data as number[]).reduce((a, b) => a + b, 0), 'Sum');
    assert.equal(registry.run([1, 2, 3], context('SUM', true)), 6);
    assert.equal(registry.run([1, 2, 3], context('SUM', false)), undefined);
  });

  it('throws (and logs) a synchronous failure for a request; an event only logs it', () => {
    const { registry, errors } = quietRegistry();
    registry.register(
      'FAIL',
      () => {
        throw new RangeError('nope');
      },
      'Failing.handler',
    );
    assert.throws(() => registry.run(null, context('FAIL', true)), RangeError);
    assert.equal(registry.run(null, context('FAIL', false)), undefined);
    assert.equal(errors.length, 2);
    assert.match(errors[0]!, /Failing\.handler/);
  });

  it('returns a promise for an asynchronous handler, with the same rules', async () => {
    const { registry, errors } = quietRegistry();
    registry.register('LATER', async (data) => data, 'Later');
    registry.register('LATER_FAIL', () => Promise.reject(new TypeError('later')), 'LaterFail');
    const reply = registry.run('x', context('LATER', true));
    assert.ok(reply instanceof Promise);
    assert.equal(await reply, 'x');
    assert.equal(await registry.run('x', context('LATER', false)), undefined);
    await assert.rejects(
      registry.run(null, context('LATER_FAIL', true)) as Promise<unknown>,
      TypeError,
    );
    assert.equal(await registry.run(null, context('LATER_FAIL', false)), undefined);
    assert.equal(errors.length, 2);
  });

  it('throws NoHandlerError for an event without a handler, and sees handlers added later', async () => {
    const { registry } = quietRegistry();
    assert.throws(() => registry.run(null, context('NEW', true)), NoHandlerError);
    registry.register('NEW', () => 'first', 'First');
    assert.equal(registry.run(null, context('NEW', true)), 'first');
    // A second handler: the general rules (first result, all awaited) through a promise.
    registry.register('NEW', () => 'second', 'Second');
    assert.equal(await registry.run(null, context('NEW', true)), 'first');
    assert.equal(await registry.handle(null, context('NEW', true)), 'first');
  });

  it('skips handlers of the other role', () => {
    const { registry } = quietRegistry();
    registry.register('ROLE', () => 'manager side', 'M', { role: 'manager' });
    registry.register('ROLE', () => 'instance side', 'I', { role: 'instance' });
    assert.equal(registry.run(null, context('ROLE', true)), 'instance side');
  });
});
