import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { firstValueFrom, take, toArray } from 'rxjs';
import {
  HelloTimeoutError,
  InvalidSessionError,
  IpcClient,
  type InstanceContext,
} from '../src/index.js';
import { cleanUp } from './support/cleanup.js';
import {
  clientFor,
  instanceEnv,
  managerIdentity,
  startInstance,
  startLink,
} from './support/link.js';
import { forkFixture, nextMessage } from './support/processes.js';

afterEach(cleanUp);

describe('handshake', () => {
  it('answers HELLO with IDENTIFY and resolves the instance context', async () => {
    const started = await startInstance();
    const identified = nextMessage<{ type: string; context: InstanceContext }>(
      started.child,
      'identified',
    );
    const client = clientFor(started, { shards: [4, 5, 6], totalShards: 12 });

    const identify = await client.connect();

    assert.equal(identify.id, started.instanceId);
    assert.equal(identify.pid, started.child.pid);
    assert.deepEqual(identify.shards, [4, 5, 6]);
    assert.equal(client.state, 'identified');
    const { context } = await identified;
    assert.deepEqual(context, {
      instance: 0,
      instanceId: started.instanceId,
      managerId: started.managerId,
      shards: [4, 5, 6],
      totalShards: 12,
      heartbeatInterval: 5000,
    });
  });

  it('keeps sending HELLO until the instance is up', async () => {
    const { managerId, socketRoot } = await managerIdentity();
    // The client starts before the instance exists; node-ipc retries, HELLO follows the connect.
    const instanceId = '1183444843991979760462785602312470528';
    const client = new IpcClient({
      managerId,
      instanceId,
      instance: 0,
      shards: [0],
      totalShards: 1,
      socketRoot,
    });
    const identified = client.connect();
    forkFixture('ipc-server.fixture', instanceEnv(managerId, instanceId, 0, socketRoot));
    const identify = await identified;
    assert.equal(identify.id, instanceId);
    await client.close();
  });

  it('gives up after helloTimeout with a typed error when nothing answers', async () => {
    const { managerId, socketRoot } = await managerIdentity();
    const client = new IpcClient({
      managerId,
      instanceId: '42',
      instance: 3,
      shards: [0],
      totalShards: 1,
      socketRoot,
      helloTimeout: 300,
    });
    await assert.rejects(client.connect(), (error: unknown) => {
      assert.ok(error instanceof HelloTimeoutError);
      assert.equal(error.code, 'ERR_SHARDING_HELLO_TIMEOUT');
      assert.match(error.message, /Instance 3/);
      return true;
    });
    assert.equal(client.state, 'closed');
  });

  it('refuses a stranger with another manager id and keeps serving its own manager', async () => {
    const { child, client, instanceId, socketRoot } = await startLink();
    const stranger = new IpcClient({
      managerId: '999',
      instanceId,
      instance: 0,
      shards: [0],
      totalShards: 1,
      socketRoot,
    });
    await assert.rejects(stranger.connect(), InvalidSessionError);
    await stranger.close();

    assert.deepEqual(await client.request('echo', { still: 'here' }), { still: 'here' });
    const heartbeats = await firstValueFrom(client.heartbeat$.pipe(take(2), toArray()));
    assert.equal(heartbeats.length, 2);
    assert.equal(child.exitCode, null);
  });
});
