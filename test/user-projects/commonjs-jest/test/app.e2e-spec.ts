import { join } from 'node:path';
import { type Fleet, startFleet } from './fleet';

describe('the sharded app (e2e)', () => {
  let fleet: Fleet | undefined;

  afterAll(async () => {
    await fleet?.close();
  });

  it('answers PING from its instance, which runs the CommonJS build', async () => {
    fleet = await startFleet(join(__dirname, '..', 'dist', 'main.js'));
    expect(fleet.emulator.requests.map((request) => request.url)).toContain('/api/v10/gateway/bot');
    await expect(fleet.manager.request(0, 'PING', 'hello')).resolves.toEqual({
      pong: 'hello',
      instance: 0,
      shards: [0],
      moduleSystem: 'commonjs',
    });
  });
});
