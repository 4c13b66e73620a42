import assert from 'node:assert/strict';
import { once } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { IPC_DEFAULTS, IpcOpCode } from '../src/ipc/index.js';
import { cleanUp } from './support/cleanup.js';
import { clientFor, startInstance, startLink } from './support/link.js';
import { packetFrame, PacketReader, rawSocket, strangerHello } from './support/wire.js';

afterEach(cleanUp);

type Stats = { closedConnections: number; rejectedPackets: number };

// Unfixed, a stranger is never closed: the waits for a close are bounded by the test timeout.
const bounded = { timeout: 20_000 };

describe('connections that never identify', () => {
  it('cannot lock the manager out, however many they are', async () => {
    // Idle strangers do not time out here: the free slot must be kept by eviction alone.
    const started = await startInstance({ FIXTURE_UNIDENTIFIED_TIMEOUT: '120000' });
    const path = `${started.socketRoot}/ddoo${started.instanceId}`;
    for (let i = 0; i < IPC_DEFAULTS.maxConnections + 4; i++) await rawSocket(path);

    const client = clientFor(started, { helloTimeout: 10_000 });
    await client.connect();

    assert.equal(await client.request('echo', 'in'), 'in');
    const stats = await client.request<Stats>('stats');
    assert.ok(stats.closedConnections >= 4, `only ${stats.closedConnections} closed`);
  });

  it(
    'are closed after the deadline, silent or chatty, and the manager stays',
    bounded,
    async () => {
      const { client, socketRoot, instanceId } = await startLink(
        {},
        { FIXTURE_UNIDENTIFIED_TIMEOUT: '1000' },
      );
      const path = `${socketRoot}/ddoo${instanceId}`;
      const silent = await rawSocket(path);
      const chatty = await rawSocket(path);
      chatty.write(packetFrame({ op: IpcOpCode.HEARTBEAT, d: { seq: 1, ts: 1 } }));

      await Promise.all([once(silent, 'close'), once(chatty, 'close')]);

      assert.equal(client.state, 'identified');
      assert.equal(await client.request('echo', 'still here'), 'still here');
      assert.equal((await client.request<Stats>('stats')).closedConnections, 2);
    },
  );

  it(
    'are closed right after INVALID_SESSION when they claim another manager',
    bounded,
    async () => {
      const { client, socketRoot, instanceId } = await startLink(
        {},
        { FIXTURE_UNIDENTIFIED_TIMEOUT: '120000' },
      );
      const stranger = await rawSocket(`${socketRoot}/ddoo${instanceId}`);
      const reader = new PacketReader(stranger);
      const closed = once(stranger, 'close');
      stranger.write(strangerHello);

      await closed;
      assert.deepEqual(reader.packets, [{ op: IpcOpCode.INVALID_SESSION, d: { id: instanceId } }]);
      assert.equal(await client.request('echo', 'still here'), 'still here');
    },
  );
});
