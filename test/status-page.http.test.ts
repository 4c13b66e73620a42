// The status page over plain HTTP, against a real fleet: /status.json, the event stream (a
// snapshot, coalesced updates, an instance killed and back), the option checks, and every refusal.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';
import { filter, firstValueFrom, Subject, timeout } from 'rxjs';
import {
  InvalidShardingOptionError,
  ShardingModule,
  StatusPageListenError,
  type ClusterHost,
  type InstanceHeartbeat,
  type InstanceStatus,
  type ShardingManager,
  type StatusPageSnapshot,
} from '../src/index.js';
import { resolveShardingOptions } from '../src/options/resolve-options.js';
import { STATUS_PAGE_DEFAULTS } from '../src/status-page/status-page.constants.js';
import { StatusPageState } from '../src/status-page/status-page.state.js';
import { cleanUp, defer } from './support/cleanup.js';
import { fixturePath } from './support/processes.js';
import { EventStreamReader, send, startPagedFleet } from './support/status-page.js';

afterEach(cleanUp);

const TOKEN = 'a-status-page-token-for-tests';

const resolveWithPage = (statusPage: unknown) =>
  resolveShardingOptions({ file: 'x.js', statusPage } as never);

describe('the statusPage option', () => {
  it('needs a token off loopback, and a port', () => {
    assert.throws(
      () => resolveWithPage({ port: 8080, host: '0.0.0.0' }),
      (error: InvalidShardingOptionError) =>
        error instanceof InvalidShardingOptionError &&
        error.code === 'ERR_SHARDING_INVALID_OPTION' &&
        error.option === 'statusPage.token' &&
        /not a loopback address/.test(error.message),
    );
    assert.throws(() => resolveWithPage({ host: '127.0.0.1' }), /"statusPage.port" is undefined/);
    assert.throws(() => resolveWithPage({ port: 70_000 }), /statusPage.port/);
    assert.throws(() => resolveWithPage({ port: 1, token: 'short' }), /at least 16 characters/);
    assert.throws(
      () => resolveWithPage({ port: 1, tokn: TOKEN }),
      /did you mean "statusPage.token"/,
    );
    // The token never shows in an error.
    assert.throws(
      () => resolveWithPage({ port: 1, token: 'short-secret' }),
      (error: Error) => !error.message.includes('short-secret'),
    );
  });

  it('takes loopback hosts without a token, any host with one', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.1.2.3']) {
      assert.equal(resolveWithPage({ port: 0, host }).statusPage?.host, host);
    }
    assert.equal(
      resolveWithPage({ port: 0, host: '0.0.0.0', token: TOKEN }).statusPage?.token,
      TOKEN,
    );
    assert.equal(resolveShardingOptions({ file: 'x.js' }).statusPage, undefined);
  });
});

it('fails the start-up with StatusPageListenError when its port is taken', async () => {
  const blocker = createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  defer(() => new Promise((done) => blocker.close(done)));
  const port = (blocker.address() as { port: number }).port;
  @Module({
    imports: [
      ShardingModule.forRoot({
        file: fixturePath('sharding-app.fixture'),
        spawnOnBootstrap: false,
        statusPage: { port },
      }),
    ],
  })
  class TakenPortModule {}
  const app = await NestFactory.createApplicationContext(TakenPortModule, {
    logger: false,
    abortOnError: false,
  }).catch((error: unknown) => error);
  if (!(app instanceof Error)) defer(() => (app as { close(): Promise<void> }).close());
  assert.ok(app instanceof StatusPageListenError, String(app));
  assert.equal(app.code, 'ERR_SHARDING_STATUS_PAGE_LISTEN');
  assert.match(app.message, /EADDRINUSE/);
});

// Updates are coalesced: the dead generation's states may come as one, or as the next one's.
const instanceIn =
  (state: (s: string) => boolean, generation: number) => (event: { event: string; data: string }) =>
    event.event === 'update' &&
    (JSON.parse(event.data) as StatusPageSnapshot).instances.some(
      (instance) =>
        instance.instance === 1 && state(instance.state) && instance.generation >= generation,
    );

/** Whether an instance's last heartbeat reported its two shards ready. */
const reportedReady = (instance: InstanceStatus | undefined) =>
  instance?.lastHeartbeat?.shards?.length === 2 &&
  instance.lastHeartbeat.shards.every((shard) => shard.state === 'ready');

/** Instance 1 in an update event. */
const victimIn = (event: { data: string }) =>
  (JSON.parse(event.data) as StatusPageSnapshot).instances.find(
    (instance) => instance.instance === 1,
  )!;

describe('a fleet with its status page', () => {
  it('serves /status.json and streams the fleet: an instance killed leaves ready and comes back', async () => {
    // A restart within one update interval would show only as a new generation: a backoff above
    // it keeps the instance out of ready long enough to be seen leaving.
    // Instances report their shards (ready, ping 5 ms) with each heartbeat.
    const { manager, url } = await startPagedFleet(
      { port: 0 },
      { restart: { initialDelay: 1_500, maxDelay: 3_000 }, env: { FIXTURE_REPORT_SHARDS: '1' } },
    );
    const json = await send(new URL('status.json', url).href);
    assert.equal(json.status, 200);
    assert.match(String(json.headers['content-type']), /application\/json/);
    const status = JSON.parse(json.body) as StatusPageSnapshot;
    assert.equal(status.managerId, manager.id);
    assert.equal(status.actions, false);
    assert.deepEqual(
      status.instances.map((instance) => [
        instance.instance,
        instance.state,
        instance.shards.map((shard) => shard.id),
      ]),
      [
        [0, 'ready', [0, 1]],
        [1, 'ready', [2, 3]],
      ],
    );
    assert.ok(status.instances.every((instance) => typeof instance.pid === 'number'));

    const stream = await EventStreamReader.open(url);
    assert.equal(stream.status, 200);
    await stream.next((event) => event.event === 'snapshot', 10_000);
    // Heartbeats (every 500 ms here) bring round trips, memory and the shards' reports.
    await stream.next(
      (event) =>
        event.event === 'update' &&
        (JSON.parse(event.data) as StatusPageSnapshot).instances.some(
          (instance) =>
            instance.roundTrips.length > 0 &&
            instance.rss !== undefined &&
            instance.shards.every((shard) => shard.state === 'ready' && shard.ping === 5),
        ),
      10_000,
    );
    // The victim's own shards are reported ready before it dies (its first beat may have none).
    if (!reportedReady(manager.status()[1])) {
      await firstValueFrom(
        manager.heartbeat$.pipe(
          filter(() => reportedReady(manager.status()[1])),
          timeout(10_000),
        ),
      );
    }

    const victim = manager.status()[1]!;
    process.kill(victim.pid!, 'SIGKILL');
    const left = await stream.next(
      instanceIn((state) => state !== 'ready', 1),
      20_000,
    );
    // Its shards leave `ready` with it: the dead generation's last reports are not shown.
    const down = victimIn(left.event);
    assert.deepEqual(
      down.shards.map((shard) => [shard.id, shard.state, shard.ping]),
      victim.shards.map((id) => [id, undefined, undefined]),
      `instance 1 ${down.state}`,
    );
    const back = await stream.next(
      instanceIn((state) => state === 'ready', 2),
      30_000,
      left.index,
    );
    assert.ok(back.index > left.index);
    // The new generation's heartbeats bring its shards back.
    await stream.next(
      (event) =>
        event.event === 'update' &&
        (JSON.parse(event.data) as StatusPageSnapshot).instances.some(
          (instance) =>
            instance.instance === 1 &&
            instance.generation === 2 &&
            instance.shards.every((shard) => shard.state === 'ready'),
        ),
      10_000,
      back.index,
    );
    const failures = stream.updates().flatMap((update) => update.failures);
    assert.ok(
      failures.some((failure) => failure.instance === 1 && failure.signal === 'SIGKILL'),
      JSON.stringify(failures),
    );
    // Updates are coalesced: never two within the update interval (the manager's own clock).
    const times = stream.updates().map((update) => update.at);
    for (let i = 1; i < times.length; i++)
      assert.ok(times[i]! - times[i - 1]! >= 490, String(times));
  });

  it('refuses what it must', async () => {
    const { manager, url } = await startPagedFleet({ port: 0, token: TOKEN });
    const page = (path: string) => new URL(path, url).href;
    const bearer = { authorization: `Bearer ${TOKEN}` };

    // Reading needs the token.
    const none = await send(page('status.json'));
    assert.equal(none.status, 401);
    assert.equal(
      (
        await send(page('status.json'), {
          headers: { authorization: 'Bearer wrong-token-of-some-length' },
        })
      ).status,
      401,
    );
    assert.equal((await send(page('?token=wrong'))).status, 401);
    assert.equal((await send(page('status.json'), { headers: bearer })).status, 200);
    const stream = await EventStreamReader.open(url);
    assert.equal(stream.status, 401);

    // ?token= once: a cookie the script cannot read, and the token dropped from the URL.
    const login = await send(page(`?token=${TOKEN}`));
    assert.equal(login.status, 303);
    assert.equal(login.headers.location, '/');
    const cookie = String(login.headers['set-cookie']);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    // The cookie keeps a read key, never the token: another service on the same host name
    // receives cookies of every port, and must not learn what runs actions.
    assert.ok(!cookie.includes(TOKEN), 'the cookie does not carry the token');
    const withCookie = { cookie: cookie.split(';')[0]! };
    const otherPort = { cookie: withCookie.cookie.replace(/^(\w+?)_\d+=/, '$1_1=') };
    assert.equal((await send(page('status.json'), { headers: otherPort })).status, 401);
    const html = await send(page(''), { headers: withCookie });
    assert.equal(html.status, 200);
    assert.match(String(html.headers['content-security-policy']), /default-src 'none'/);
    assert.match(String(html.headers['content-security-policy']), /script-src 'sha256-/);
    assert.equal(html.headers['x-content-type-options'], 'nosniff');
    assert.equal(html.headers['cache-control'], 'no-store');
    assert.equal(html.headers['access-control-allow-origin'], undefined);

    // Actions: POST only, the token in a header (a cookie is not enough), same origin only.
    const restart = page('actions/restart/0');
    assert.equal((await send(restart, { headers: { ...withCookie, ...bearer } })).status, 405);
    assert.equal((await send(restart, { method: 'POST', headers: withCookie })).status, 401);
    assert.equal(
      (
        await send(restart, {
          method: 'POST',
          headers: { ...bearer, origin: 'https://evil.example' },
        })
      ).status,
      403,
    );
    assert.equal(
      (
        await send(restart, {
          method: 'POST',
          headers: { ...bearer, 'sec-fetch-site': 'cross-site' },
        })
      ).status,
      403,
    );
    assert.equal(
      (await send(restart, { method: 'POST', headers: bearer, body: Buffer.alloc(64 * 1024) }))
        .status,
      413,
    );
    assert.equal(
      (await send(page('actions/restart/9'), { method: 'POST', headers: bearer })).status,
      404,
    );
    assert.equal((await send(page('nothing-here'), { headers: bearer })).status, 404);
    assert.equal(manager.status()[0]!.generation, 1, 'no refused action ran');

    // The page's own request: same origin, token in the header.
    const host = new URL(url).host;
    const restarted = firstValueFrom(
      manager.status$.pipe(
        filter(
          (change) => change.instance === 0 && change.to === 'ready' && change.generation === 2,
        ),
        timeout(30_000),
      ),
    );
    const accepted = await send(restart, {
      method: 'POST',
      headers: { ...bearer, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(accepted.status, 202, accepted.body);
    await restarted;
  });

  it('without a token: read-only, and only for requests addressed to this machine', async () => {
    const { url } = await startPagedFleet();
    const page = (path: string) => new URL(path, url).href;
    const action = await send(page('actions/rolling-restart'), { method: 'POST' });
    assert.equal(action.status, 403);
    assert.match(action.body, /statusPage\.token/);
    // A hostile name pointed at 127.0.0.1 (DNS rebinding) is not this machine.
    const rebound = await send(page('status.json'), { headers: { host: 'evil.example' } });
    assert.equal(rebound.status, 403);
    assert.equal((await send(page('status.json'), { headers: { host: 'localhost' } })).status, 200);

    // Streams are bounded; a closed one frees its place.
    const streams = await Promise.all(
      Array.from({ length: STATUS_PAGE_DEFAULTS.maxEventClients }, () =>
        EventStreamReader.open(url),
      ),
    );
    assert.ok(streams.every((stream) => stream.status === 200));
    const refused = await EventStreamReader.open(url);
    assert.equal(refused.status, 503);
    streams[0]!.close();
    // The server sees the close on its own socket, in its own time: ask until it has.
    const end = Date.now() + 10_000;
    let again = await EventStreamReader.open(url);
    while (again.status === 503 && Date.now() < end) {
      again.close();
      again = await EventStreamReader.open(url);
    }
    await again.next((event) => event.event === 'snapshot', 10_000);
  });
});

it('the page state reports shards from heartbeats: events per second in proportion', () => {
  const heartbeats = new Subject<InstanceHeartbeat>();
  const hostChanges = new Subject<ClusterHost[]>();
  let hosts: ClusterHost[] = [];
  let status: InstanceStatus = {
    instance: 0,
    state: 'ready',
    generation: 1,
    shards: [0, 1],
    restarts: 0,
  };
  const manager = {
    id: '1',
    totalShards: 2,
    heartbeat$: heartbeats,
    status$: new Subject(),
    restart$: new Subject(),
    identify$: new Subject(),
    hosts$: hostChanges,
    hosts: () => hosts,
    status: () => [status],
    identifyProgress: () => ({ granted: 1, waiting: 5, maxConcurrency: 2, window: 5_000 }),
  };
  const state = new StatusPageState(
    manager as unknown as ShardingManager,
    resolveShardingOptions({ file: 'x.js', statusPage: { port: 0 } }),
  );
  state.onModuleInit();
  defer(() => state.onApplicationShutdown());
  const beat: InstanceHeartbeat = {
    instance: 0,
    seq: 2,
    roundTrip: 1.5,
    shards: [
      { id: 0, state: 'ready', ping: 42, guilds: 10, events: 100 },
      { id: 1, state: 'resuming', events: 50 },
    ],
  };
  heartbeats.next(beat);
  status = { ...status, lastHeartbeat: { ...beat, at: Date.now() } };
  const [view] = state.snapshot().instances;
  assert.deepEqual(
    view!.shards.map((shard) => [shard.id, shard.state, shard.ping, shard.guilds]),
    [
      [0, 'ready', 42, 10],
      [1, 'resuming', undefined, undefined],
    ],
  );
  const [zero, one] = view!.shards.map((shard) => shard.eventsPerSecond!);
  assert.ok(one! > 0 && zero === one! * 2, `${zero} and ${one}`);
  assert.deepEqual(state.snapshot().identify, {
    granted: 1,
    waiting: 5,
    maxConcurrency: 2,
    window: 5_000,
    timeLeft: 15_000,
  });
  // Updates carry only what changed.
  assert.equal(state.takeUpdate()!.instances.length, 1);
  assert.equal(state.takeUpdate(), undefined);
  // Hosts only with coordination: none at first, then the cluster's when they change.
  assert.equal('hosts' in state.snapshot(), false);
  hosts = [{ hostId: 'a', self: true, blocks: [0], shards: [0, 1], requested: [] }];
  hostChanges.next(hosts);
  assert.deepEqual(state.takeUpdate()!.hosts, hosts);
  assert.equal(state.snapshot().hostId, 'a');
});
