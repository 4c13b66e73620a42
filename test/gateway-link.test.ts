// The instance's side of Discord brokerage, in a real instance process (a Nest application with
// ShardingModule) talking over a real socket to a manager link: an identify wait that fails other
// than by the caller's abort must never let @discordjs/ws IDENTIFY unpaced. @discordjs/ws 1.x and
// 2.x treat any rejection that comes before their own signal aborts as a glitch: they reconnect
// and then IDENTIFY anyway. So such a wait holds until the caller aborts, and then rejects with
// an AbortError.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import {
  IdentifyCancelledError,
  IpcClient,
  LibraryEvent,
  SnowflakeService,
  type DispatchHandler,
} from '../src/index.js';
import { cleanUp, defer } from './support/cleanup.js';
import { instanceEnv, managerIdentity } from './support/link.js';
import { forkFixture, nextMessage, type FixtureMessage } from './support/processes.js';

afterEach(cleanUp);

const snowflakes = new SnowflakeService();

/** Forks the identify-wait instance and connects a manager link whose handler answers it. */
async function startInstance(handler: DispatchHandler) {
  const { managerId, socketRoot } = await managerIdentity();
  const instanceId = snowflakes.generate(0);
  const child = forkFixture(
    'identify-wait.fixture',
    instanceEnv(managerId, instanceId, 0, socketRoot),
  );
  const client = new IpcClient({
    managerId,
    instanceId,
    instance: 0,
    shards: [0, 1],
    totalShards: 2,
    socketRoot,
    heartbeatInterval: 1_000,
    dispatchHandler: handler,
  });
  defer(() => client.close());
  const ready = nextMessage(child, 'ready');
  await client.connect();
  await ready;
  return { child, client };
}

/** The first message from `child` that is a wait settling, or a warning about an IDENTIFY wait. */
function firstOutcome(child: ChildProcess): Promise<FixtureMessage> {
  return Promise.race([
    nextMessage(child, 'settled'),
    new Promise<FixtureMessage>((resolve) => {
      const onMessage = (message: FixtureMessage) => {
        if (message.type !== 'warn' || !String(message.message).includes('IDENTIFY')) return;
        child.off('message', onMessage);
        resolve(message);
      };
      child.on('message', onMessage);
    }),
  ]);
}

/** Asks the manager link for an identify slot and records that it did. */
function slotHandler(answer: (shardId: number) => unknown) {
  let asked!: () => void;
  const slotAsked = new Promise<void>((resolve) => (asked = resolve));
  const handler: DispatchHandler = (data, context) => {
    if (context.event !== LibraryEvent.IDENTIFY_SLOT) return true;
    asked();
    return answer((data as { shardId: number }).shardId);
  };
  return { handler, slotAsked };
}

describe('identify waits that fail other than by abort', () => {
  it('hold a wait the manager cancelled until the caller aborts, then reject with an AbortError', async () => {
    const { handler } = slotHandler((shardId) => {
      throw new IdentifyCancelledError(shardId);
    });
    const { child } = await startInstance(handler);

    const outcome = firstOutcome(child);
    child.send({ type: 'wait', shardId: 1 });
    const first = await outcome;
    assert.equal(first.type, 'warn', `the wait settled first: ${JSON.stringify(first)}`);

    const settled = nextMessage(child, 'settled');
    child.send({ type: 'abort', shardId: 1 });
    const result = await settled;
    assert.equal(result.outcome, 'rejected');
    assert.equal(result.name, 'AbortError');
  });

  it('hold a wait whose manager is lost until the caller aborts, then reject with an AbortError', async () => {
    // The manager never answers: the wait ends only because the link does.
    const { handler, slotAsked } = slotHandler(() => new Promise(() => {}));
    const { child, client } = await startInstance(handler);

    child.send({ type: 'wait', shardId: 0 });
    await slotAsked;
    const outcome = firstOutcome(child);
    await client.close();
    const first = await outcome;
    assert.equal(first.type, 'warn', `the wait settled first: ${JSON.stringify(first)}`);

    const settled = nextMessage(child, 'settled');
    child.send({ type: 'abort', shardId: 0 });
    const result = await settled;
    assert.equal(result.outcome, 'rejected');
    assert.equal(result.name, 'AbortError');
  });

  it('reject a wait without a signal at once with an AbortError that carries the cause', async () => {
    const { handler } = slotHandler((shardId) => {
      throw new IdentifyCancelledError(shardId);
    });
    const { child } = await startInstance(handler);

    const settled = nextMessage(child, 'settled');
    child.send({ type: 'wait', shardId: 0, signal: false });
    const result = await settled;
    assert.equal(result.outcome, 'rejected');
    assert.equal(result.name, 'AbortError');
    // The manager's error, as the link carries it (its code, or the remote code it keeps).
    assert.ok(
      (result.causeCodes as string[]).includes('ERR_SHARDING_IDENTIFY_CANCELLED'),
      JSON.stringify(result),
    );
  });

  it('grant a wait the manager grants', async () => {
    const { handler } = slotHandler(() => true);
    const { child } = await startInstance(handler);
    const settled = nextMessage(child, 'settled');
    child.send({ type: 'wait', shardId: 1 });
    assert.equal((await settled).outcome, 'granted');
  });
});
