// The identify window timed from the IDENTIFY actually sent: a loaded instance that sends its
// IDENTIFY long after the grant does not get the next one in its bucket refused (op 9), because
// the manager starts the bucket's next window from the instance's report, not from the grant.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { GatewayEmulator } from '../src/testing/index.js';
import { cleanUp, defer } from './support/cleanup.js';
import { startFleet } from './support/fleet.js';
import { fixturePath } from './support/processes.js';

afterEach(cleanUp);

const TOKEN = 'emulator-token';
const WINDOW = 250;
/** Far more than the margin below: a grant-timed window lets the next IDENTIFY in too early. */
const HOLD = 150;
const MARGIN = 20;

describe('identify window', () => {
  it('runs from the IDENTIFY sent, so a late IDENTIFY draws no op 9 with a small margin', async () => {
    const emulator = await GatewayEmulator.start({
      token: TOKEN,
      shards: 2,
      maxConcurrency: 1,
      identifyWindow: WINDOW,
      heartbeatInterval: 1_000,
    });
    defer(() => emulator.close());

    await startFleet({
      file: fixturePath('ws-bot.fixture'),
      totalShards: 'auto',
      token: TOKEN,
      api: `${emulator.apiBase}/v10`,
      // One instance runs both shards: its first IDENTIFY is held, the second is not.
      shardsPerInstance: 2,
      identifyWindow: WINDOW,
      identifyMargin: MARGIN,
      env: {
        EMULATOR_API: emulator.apiBase,
        DISCORD_TOKEN: TOKEN,
        FIXTURE_HOLD_FIRST_IDENTIFY_MS: String(HOLD),
      },
    });

    assert.equal(emulator.counters.invalidSessions, 0, 'an IDENTIFY was refused with op 9');
    const times = emulator.identifies.map((identify) => identify.at);
    assert.equal(times.length, 2);
    assert.ok(
      times[1]! - times[0]! >= WINDOW,
      `two IDENTIFYs of one bucket ${times[1]! - times[0]!} ms apart`,
    );
  });
});
