import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Fleet, startFleet } from './fleet.js';

describe('the sharded app (e2e)', () => {
  let fleet: Fleet | undefined;

  after(async () => {
    await fleet?.close();
  });

  it('answers PING from its instance, which runs the ESM build', async () => {
    fleet = await startFleet(fileURLToPath(new URL('../src/main.js', import.meta.url)));
    assert.ok(fleet.emulator.requests.some((request) => request.url === '/api/v10/gateway/bot'));
    assert.deepEqual(await fleet.manager.request(0, 'PING', 'hello'), {
      pong: 'hello',
      instance: 0,
      shards: [0],
      moduleSystem: 'module',
    });
  });
});
