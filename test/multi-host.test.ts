// Several hosts running one fleet through Redis: host managers, each a separate process with its
// own shards, against one gateway emulator with max_concurrency 1. The cluster's gate paces
// every IDENTIFY of every host (none refused with op 9, one per window, the daily budget counted
// once for all), and a host's shards RESUME on another host from the sessions kept in Redis.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { ClusterHost } from '../src/index.js';
import type { GatewayEmulator } from '../src/testing/index.js';
import { cleanUp, defer } from './support/cleanup.js';
import { forkFixture, killAndWait, nextMessage } from './support/processes.js';
import {
  HOST_FLEET_BUDGET,
  HOST_FLEET_WINDOW,
  hostFixtureEnv,
  startHostFleetEmulator,
} from './support/host-fleet.js';
import { startRedis } from './support/redis-server.js';
import { startSocketProxy } from './support/socket-proxy.js';

afterEach(cleanUp);

const WINDOW = HOST_FLEET_WINDOW;
const BUDGET = HOST_FLEET_BUDGET;
const HOSTS = [
  [0, 1],
  [2, 3],
  [4, 5],
];

/** Starts the emulator for a fleet of `shards` shards, closed after the test. */
async function startEmulator(shards: number): Promise<GatewayEmulator> {
  const emulator = await startHostFleetEmulator(shards);
  defer(() => emulator.close());
  return emulator;
}

/** Forks a host manager (arguments: {@link hostFixtureEnv}'s). */
function startHost(...args: Parameters<typeof hostFixtureEnv>): ChildProcess {
  return forkFixture('host-manager.fixture', hostFixtureEnv(...args));
}

/** Each host's blocks, joined: `{ 'host-a': '0,1' }`. */
function layout(hosts: ClusterHost[]): Record<string, string> {
  return Object.fromEntries(hosts.map((host) => [host.hostId, host.blocks.join()]));
}

/** Resolves once each of `shards` was RESUMEd, recording each RESUME accepted in `order`. */
function allResumed(emulator: GatewayEmulator, shards: number[], order: string[]): Promise<void> {
  const left = new Set(shards);
  return new Promise((resolve) => {
    emulator.on('resume', (record) => {
      if (!record.accepted || record.shardId === undefined) return;
      order.push(`resumed ${record.shardId}`);
      left.delete(record.shardId);
      if (left.size === 0) resolve();
    });
  });
}

/** A client of the test's Redis, closed after the test. */
function redisClient(socket: string): Redis {
  const client = new Redis({ path: socket });
  defer(() => client.disconnect());
  return client;
}

/**
 * Waits until Redis holds `count` sessions of `cluster`: they reach it a turn after they reach
 * their manager, in another process, so there is nothing to await but Redis itself.
 */
async function sessionsInRedis(client: Redis, cluster: string, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await client.hlen(`nestjs-sharding:{${cluster}}:sessions`)) < count) {
    assert.ok(Date.now() < deadline, 'the sessions never reached Redis');
    await delay(20);
  }
}

describe('several hosts, one cluster', () => {
  it('paces IDENTIFY across hosts: no op 9, one per window per bucket, one shared budget', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const emulator = await startEmulator(6);
    const hosts = HOSTS.map((shards, index) =>
      startHost(emulator, redis.socket, 'identify-test', `host-${index}`, shards),
    );
    const ready = await Promise.all(hosts.map((host) => nextMessage(host, 'ready')));
    assert.deepEqual(
      ready.map((message) => message.shards),
      HOSTS,
    );

    assert.equal(emulator.counters.invalidSessions, 0, 'an IDENTIFY was refused with op 9');
    const times = emulator.identifies.map((identify) => identify.at).toSorted((a, b) => a - b);
    assert.equal(times.length, 6, 'one IDENTIFY per shard');
    for (let i = 1; i < times.length; i++) {
      assert.ok(times[i]! - times[i - 1]! >= WINDOW, `IDENTIFYs ${i - 1} and ${i} in one window`);
    }

    // The budget, seeded from /gateway/bot by the first host to ask, counted down once per
    // IDENTIFY of any host.
    const client = redisClient(redis.socket);
    assert.equal(await client.get('nestjs-sharding:{identify-test}:budget'), String(BUDGET - 6));
    const sessions = await client.hkeys('nestjs-sharding:{identify-test}:sessions');
    assert.deepEqual(sessions.map(Number).toSorted(), [0, 1, 2, 3, 4, 5]);
  });

  it("RESUMEs a dead host's shards on another host, from the sessions in Redis", async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const emulator = await startEmulator(2);
    // A short lease: the second host holds the blocks once the first one's leases ran out.
    const extra = { LEASE_TTL: '3000' };
    const first = startHost(emulator, redis.socket, 'resume-test', 'host-a', [0, 1], extra);
    const { pids } = await nextMessage<{ type: string; pids: number[] }>(first, 'ready');
    await sessionsInRedis(redisClient(redis.socket), 'resume-test', 2);

    // The host dies at once, its instance too: no close frame, so Discord keeps the sessions.
    first.kill('SIGSTOP');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await killAndWait(first);

    const second = startHost(emulator, redis.socket, 'resume-test', 'host-b', [0, 1], extra);
    await nextMessage(second, 'ready');
    assert.equal(emulator.counters.identified, 2, 'the second host IDENTIFYed');
    assert.equal(emulator.counters.resumed, 2);
  });

  it("takes a SIGKILLed host's shards over on another host after its lease, by RESUME", async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const emulator = await startEmulator(4);
    // Two spares on the survivor: one per block it takes over (max_concurrency 1: a shard each).
    const extra = { SPARES: '2', LEASE_TTL: '3000' };
    const doomed = startHost(emulator, redis.socket, 'failover-test', 'host-a', [0, 1], extra);
    const { pids } = await nextMessage<{ type: string; pids: number[] }>(doomed, 'ready');
    const survivor = startHost(emulator, redis.socket, 'failover-test', 'host-b', [2, 3], extra);
    await nextMessage(survivor, 'ready');
    const client = redisClient(redis.socket);
    await sessionsInRedis(client, 'failover-test', 4);
    const identified = emulator.counters.identified;

    // Back online: RESUMEd, or READY after an IDENTIFY (which the assertions below refuse).
    const back = new Map<number, string>();
    const bothBack = new Promise<void>((resolve) => {
      const seen = (shardId: number | undefined, how: string) => {
        if (shardId !== 0 && shardId !== 1) return;
        back.set(shardId, how);
        if (back.size === 2) resolve();
      };
      emulator.on('resume', (record) => {
        if (record.accepted) seen(record.shardId, 'resumed');
      });
      emulator.on('ready', (record) => seen(record.shardId, 'identified'));
    });
    // The whole host dies at once: no close frame, so Discord keeps its sessions.
    doomed.kill('SIGSTOP');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await killAndWait(doomed);
    await bothBack;
    assert.deepEqual(Object.fromEntries(back), { 0: 'resumed', 1: 'resumed' });
    assert.equal(emulator.counters.identified, identified, 'a shard IDENTIFYed again');
    assert.equal(emulator.counters.invalidSessions, 0);
  });

  it('keeps every shard running through a Redis restart, and takes the leases again', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const emulator = await startEmulator(4);
    const extra = { LEASE_TTL: '6000' };
    const hosts = [
      startHost(emulator, redis.socket, 'restart-test', 'host-a', [0, 1], extra),
      startHost(emulator, redis.socket, 'restart-test', 'host-b', [2, 3], extra),
    ];
    await Promise.all(hosts.map((host) => nextMessage(host, 'ready')));
    const before = emulator.counters;
    const client = redisClient(redis.socket);
    const holders = async () =>
      Promise.all(
        [0, 1, 2, 3].map((block) =>
          client.hget(`nestjs-sharding:{restart-test}:lease:${block}`, 'host'),
        ),
      );
    assert.deepEqual(await holders(), ['host-a', 'host-a', 'host-b', 'host-b']);

    // Redis forgets everything; the hosts hold on to their shards and write their leases again.
    await redis.kill();
    await redis.restart();
    emulator.startEventStream({ interval: 20 });
    const deadline = Date.now() + 20_000;
    while (
      (await holders().catch(() => [])).join() !== 'host-a,host-a,host-b,host-b' ||
      (await client.hlen('nestjs-sharding:{restart-test}:sessions').catch(() => 0)) < 4
    ) {
      assert.ok(Date.now() < deadline, 'the leases or sessions never came back');
      await delay(50);
    }
    emulator.stopEventStream();
    const after = emulator.counters;
    assert.equal(after.identified, before.identified, 'a shard IDENTIFYed again');
    assert.equal(after.resumed, before.resumed, 'a shard was stopped and RESUMEd');
  });

  it('a host cut off from Redis stops its shards before another host RESUMEs them', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const proxy = await startSocketProxy(redis.socket);
    const emulator = await startEmulator(4);
    const ttl = { LEASE_TTL: '3000' };
    const cutOff = startHost(emulator, proxy.path, 'partition-test', 'host-a', [0, 1], ttl);
    await nextMessage(cutOff, 'ready');
    const survivor = startHost(emulator, redis.socket, 'partition-test', 'host-b', [2, 3], {
      ...ttl,
      SPARES: '2',
    });
    await nextMessage(survivor, 'ready');
    const client = redisClient(redis.socket);
    await sessionsInRedis(client, 'partition-test', 4);
    const before = emulator.counters;

    const order: string[] = [];
    emulator.on('close', (record) => {
      if (record.shardId === 0 || record.shardId === 1) order.push(`closed ${record.shardId}`);
    });
    const bothResumed = allResumed(emulator, [0, 1], order);
    proxy.cut();
    await bothResumed;
    const after = emulator.counters;
    assert.equal(after.takeovers, before.takeovers, 'a RESUME took a session still live elsewhere');
    assert.equal(after.identified, before.identified, 'a shard IDENTIFYed again');
    for (const shard of [0, 1]) {
      assert.ok(
        order.indexOf(`closed ${shard}`) !== -1 &&
          order.indexOf(`closed ${shard}`) < order.indexOf(`resumed ${shard}`),
        `shard ${shard}: ${order.join(', ')}`,
      );
    }
  });

  it('a paused host: its instances close their shards resumably before another host RESUMEs them, and once resumed it is fenced', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const emulator = await startEmulator(4);
    // Heartbeats as slow as the lease is short: an instance that only noticed its manager's
    // silence by missing heartbeats would keep its connections past the lease.
    const extra = { LEASE_TTL: '3000', HEARTBEAT_INTERVAL: '2000' };
    const paused = startHost(emulator, redis.socket, 'pause-test', 'host-a', [0, 1], extra);
    await nextMessage(paused, 'ready');
    const survivor = startHost(emulator, redis.socket, 'pause-test', 'host-b', [2, 3], {
      ...extra,
      SPARES: '2',
    });
    await nextMessage(survivor, 'ready');
    await sessionsInRedis(redisClient(redis.socket), 'pause-test', 4);
    const before = emulator.counters;

    const order: string[] = [];
    emulator.on('close', (record) => {
      if (record.shardId === 0 || record.shardId === 1) {
        order.push(`closed ${record.shardId} (${record.code})`);
      }
    });
    emulator.on('identify', (record) => {
      if (record.shardId === 0 || record.shardId === 1) order.push(`identified ${record.shardId}`);
    });
    const resumed = new Set<number>();
    const bothResumed = new Promise<void>((resolve) => {
      emulator.on('resume', (record) => {
        if (record.shardId !== 0 && record.shardId !== 1) return;
        order.push(`${record.accepted ? 'resumed' : 'refused'} ${record.shardId}`);
        if (record.accepted) resumed.add(record.shardId);
        if (resumed.size === 2) resolve();
      });
    });
    // Only the manager stops: its instances run on, connected to the gateway.
    paused.kill('SIGSTOP');
    await bothResumed;
    const taken = emulator.counters;
    assert.equal(
      taken.takeovers,
      before.takeovers,
      `a RESUME took a live session: ${order.join(', ')}`,
    );
    assert.equal(
      taken.identified,
      before.identified,
      `a shard IDENTIFYed again: ${order.join(', ')}`,
    );
    for (const shard of [0, 1]) {
      const closed = order.findIndex((entry) => entry.startsWith(`closed ${shard} `));
      assert.ok(closed !== -1 && closed < order.indexOf(`resumed ${shard}`), order.join(', '));
      assert.ok(!order[closed]!.includes('(1000)'), `shard ${shard} closed with 1000`);
    }

    // Woken up, the host gives the blocks up (its leases ran out) and runs neither shard again.
    const afterTakeover = order.length;
    paused.kill('SIGCONT');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const reply = nextMessage<{
        type: string;
        instances: Array<{ state: string; shards: number[] }>;
      }>(paused, 'status');
      paused.send({ type: 'status' });
      const { instances } = await reply;
      const settled =
        instances.every((instance) => instance.state === 'ready') &&
        instances.every((instance) => !instance.shards.some((shard) => shard < 2));
      if (settled) break;
      assert.ok(Date.now() < deadline, `host-a never settled: ${JSON.stringify(instances)}`);
      await delay(100);
    }
    const client = redisClient(redis.socket);
    const holders = await Promise.all(
      [0, 1].map((block) => client.hget(`nestjs-sharding:{pause-test}:lease:${block}`, 'host')),
    );
    assert.deepEqual(holders, ['host-b', 'host-b']);
    assert.deepEqual(order.slice(afterTakeover), [], 'host-a ran shard 0 or 1 again');
    assert.equal(emulator.counters.takeovers, before.takeovers);
  });

  it('a host paused for less than its lease: its instances let go, then RESUME when it is back', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const emulator = await startEmulator(2);
    // Alone, with spares: whether it still holds its leases on waking or has to take them again,
    // its shards come back on this host.
    // Heartbeats every 1 s (capped at a sixth of the TTL): the instances let go after 2 s without
    // an acknowledgement, before they would count the manager lost (3 s).
    const host = startHost(emulator, redis.socket, 'stall-test', 'host-a', [0, 1], {
      LEASE_TTL: '6000',
      HEARTBEAT_INTERVAL: '2000',
      SPARES: '1',
    });
    await nextMessage(host, 'ready');
    await sessionsInRedis(redisClient(redis.socket), 'stall-test', 2);
    const before = emulator.counters;
    const order: string[] = [];
    const closed = new Set<number>();
    const bothClosed = new Promise<void>((resolve) => {
      emulator.on('close', (record) => {
        if (record.shardId === undefined) return;
        order.push(`closed ${record.shardId} (${record.code})`);
        closed.add(record.shardId);
        if (closed.size === 2) resolve();
      });
    });
    const bothResumed = allResumed(emulator, [0, 1], order);

    host.kill('SIGSTOP');
    // Its instances let the shards go by themselves, the manager still stopped.
    await bothClosed;
    host.kill('SIGCONT');
    await bothResumed;
    const after = emulator.counters;
    assert.equal(after.identified, before.identified, `a shard IDENTIFYed: ${order.join(', ')}`);
    assert.equal(after.takeovers, before.takeovers, order.join(', '));
    assert.ok(!order.some((entry) => entry.endsWith('(1000)')), order.join(', '));
  });

  it('shows the hosts and their blocks: hosts(), hosts$, status() and the status page', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const emulator = await startEmulator(4);
    const ttl = { LEASE_TTL: '3000' };
    type Hosts = { type: string; hosts: ClusterHost[] };
    const watcher = startHost(emulator, redis.socket, 'hosts-test', 'host-a', [0, 1], {
      ...ttl,
      SPARES: '2',
      STATUS_PAGE: '1',
    });
    const both = nextMessage<Hosts>(
      watcher,
      'hosts',
      ({ hosts }) => layout(hosts)['host-b'] === '2,3',
    );
    const { statusUrl } = await nextMessage<{ type: string; statusUrl: string }>(watcher, 'ready');
    const doomed = startHost(emulator, redis.socket, 'hosts-test', 'host-b', [2, 3], ttl);
    const { pids } = await nextMessage<{ type: string; pids: number[] }>(doomed, 'ready');
    const { hosts } = await both;
    assert.deepEqual(hosts, [
      { hostId: 'host-a', self: true, blocks: [0, 1], shards: [0, 1], requested: [] },
      { hostId: 'host-b', self: false, blocks: [2, 3], shards: [2, 3], requested: [] },
    ]);

    const statusReply = nextMessage<{
      type: string;
      instances: Array<{ hostId?: string }>;
      hosts: ClusterHost[];
    }>(watcher, 'status');
    watcher.send({ type: 'status' });
    const status = await statusReply;
    assert.deepEqual(status.hosts, hosts);
    assert.ok(status.instances.length > 0);
    assert.ok(status.instances.every((instance) => instance.hostId === 'host-a'));
    const page = (await (await fetch(new URL('/status.json', statusUrl))).json()) as {
      hostId?: string;
      hosts?: ClusterHost[];
    };
    assert.equal(page.hostId, 'host-a');
    assert.deepEqual(page.hosts, hosts);

    // host-b dies: once its leases ran out, host-a's spares run its blocks, and the view says so.
    const alone = nextMessage<Hosts>(
      watcher,
      'hosts',
      ({ hosts: list }) => list.length === 1 && layout(list)['host-a'] === '0,1,2,3',
    );
    doomed.kill('SIGSTOP');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await killAndWait(doomed);
    await alone;
    const after = (await (await fetch(new URL('/status.json', statusUrl))).json()) as {
      hosts?: ClusterHost[];
    };
    assert.deepEqual(
      after.hosts?.map((host) => host.hostId),
      ['host-a'],
    );
  });

  it('addresses instances on every host: request by shard or guild, broadcast, and settles at once when the host is gone or fenced', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const emulator = await startEmulator(6);
    const ttl = { LEASE_TTL: '3000' };
    const asker = startHost(emulator, redis.socket, 'messaging-test', 'host-a', [0, 1], {
      ...ttl,
      SPARES: '2',
    });
    await nextMessage(asker, 'ready');
    const others = [
      startHost(emulator, redis.socket, 'messaging-test', 'host-b', [2, 3], ttl),
      startHost(emulator, redis.socket, 'messaging-test', 'host-c', [4, 5], ttl),
    ];
    const [b] = await Promise.all(
      others.map((host) => nextMessage<{ type: string; pids: number[] }>(host, 'ready')),
    );
    type Asked = { type: string; value?: unknown; error?: { name: string; code?: string } };
    const ask = async (command: Record<string, unknown>) => {
      const reply = nextMessage<Asked>(asker, 'asked');
      asker.send({ type: 'ask', timeout: 60_000, ...command });
      return reply;
    };

    // A request goes to the instance that runs the shard, on its host.
    assert.deepEqual((await ask({ shard: 3 })).value, [2, 3]);
    assert.deepEqual((await ask({ shard: 4 })).value, [4, 5]);
    assert.deepEqual((await ask({ shard: 1 })).value, [0, 1]);
    // Guild 1 << 22 is on shard 1 of 6: host-a's.
    assert.deepEqual((await ask({ guild: String(1n << 22n) })).value, {
      hostId: 'host-a',
      shard: 1,
      epoch: 1,
    });
    // A broadcast reaches every instance of every host (spares answer too, with no shards).
    const all = (await ask({})).value as Array<{ hostId: string; status: string; value: number[] }>;
    assert.ok(
      all.every((result) => result.status === 'fulfilled'),
      JSON.stringify(all),
    );
    assert.deepEqual(
      all.flatMap((result) => result.value.map((shard) => `${result.hostId}:${shard}`)).toSorted(),
      ['host-a:0', 'host-a:1', 'host-b:2', 'host-b:3', 'host-c:4', 'host-c:5'],
    );

    // host-b dies: its lease still names it, but nobody listens: settled at once, not timed out.
    others[0]!.kill('SIGSTOP');
    for (const pid of b!.pids) process.kill(pid, 'SIGKILL');
    await killAndWait(others[0]!);
    assert.equal((await ask({ shard: 2 })).error?.code, 'ERR_SHARDING_CLUSTER_TARGET_GONE');

    // host-c is paused: the request waits in its inbox; once its leases ran out, it is gone from
    // the cluster's view and the request settles at once (well before its 60 s timeout).
    const paused = others[1]!;
    paused.kill('SIGSTOP');
    const waiting = ask({ shard: 5 });
    const outcome = await waiting;
    assert.equal(outcome.error?.code, 'ERR_SHARDING_CLUSTER_TARGET_GONE', JSON.stringify(outcome));
    // Its instances have let their shards go and exited; it goes too, before it could restart them.
    await killAndWait(paused);
  });

  it('hands blocks over to a host that joins, by RESUME, the giver letting go first', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const emulator = await startEmulator(4);
    const ttl = { LEASE_TTL: '3000' };
    // One shard per instance: an instance that lets its shard go runs nothing, so every RESUME
    // after the join is the joiner's.
    const first = startHost(emulator, redis.socket, 'join-test', 'host-a', [0, 1, 2, 3], {
      ...ttl,
      SHARDS_PER_INSTANCE: '1',
    });
    await nextMessage(first, 'ready');
    await sessionsInRedis(redisClient(redis.socket), 'join-test', 4);
    const before = emulator.counters;
    emulator.startEventStream({ interval: 20 });

    const resumed: number[] = [];
    emulator.on('resume', (record) => {
      if (record.accepted && record.shardId !== undefined) resumed.push(record.shardId);
    });
    // It runs no shards of its own: only what its spares are handed, up to its share (2 of 4).
    const joiner = startHost(emulator, redis.socket, 'join-test', 'host-b', [], {
      ...ttl,
      SPARES: '2',
    });
    await nextMessage(joiner, 'ready');
    // Another process's doing: nothing to await but Redis and the emulator's records.
    const client = redisClient(redis.socket);
    const moved = async () => {
      const holders = await Promise.all(
        [0, 1, 2, 3].map((block) =>
          client.hget(`nestjs-sharding:{join-test}:lease:${block}`, 'host'),
        ),
      );
      return [0, 1, 2, 3].filter((block) => holders[block] === 'host-b');
    };
    const deadline = Date.now() + 30_000;
    let taken: number[] = [];
    while ((taken = await moved()).length < 2 || !taken.every((shard) => resumed.includes(shard))) {
      assert.ok(
        Date.now() < deadline,
        `host-b holds ${taken.join(', ')}; RESUMEd: ${resumed.join(', ')}`,
      );
      await delay(50);
    }
    emulator.stopEventStream();
    const after = emulator.counters;
    assert.equal(after.identified, before.identified, 'a shard IDENTIFYed again');
    assert.equal(after.takeovers, before.takeovers, 'a RESUME took a session still live');
    assert.equal(after.invalidSessions, 0);
  });
});
