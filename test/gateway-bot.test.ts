import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import {
  ManagerShutDownError,
  GatewayUnavailableError,
  InvalidShardingOptionError,
  MissingTokenError,
  TokenInvalidError,
  fetchGatewayBot,
  type GatewayBotInfo,
} from '../src/index.js';
import { cleanUp, defer } from './support/cleanup.js';
import { startFleet } from './support/fleet.js';
import { withEnv } from './support/options.js';

afterEach(cleanUp);

const gatewayBot = (shards: number): GatewayBotInfo => ({
  url: 'wss://gateway.discord.gg',
  shards,
  session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
});

interface SeenRequest {
  method: string | undefined;
  url: string | undefined;
  authorization: string | undefined;
}

// One answer of the fake Discord API: a status, a JSON body and headers.
type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

// The one path the fake serves, as Discord does: any other path is a 404.
const GATEWAY_BOT_PATH = '/api/v10/gateway/bot';

/**
 * A fake Discord API on 127.0.0.1 (a random port): answers the n-th request for
 * `GET /api/v10/gateway/bot` with `answers[n]` (the last answer repeats), any other path with 404,
 * and records every request. `api` is its versioned base, `root` the unversioned one (discord.js's
 * `rest.api` form). Closed after the test.
 */
async function fakeDiscord(...answers: Answer[]) {
  const requests: SeenRequest[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    requests.push({
      method: request.method,
      url: request.url,
      authorization: request.headers.authorization,
    });
    const served = requests.filter(({ url }) => url === GATEWAY_BOT_PATH).length;
    const answer: Answer =
      request.url === GATEWAY_BOT_PATH
        ? answers[Math.min(served, answers.length) - 1]!
        : { status: 404, body: { message: '404: Not Found', code: 0 } };
    response.writeHead(answer.status, {
      'content-type': 'application/json',
      ...answer.headers,
    });
    response.end(JSON.stringify(answer.body ?? { message: `HTTP ${answer.status}` }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as AddressInfo;
  const root = `http://127.0.0.1:${port}/api`;
  return { requests, api: `${root}/v10`, root };
}

// A port nothing listens on: bound once, then closed.
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('fetchGatewayBot', () => {
  it('asks GET {api}/gateway/bot with the bot token and returns the answer', async () => {
    const discord = await fakeDiscord({ status: 200, body: gatewayBot(12) });
    const info = await fetchGatewayBot({ api: discord.api, token: 'abc.def' });
    assert.deepEqual(info, gatewayBot(12));
    assert.deepEqual(discord.requests, [
      { method: 'GET', url: '/api/v10/gateway/bot', authorization: 'Bot abc.def' },
    ]);
  });

  it('does not double the "Bot " prefix of a token that already has it', async () => {
    const discord = await fakeDiscord({ status: 200, body: gatewayBot(1) });
    await fetchGatewayBot({ api: discord.api, token: 'Bot abc.def' });
    assert.equal(discord.requests[0]!.authorization, 'Bot abc.def');
  });

  it('fails with TokenInvalidError at once on 401, after one request', async () => {
    const discord = await fakeDiscord({ status: 401 });
    await assert.rejects(
      fetchGatewayBot({ api: discord.api, token: 'bad', attempts: 5, backoff: 1 }),
      (error: unknown) => {
        assert.ok(error instanceof TokenInvalidError);
        assert.equal(error.code, 'ERR_SHARDING_TOKEN_INVALID');
        assert.match(error.message, /401/);
        assert.ok(!error.message.includes('bad'), error.message);
        return true;
      },
    );
    assert.equal(discord.requests.length, 1);
  });

  it('retries 5xx answers and succeeds when the API recovers', async () => {
    const discord = await fakeDiscord(
      { status: 500 },
      { status: 500 },
      { status: 200, body: gatewayBot(3) },
    );
    const info = await fetchGatewayBot({ api: discord.api, token: 't', attempts: 5, backoff: 1 });
    assert.equal(info.shards, 3);
    assert.equal(discord.requests.length, 3);
  });

  it('gives up with GatewayUnavailableError after `attempts` 5xx answers', async () => {
    const discord = await fakeDiscord({ status: 500 });
    await assert.rejects(
      fetchGatewayBot({ api: discord.api, token: 'secret-token', attempts: 3, backoff: 1 }),
      (error: unknown) => {
        assert.ok(error instanceof GatewayUnavailableError);
        assert.equal(error.code, 'ERR_SHARDING_GATEWAY_UNAVAILABLE');
        assert.ok(error.message.includes(`${discord.api}/gateway/bot`), error.message);
        assert.match(error.message, /3 time\(s\)/);
        assert.match(error.message, /HTTP 500/);
        assert.ok(!error.message.includes('secret-token'), error.message);
        return true;
      },
    );
    assert.equal(discord.requests.length, 3);
  });

  it('retries a 429 answer after its retry-after', async () => {
    const discord = await fakeDiscord(
      { status: 429, headers: { 'retry-after': '0' }, body: { retry_after: 0, global: false } },
      { status: 200, body: gatewayBot(2) },
    );
    const info = await fetchGatewayBot({ api: discord.api, token: 't', attempts: 3, backoff: 1 });
    assert.equal(info.shards, 2);
    assert.equal(discord.requests.length, 2);
  });

  it('fails with GatewayUnavailableError when nothing listens', async () => {
    const port = await closedPort();
    await assert.rejects(
      fetchGatewayBot({
        api: `http://127.0.0.1:${port}/api/v10`,
        token: 't',
        attempts: 2,
        backoff: 1,
      }),
      (error: unknown) => {
        assert.ok(error instanceof GatewayUnavailableError);
        assert.match(error.message, /2 time\(s\)/);
        // The network error is kept as the cause.
        assert.ok(error.cause instanceof Error);
        return true;
      },
    );
  });

  it('fails with MissingTokenError, not a refusal, without any request when there is no token', async () => {
    const discord = await fakeDiscord({ status: 200, body: gatewayBot(1) });
    // No token at all, an empty one, and a bare "Bot " prefix are all no token.
    for (const token of [undefined, '', '  ', 'Bot ']) {
      await assert.rejects(fetchGatewayBot({ api: discord.api, token }), (error: unknown) => {
        assert.ok(error instanceof MissingTokenError, String(error));
        assert.equal(error.code, 'ERR_SHARDING_NO_TOKEN');
        assert.match(error.message, /No bot token was given/);
        assert.match(error.message, /token option/);
        assert.match(error.message, /DISCORD_TOKEN/);
        assert.ok(!/refused/i.test(error.message), error.message);
        return true;
      });
    }
    assert.equal(discord.requests.length, 0);
  });

  it("accepts discord.js's unversioned base URL (…/api) as well as …/api/v10", async () => {
    const discord = await fakeDiscord({ status: 200, body: gatewayBot(5) });
    for (const api of [discord.root, `${discord.root}/`, discord.api, `${discord.api}/`]) {
      const info = await fetchGatewayBot({ api, token: 't' });
      assert.equal(info.shards, 5, api);
    }
    assert.deepEqual(
      discord.requests.map(({ url }) => url),
      Array(4).fill(GATEWAY_BOT_PATH),
    );
  });

  it('says that the api option is wrong when its path answers 404', async () => {
    const discord = await fakeDiscord({ status: 200, body: gatewayBot(1) });
    const wrong = discord.root.replace(/\/api$/, '/discord');
    await assert.rejects(
      fetchGatewayBot({ api: wrong, token: 't', attempts: 3, backoff: 1 }),
      (error: unknown) => {
        assert.ok(error instanceof GatewayUnavailableError, String(error));
        assert.ok(error.message.includes(`${wrong}/gateway/bot`), error.message);
        assert.match(error.message, /HTTP 404/);
        assert.match(error.message, /api option must be the base URL of Discord's API/);
        assert.match(error.message, /'https:\/\/discord\.com\/api'/);
        return true;
      },
    );
    // A wrong path does not get better by asking again.
    assert.equal(discord.requests.length, 1);
  });

  it('does not retry another 4xx answer', async () => {
    const discord = await fakeDiscord({ status: 404 });
    await assert.rejects(
      fetchGatewayBot({ api: discord.api, token: 't', attempts: 4, backoff: 1 }),
      GatewayUnavailableError,
    );
    assert.equal(discord.requests.length, 1);
  });

  it('says how many attempts were really made when it stops early', async () => {
    const discord = await fakeDiscord({ status: 404 });
    await assert.rejects(
      fetchGatewayBot({ api: discord.api, token: 't', attempts: 4, backoff: 1 }),
      (error: unknown) => {
        assert.ok(error instanceof GatewayUnavailableError);
        assert.match(error.message, /failed 1 time\(s\)/);
        return true;
      },
    );
  });

  it('retries an answer without a valid shard count, then gives up', async () => {
    const discord = await fakeDiscord({ status: 200, body: { url: 'wss://x', shards: 0 } });
    await assert.rejects(
      fetchGatewayBot({ api: discord.api, token: 't', attempts: 2, backoff: 1 }),
      (error: unknown) => {
        assert.ok(error instanceof GatewayUnavailableError);
        assert.match(error.message, /no valid "shards"/);
        return true;
      },
    );
    assert.equal(discord.requests.length, 2);
  });
});

describe('a manager with totalShards: auto', () => {
  // Both forms of the api option: this library's versioned base and discord.js's `rest.api`.
  const apiForms = [
    ['…/api/v10', (discord: { api: string }) => discord.api],
    ["discord.js's …/api", (discord: { root: string }) => discord.root],
  ] as const;
  for (const [form, apiOf] of apiForms) {
    it(`spawns the shard count Discord recommends (api given as ${form})`, async () => {
      const discord = await fakeDiscord({ status: 200, body: gatewayBot(4) });
      const manager = await startFleet({
        totalShards: 'auto',
        token: 'test-token',
        api: apiOf(discord),
        shardsPerInstance: 2,
      });
      assert.equal(manager.totalShards, 4);
      assert.deepEqual(
        manager.status().map(({ instance, state, shards }) => ({ instance, state, shards })),
        [
          { instance: 0, state: 'ready', shards: [0, 1] },
          { instance: 1, state: 'ready', shards: [2, 3] },
        ],
      );
      // The instances were told the total from Discord's answer.
      const whoami = await manager.request<{ total: number }>(1, 'whoami');
      assert.equal(whoami.total, 4);
      assert.deepEqual(discord.requests, [
        { method: 'GET', url: GATEWAY_BOT_PATH, authorization: 'Bot test-token' },
      ]);
    });
  }

  it('rejects spawn() with MissingTokenError when no token is set, and asks nothing', async () => {
    withEnv('DISCORD_TOKEN', undefined);
    const discord = await fakeDiscord({ status: 200, body: gatewayBot(2) });
    const manager = await startFleet(
      { totalShards: 'auto', api: discord.api, spawnOnBootstrap: false },
      { waitReady: false },
    );
    await assert.rejects(manager.spawn(), MissingTokenError);
    assert.deepEqual(manager.instances, []);
    assert.equal(discord.requests.length, 0);
  });

  it('rejects spawn() with TokenInvalidError on 401 and spawns nothing', async () => {
    const discord = await fakeDiscord({ status: 401 });
    const manager = await startFleet(
      { totalShards: 'auto', token: 'test-token', api: discord.api, spawnOnBootstrap: false },
      { waitReady: false },
    );
    await assert.rejects(manager.spawn(), TokenInvalidError);
    assert.deepEqual(manager.instances, []);
    assert.deepEqual(manager.status(), []);
    assert.equal(manager.totalShards, undefined);
    assert.equal(discord.requests.length, 1);
  });

  it('stops asking Discord and spawns nothing when shut down during start-up', async () => {
    // A Discord that never answers: the start-up hangs on /gateway/bot until shutdown.
    const silent = createServer(() => {});
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    defer(async () => {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    });
    const { port } = silent.address() as AddressInfo;
    const manager = await startFleet(
      {
        totalShards: 'auto',
        token: 'test-token',
        api: `http://127.0.0.1:${port}/api/v10`,
        spawnOnBootstrap: false,
      },
      { waitReady: false },
    );
    const asked = once(silent, 'request');
    const spawning = manager.spawn();
    await asked;
    await manager.shutdown();
    await assert.rejects(spawning, ManagerShutDownError);
    assert.deepEqual(manager.instances, []);
  });

  it('rejects spawn() when the given shards exceed the count Discord recommends', async () => {
    // Out-of-range shards can only be found once Discord has answered.
    const discord = await fakeDiscord({ status: 200, body: gatewayBot(4) });
    const manager = await startFleet(
      {
        totalShards: 'auto',
        token: 'test-token',
        api: discord.api,
        shards: [3, 4],
        spawnOnBootstrap: false,
      },
      { waitReady: false },
    );
    await assert.rejects(manager.spawn(), (error: unknown) => {
      assert.ok(error instanceof InvalidShardingOptionError);
      assert.equal(error.option, 'shards');
      return true;
    });
    assert.deepEqual(manager.instances, []);
  });
});
