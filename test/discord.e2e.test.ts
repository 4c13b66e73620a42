// Real discord.js clients (and @discordjs/ws managers) inside real instances, against the gateway emulator: pacing across the
// fleet, READY once per shard, RESUME after a kill with no event lost, 'auto' shard count, and a
// bad token.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { filter, firstValueFrom, Subject } from 'rxjs';
import {
  OnDispatch,
  RemoteHandlerError,
  ReshardError,
  ShardMoveError,
  ShardingManager,
  ShardingModule,
  TokenInvalidError,
  type ShardMove,
  type InstanceStatusChange,
  type ShardingModuleOptions,
} from '../src/index.js';
import { GatewayEmulator } from '../src/testing/index.js';
import { cleanUp, defer } from './support/cleanup.js';
import { processMark } from './support/process-mark.js';
import { fixturePath } from './support/processes.js';
import { waitUntil } from './support/wait.js';

afterEach(cleanUp);

const TOKEN = 'emulator-token';
const WINDOW = 250;
/**
 * The fleet's identify margin: what a loaded machine may add between a grant and the IDENTIFY
 * reaching the emulator (which stamps it when this process, busy with the manager too, reads it).
 */
const MARGIN = 150;

const eventKey = (shardId: number, seq: number) => `${shardId}:${seq}`;

/** The environment of process `pid`, NUL-separated as in `/proc/<pid>/environ` (Linux only). */
const envOf = (pid: number): string => {
  try {
    return `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`;
  } catch {
    return '';
  }
};

interface SeenEvent {
  instance: number;
  shardId: number;
  t: string;
  seq: number;
}

/**
 * Waits until every dispatch the emulator sent has reached an instance (duplicates only from a
 * replay), and fails with the ones missing if the stream of seen events ends without them.
 */
async function everyEventDelivered(
  emulator: GatewayEmulator,
  events: SeenEvent[],
  seen: Subject<SeenEvent>,
): Promise<void> {
  const sent = emulator.sentEvents();
  const missing = () => {
    const got = new Set(events.map((event) => eventKey(event.shardId, event.seq)));
    return sent.filter((event) => !got.has(eventKey(event.shardId, event.seq)));
  };
  if (missing().length > 0) {
    await firstValueFrom(seen.pipe(filter(() => missing().length === 0)));
  }
  assert.deepEqual(missing(), []);
}

/**
 * The next READY or RESUMED seen of each of `shards`, in their order: whether each came back
 * with a new session or its old one. Call it before acting.
 */
function reconnections(seen: Subject<SeenEvent>, shards: number[]): Promise<SeenEvent[]> {
  return Promise.all(
    shards.map((shardId) =>
      firstValueFrom(
        seen.pipe(
          filter(
            (event) => event.shardId === shardId && (event.t === 'RESUMED' || event.t === 'READY'),
          ),
        ),
      ),
    ),
  );
}

/** Resolves once every instance of the fleet before a reshard has stopped, replaced. */
function resharded(manager: ShardingManager, instances: number): Promise<unknown> {
  const replaced = (instance: number) =>
    firstValueFrom(
      manager.status$.pipe(
        filter(
          (change) =>
            change.instance === instance &&
            change.to === 'exited' &&
            change.cause === 'replaced by a resharded fleet',
        ),
      ),
    );
  return Promise.all(Array.from({ length: instances }, (_, instance) => replaced(instance)));
}

/**
 * A ready @discordjs/ws fleet whose sessions all reached the manager, its IDENTIFY count so far,
 * every handover recorded, and an event stream to every shard.
 */
async function startStreamingWsFleet(managerOptions: Partial<ShardingModuleOptions> = {}) {
  const fleet = await startBotFleet({}, 'ws-bot.fixture', managerOptions);
  await fleet.manager.whenReady(60_000);
  await waitUntil(
    () => fleet.manager.sessions().size === 4,
    10_000,
    'sessions never reached the manager',
  );
  const identifiesBefore = fleet.emulator.identifies.length;
  const moves: ShardMove[] = [];
  fleet.manager.restructure$.subscribe((move) => moves.push(move));
  fleet.emulator.startEventStream({ interval: 10 });
  return { ...fleet, identifiesBefore, moves };
}

/** Starts the emulator and a manager whose instances run the discord.js fixture against it. */
async function startBotFleet(
  emulatorOptions: Parameters<typeof GatewayEmulator.start>[0] = {},
  fixture = 'discord-bot.fixture',
  managerOptions: Partial<ShardingModuleOptions> = {},
) {
  const emulator = await GatewayEmulator.start({
    token: TOKEN,
    shards: 4,
    maxConcurrency: 1,
    identifyWindow: WINDOW,
    heartbeatInterval: 1_000,
    ...emulatorOptions,
  });
  defer(() => emulator.close());
  const seen = new Subject<SeenEvent>();

  @Injectable()
  class EventLedger {
    @OnDispatch('GATEWAY_EVENT', { role: 'manager' })
    record(
      data: { shardId: number; t: string; seq: number },
      context: { from: number | 'manager' },
    ) {
      seen.next({ instance: context.from as number, ...data });
    }
  }

  @Module({
    imports: [
      ShardingModule.forRoot({
        file: fixturePath(fixture),
        totalShards: 'auto',
        token: TOKEN,
        api: `${emulator.apiBase}/v10`,
        shardsPerInstance: 2,
        identifyWindow: WINDOW,
        identifyMargin: MARGIN,
        // A 3 s silence span: this process (the manager and the emulator) and its instances
        // share a loaded machine; a stall of the manager must not end a link by accident.
        heartbeatInterval: 1_000,
        killGrace: 1_000,
        restart: { initialDelay: 50, maxDelay: 200 },
        ...managerOptions,
        env: { EMULATOR_API: emulator.apiBase, DISCORD_TOKEN: TOKEN, ...managerOptions.env },
      }),
    ],
    providers: [EventLedger],
  })
  class ManagerModule {}

  const events: SeenEvent[] = [];
  seen.subscribe((event) => events.push(event));
  const app = await NestFactory.createApplicationContext(ManagerModule, {
    logger: ['error', 'warn'],
  });
  defer(() => app.close());
  const manager = app.get(ShardingManager);
  return { emulator, manager, seen, events };
}

describe('discord.js instances against the gateway emulator', () => {
  it("takes the shard count from /gateway/bot and brings every shard to READY once, at Discord's pace", async () => {
    const { emulator, manager } = await startBotFleet();
    await manager.whenReady(60_000);

    assert.equal(manager.totalShards, 4);
    const accepted = emulator.identifies.filter((identify) => identify.accepted);
    assert.deepEqual(accepted.map((identify) => identify.shardId).toSorted(), [0, 1, 2, 3]);
    assert.equal(emulator.identifies.length, accepted.length, 'the emulator refused an IDENTIFY');
    // One bucket (max_concurrency 1): consecutive IDENTIFYs are a window apart.
    const times = accepted.map((identify) => identify.at).toSorted((a, b) => a - b);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= WINDOW);

    const guilds = await manager.broadcastRequest<{ guilds: string[] }>('guilds');
    const cached = guilds.flatMap((result) =>
      result.status === 'fulfilled' ? result.value.guilds : [],
    );
    const expected = [0, 1, 2, 3].flatMap((shard) => emulator.guildsOf(shard));
    assert.deepEqual(cached.toSorted(), expected.toSorted());
  });

  it('paces IDENTIFY per bucket with max_concurrency 2', async () => {
    const { emulator, manager } = await startBotFleet({ maxConcurrency: 2 });
    await manager.whenReady(60_000);
    const accepted = emulator.identifies.filter((identify) => identify.accepted);
    assert.equal(accepted.length, 4);
    assert.equal(emulator.identifies.length, 4);
    for (const bucket of [0, 1]) {
      const times = accepted
        .filter((identify) => identify.shardId % 2 === bucket)
        .map((identify) => identify.at)
        .toSorted((a, b) => a - b);
      assert.equal(times.length, 2);
      assert.ok(times[1]! - times[0]! >= WINDOW);
    }
  });

  it('RESUMEs a killed @discordjs/ws instance and loses no event', async () => {
    const { emulator, manager, seen, events } = await startBotFleet({}, 'ws-bot.fixture');
    await manager.whenReady(60_000);
    const identifiesBefore = emulator.identifies.length;

    emulator.startEventStream({ interval: 10 });
    // Let events flow, then kill instance 0 while they keep coming.
    await firstValueFrom(
      seen.pipe(
        filter(
          (event) => event.instance === 0 && event.t !== 'READY' && event.t !== 'GUILD_CREATE',
        ),
      ),
    );
    const back = firstValueFrom(
      manager.status$.pipe(
        filter((change: InstanceStatusChange) => change.instance === 0 && change.to === 'ready'),
      ),
    );
    // Watched from before the kill: the new generation's RESUMED can be read in the same turn as
    // its CONNECTED, before `back` resolves.
    const resumedAgain = firstValueFrom(
      seen.pipe(filter((event) => event.instance === 0 && event.t === 'RESUMED')),
    );
    process.kill(manager.status()[0]!.pid!, 'SIGKILL');
    await back;
    await resumedAgain;
    // A few events on the new generation, then stop the stream.
    await firstValueFrom(
      seen.pipe(
        filter((event) => event.instance === 0 && event.t !== 'RESUMED' && event.t !== 'READY'),
      ),
    );
    emulator.stopEventStream();

    assert.equal(
      emulator.identifies.length,
      identifiesBefore,
      'the restarted instance IDENTIFYed again',
    );
    // Every instance (the restarted one too) took /gateway/bot from the manager, which asked once.
    const gatewayBot = emulator.requests.filter((request) => request.url.includes('/gateway/bot'));
    assert.equal(gatewayBot.length, 1, 'an instance asked Discord for /gateway/bot itself');
    const resumed = emulator.resumes
      .filter((resume) => resume.accepted)
      .map((resume) => resume.shardId);
    assert.deepEqual(resumed.toSorted(), [0, 1]);

    await everyEventDelivered(emulator, events, seen);
  });

  it('RESUMEs the shards of a @discordjs/ws instance restarted by the manager: no IDENTIFY, no event lost', async () => {
    const { emulator, manager, seen, events, identifiesBefore } = await startStreamingWsFleet();
    const oldSessions = emulator.sessions
      .filter((session) => session.current && [0, 1].includes(session.shardId))
      .map((session) => session.sessionId);
    // Watched from before the restart: RESUMED can be read in the same turn as CONNECTED.
    const both = reconnections(seen, [0, 1]);

    await manager.restart(0);
    assert.deepEqual(
      (await both).map((event) => event.t),
      ['RESUMED', 'RESUMED'],
    );
    // A few events on the new generation, then stop the stream.
    await firstValueFrom(
      seen.pipe(filter((event) => event.instance === 0 && event.t === 'MESSAGE_CREATE')),
    );
    emulator.stopEventStream();

    assert.equal(manager.status()[0]!.generation, 2);
    assert.equal(emulator.identifies.length, identifiesBefore, 'the restarted instance IDENTIFYed');
    assert.equal(emulator.counters.invalidSessions, 0, 'op 9 was sent');
    assert.deepEqual(
      emulator.resumes.map((resume) => [resume.shardId, resume.accepted]).toSorted(),
      [
        [0, true],
        [1, true],
      ],
    );
    // The old generation let its sessions go resumably, before the new one took them.
    assert.deepEqual(
      oldSessions.map((sessionId) => {
        const close = emulator.closes.find((record) => record.sessionId === sessionId);
        return [close?.code, close?.by];
      }),
      [
        [4200, 'client'],
        [4200, 'client'],
      ],
    );
    assert.deepEqual(emulator.takeovers, []);
    await everyEventDelivered(emulator, events, seen);
  });

  it('hands a shard over between @discordjs/ws instances with no IDENTIFY and no event lost', async () => {
    const { emulator, manager, seen, events, identifiesBefore, moves } =
      await startStreamingWsFleet();
    await firstValueFrom(
      seen.pipe(
        filter((event) => event.shardId === 1 && event.t !== 'READY' && event.t !== 'GUILD_CREATE'),
      ),
    );
    await manager.moveShards([1], 1);
    // Events of shard 1 now come from instance 1.
    await firstValueFrom(
      seen.pipe(
        filter((event) => event.shardId === 1 && event.instance === 1 && event.t !== 'RESUMED'),
      ),
    );
    emulator.stopEventStream();

    assert.equal(manager.instanceForShard(1), 1);
    assert.deepEqual(
      manager.status().map((status) => status.shards),
      [[0], [1, 2, 3]],
    );
    assert.deepEqual(await manager.request(0, 'instance-shards'), [0]);
    assert.deepEqual(await manager.request(1, 'instance-shards'), [1, 2, 3]);
    assert.deepEqual(
      moves.map(({ shards, from, to, outcome }) => ({ shards, from, to, outcome })),
      [{ shards: [1], from: { 1: 0 }, to: 1, outcome: 'moved' }],
    );
    assert.deepEqual(
      manager.status().map((status) => status.generation),
      [1, 1],
      'nothing restarted',
    );
    assert.equal(emulator.identifies.length, identifiesBefore, 'a shard IDENTIFYed again');
    assert.deepEqual(emulator.takeovers, [], 'a shard was taken before its giver let it go');
    const resumes = emulator.resumes;
    assert.ok(
      resumes.every((resume) => resume.accepted),
      'a RESUME was refused',
    );
    assert.ok(
      resumes.some((resume) => resume.shardId === 1),
      'shard 1 did not RESUME',
    );

    await everyEventDelivered(emulator, events, seen);
  });

  it('rolls every @discordjs/ws instance to a new generation with no IDENTIFY, no event lost and no failed request', async () => {
    const { emulator, manager, seen, events, identifiesBefore, moves } =
      await startStreamingWsFleet();

    // A request loop to both instances for the whole roll: none may fail because of it.
    const rolled = new AbortController();
    const failures: unknown[] = [];
    let answered = 0;
    const loop = (async () => {
      while (!rolled.signal.aborted) {
        for (const instance of [0, 1]) {
          await manager.request(instance, 'instance-shards', null, { whenNotReady: 'wait' }).then(
            () => answered++,
            (error: unknown) => failures.push(error),
          );
        }
      }
    })();
    const results = await manager.rollingRestart();
    rolled.abort();
    await loop;
    // A few events after the roll, on the new generations.
    await firstValueFrom(
      seen.pipe(
        filter((event) => event.t !== 'RESUMED' && event.t !== 'READY' && event.shardId === 3),
      ),
    );
    emulator.stopEventStream();

    assert.deepEqual(
      results.map(({ instance, status }) => ({ instance, status })),
      [
        { instance: 0, status: 'fulfilled' },
        { instance: 1, status: 'fulfilled' },
      ],
    );
    assert.deepEqual(failures, [], 'a request failed during the roll');
    assert.ok(answered > 0);
    assert.deepEqual(
      manager.status().map((status) => status.generation),
      [2, 2],
    );
    assert.deepEqual(
      manager.status().map((status) => status.state),
      ['ready', 'ready'],
    );
    assert.deepEqual(
      manager.status().map((status) => status.shards),
      [
        [0, 1],
        [2, 3],
      ],
    );
    assert.deepEqual(
      moves.map(({ kind, to, shards, outcome }) => ({ kind, to, shards, outcome })),
      [
        { kind: 'replace', to: 0, shards: [0, 1], outcome: 'moved' },
        { kind: 'replace', to: 1, shards: [2, 3], outcome: 'moved' },
      ],
    );
    assert.equal(emulator.identifies.length, identifiesBefore, 'a shard IDENTIFYed again');
    assert.deepEqual(emulator.takeovers, [], 'a shard was taken before its giver let it go');
    assert.equal(emulator.counters.invalidSessions, 0, 'op 9 was sent');
    assert.ok(
      emulator.resumes.every((resume) => resume.accepted),
      'a RESUME was refused',
    );
    await everyEventDelivered(emulator, events, seen);
  });

  it('keeps the running generation serving when its replacement crashes mid-roll', async () => {
    const crashFile = join(await mkdtemp(join(tmpdir(), 'nss-test-')), 'crash-once');
    defer(() => rm(dirname(crashFile), { recursive: true, force: true }));
    const { emulator, manager } = await startBotFleet({}, 'ws-bot.fixture', {
      env: { FIXTURE_CRASH_ONCE_FILE: crashFile },
    });
    await manager.whenReady(60_000);
    const identifiesBefore = emulator.identifies.length;
    const moves: ShardMove[] = [];
    manager.restructure$.subscribe((move) => moves.push(move));
    const before = manager.status();

    await writeFile(crashFile, '');
    await assert.rejects(manager.restart(0, { graceful: true }), (error: unknown) => {
      assert.ok(error instanceof ShardMoveError, String(error));
      assert.match(error.message, /new generation failed: exited \(code 9\)/);
      return true;
    });
    const after = manager.status();
    assert.equal(after[0]!.pid, before[0]!.pid, 'the running generation was replaced');
    assert.equal(after[0]!.state, 'ready');
    assert.deepEqual(after[0]!.shards, [0, 1]);
    assert.deepEqual(await manager.request(0, 'instance-shards'), [0, 1]);
    assert.equal(emulator.identifies.length, identifiesBefore);
    assert.deepEqual(moves, [], 'no handover was even started');
    // The instance rolls fine afterwards.
    await manager.restart(0, { graceful: true });
    assert.equal(manager.status()[0]!.state, 'ready');
    assert.notEqual(manager.status()[0]!.pid, before[0]!.pid);
  });

  it('rolls discord.js instances with an overlap: every shard READY at every moment, every request answered', async () => {
    const { emulator, manager } = await startBotFleet();
    await manager.whenReady(60_000);
    const first = new Map(
      emulator.identifies
        .filter((identify) => identify.accepted)
        .map((identify) => [identify.shardId, identify.sessionId!]),
    );
    const moves: ShardMove[] = [];
    manager.restructure$.subscribe((move) => moves.push(move));

    const rolled = new AbortController();
    const failures: unknown[] = [];
    const loop = (async () => {
      while (!rolled.signal.aborted) {
        for (const instance of [0, 1]) {
          await manager
            .request(instance, 'guilds', null, { whenNotReady: 'wait' })
            .catch((error: unknown) => failures.push(error));
        }
      }
    })();
    const results = await manager.rollingRestart();
    rolled.abort();
    await loop;

    assert.deepEqual(
      results.map(({ status }) => status),
      ['fulfilled', 'fulfilled'],
    );
    assert.deepEqual(failures, [], 'a request failed during the roll');
    assert.deepEqual(
      manager.status().map((status) => status.generation),
      [2, 2],
    );
    assert.deepEqual(
      moves.map(({ kind, to, shards, outcome }) => ({ kind, to, shards, outcome })),
      [
        { kind: 'replace', to: 0, shards: [0, 1], outcome: 'moved' },
        { kind: 'replace', to: 1, shards: [2, 3], outcome: 'moved' },
      ],
    );
    // Each shard's new session was READY before its old one closed: never a moment without one.
    for (const [shardId, oldSession] of first) {
      const renewed = emulator.identifies.find(
        (identify) =>
          identify.accepted && identify.shardId === shardId && identify.sessionId !== oldSession,
      );
      assert.ok(renewed !== undefined, `shard ${shardId} was not IDENTIFYed by the new generation`);
      const closed = emulator.closes.find((close) => close.sessionId === oldSession);
      assert.ok(closed !== undefined, `the old session of shard ${shardId} never closed`);
      assert.ok(renewed.at < closed.at, `shard ${shardId} had no READY connection for a while`);
    }
    assert.equal(emulator.counters.invalidSessions, 0, 'op 9 was sent');
    assert.equal(
      emulator.identifies.length,
      emulator.identifies.filter((identify) => identify.accepted).length,
    );
  });

  it('reshards 4 → 6 blue/green: the new fleet READY before the old closes, every request answered', async () => {
    const { emulator, manager } = await startBotFleet();
    await manager.whenReady(60_000);
    const old = new Map(
      emulator.identifies
        .filter((identify) => identify.accepted)
        .map((identify) => [identify.shardId, identify.sessionId!]),
    );
    const rolled = new AbortController();
    const failures: unknown[] = [];
    const loop = (async () => {
      while (!rolled.signal.aborted) {
        await manager
          .request(0, 'guilds', null, { whenNotReady: 'wait' })
          .catch((error: unknown) => failures.push(error));
      }
    })();
    await manager.reshard(6);
    rolled.abort();
    await loop;

    assert.deepEqual(failures, [], 'a request failed during the reshard');
    assert.equal(manager.totalShards, 6);
    assert.deepEqual(
      manager.status().map((status) => status.shards),
      [
        [0, 1],
        [2, 3],
        [4, 5],
      ],
    );
    assert.deepEqual(
      manager.status().map((status) => status.state),
      ['ready', 'ready', 'ready'],
    );
    assert.equal(manager.instanceForShard(5), 2);
    const renewed = emulator.identifies.filter(
      (identify) => identify.accepted && identify.totalShards === 6,
    );
    assert.deepEqual(renewed.map((identify) => identify.shardId).toSorted(), [0, 1, 2, 3, 4, 5]);
    // The new fleet was READY before any old session closed.
    const lastReady = Math.max(...renewed.map((identify) => identify.at));
    for (const sessionId of old.values()) {
      const closed = emulator.closes.find((close) => close.sessionId === sessionId);
      assert.ok(closed !== undefined && closed.at > lastReady, `session ${sessionId} closed early`);
    }
    assert.equal(emulator.counters.invalidSessions, 0, 'op 9 was sent');
    const guilds = await manager.broadcastRequest<{ guilds: string[] }>('guilds');
    assert.deepEqual(
      guilds.map((result) => result.status),
      ['fulfilled', 'fulfilled', 'fulfilled'],
    );
  });

  it('keeps the old fleet serving when a new instance dies before the switch, and leaves none of the new fleet behind', async () => {
    const mark = processMark();
    const { emulator, manager, seen } = await startBotFleet({}, 'ws-bot.fixture', {
      env: mark.env() as Record<string, string>,
    });
    await manager.whenReady(60_000);
    await waitUntil(
      () => manager.sessions().size === 4,
      10_000,
      'sessions never reached the manager',
    );
    const before = manager.status();
    const oldPids = before.map((status) => status.pid!).toSorted();
    assert.deepEqual(mark.pids().toSorted(), oldPids);
    const identifiesBefore = emulator.identifies.length;

    // New instance 2 (only the new fleet has one) dies once a shard the old fleet also runs
    // has IDENTIFYed in the new fleet, so that the new fleet has sessions of its own by then.
    const instance2 = () =>
      mark.pids().find((pid) => envOf(pid).includes('\0SHARDING_INSTANCE=2\0'));
    void emulator
      .waitFor(
        'identify',
        (record) => record.accepted && record.totalShards === 6 && record.shardId < 4,
      )
      .then(() => {
        const pid = instance2();
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
      });
    await assert.rejects(manager.reshard(6), (error: unknown) => {
      assert.ok(error instanceof ReshardError, String(error));
      assert.match(error.message, /new instance 2 failed/);
      return true;
    });

    assert.ok(
      emulator.identifies.some((record) => record.totalShards === 6 && record.shardId < 4),
      'the new fleet never IDENTIFYed a shard of the old',
    );
    assert.deepEqual(mark.pids().toSorted(), oldPids, 'a process of the new fleet is left');
    assert.equal(manager.totalShards, 4);
    const after = manager.status();
    assert.deepEqual(
      after.map(({ pid, state, shards, generation }) => ({ pid, state, shards, generation })),
      before.map(({ pid, shards, generation }) => ({ pid, state: 'ready', shards, generation })),
    );
    assert.deepEqual(await manager.request(0, 'instance-shards'), [0, 1]);
    assert.deepEqual(await manager.request(1, 'instance-shards'), [2, 3]);
    assert.equal(manager.instanceForShard(3), 1);
    // The old fleet keeps its sessions: a restart still RESUMEs them, whatever the new fleet did.
    const spent = emulator.identifies.length - identifiesBefore;
    const both = reconnections(seen, [0, 1, 2, 3]);
    await Promise.all([manager.restart(0), manager.restart(1)]);
    assert.deepEqual(
      (await both).map((event) => event.t),
      ['RESUMED', 'RESUMED', 'RESUMED', 'RESUMED'],
    );
    assert.equal(emulator.identifies.length - identifiesBefore, spent, 'a shard IDENTIFYed again');
  });

  it('completes a reshard when an old instance dies while the new fleet waits to IDENTIFY its shards', async () => {
    // A new instance whose shard never IDENTIFYs fails the reshard after readyTimeout.
    const { emulator, manager } = await startBotFleet({}, 'ws-bot.fixture', {
      readyTimeout: 20_000,
    });
    await manager.whenReady(60_000);
    const oldPid = manager.status()[1]!.pid!;
    // When the new fleet IDENTIFYs one of shards 2 and 3, the other waits for its slot (one
    // bucket): the old instance running both dies then. Its stop must not cancel the new
    // fleet's wait for the same shard.
    void emulator
      .waitFor(
        'identify',
        (record) => record.accepted && record.totalShards === 6 && [2, 3].includes(record.shardId),
        60_000,
      )
      .then(() => process.kill(oldPid, 'SIGKILL'));
    await manager.reshard(6);

    assert.equal(manager.totalShards, 6);
    assert.deepEqual(
      manager.status().map((status) => status.state),
      ['ready', 'ready', 'ready'],
    );
    const renewed = emulator.identifies.filter(
      (identify) => identify.accepted && identify.totalShards === 6,
    );
    assert.deepEqual(renewed.map((identify) => identify.shardId).toSorted(), [0, 1, 2, 3, 4, 5]);
  });

  it('reshards 8 → 12 with events flowing: the new fleet READY before the old is retired, no event lost', async () => {
    // 10 instances booting on a small machine: an identify margin that its load cannot exceed
    // (the manager times the window from its grant, and this process, which grants, also runs
    // the emulator that stamps the IDENTIFYs).
    const { emulator, manager, seen, events } = await startBotFleet(
      { shards: 8 },
      'ws-bot.fixture',
      {
        identifyMargin: 200,
      },
    );
    await manager.whenReady(60_000);
    const old = emulator.sessions.map((session) => session.sessionId);
    assert.equal(old.length, 8);
    const budgetBefore = emulator.sessionStartRemaining;
    emulator.startEventStream({ interval: 10 });
    await firstValueFrom(seen.pipe(filter((event) => event.t === 'MESSAGE_CREATE')));

    await manager.reshard(12);
    // Events on the new fleet's last shard, then stop the stream.
    await firstValueFrom(
      seen.pipe(filter((event) => event.shardId === 11 && event.t === 'MESSAGE_CREATE')),
    );
    emulator.stopEventStream();

    assert.equal(manager.totalShards, 12);
    assert.deepEqual(
      manager.status().map((status) => [status.state, status.shards]),
      [0, 1, 2, 3, 4, 5].map((instance) => ['ready', [2 * instance, 2 * instance + 1]]),
    );
    const renewed = emulator.identifies.filter(
      (identify) => identify.accepted && identify.totalShards === 12,
    );
    assert.deepEqual(
      renewed.map((identify) => identify.shardId).toSorted((a, b) => a - b),
      Array.from({ length: 12 }, (_, shardId) => shardId),
    );
    // Blue/green: every new shard was READY before any old session closed; the old ones ended
    // (1000: nothing will resume them), none was taken over.
    const lastReady = Math.max(...renewed.map((identify) => identify.at));
    for (const sessionId of old) {
      const closed = emulator.closes.find((close) => close.sessionId === sessionId);
      assert.ok(closed !== undefined && closed.at > lastReady, `session ${sessionId} closed early`);
      assert.deepEqual([closed.code, closed.by], [1000, 'client']);
    }
    assert.deepEqual(emulator.takeovers, []);
    assert.equal(emulator.counters.invalidSessions, 0, 'op 9 was sent');
    assert.equal(emulator.identifies.length, 20, 'an IDENTIFY was refused or repeated');
    // The session budget: 12 more IDENTIFYs, as the reshard's budget check counted them.
    assert.equal(budgetBefore - emulator.sessionStartRemaining, 12);
    await everyEventDelivered(emulator, events, seen);
  });

  it('reshards by itself when Discord recommends more shards (autoReshard)', async () => {
    const { emulator, manager } = await startBotFleet({}, 'discord-bot.fixture', {
      autoReshard: true,
      autoReshardInterval: 200,
    });
    await manager.whenReady(60_000);
    const done = resharded(manager, 2);
    emulator.recommendShards(6);
    await done;
    assert.equal(manager.totalShards, 6);
    assert.deepEqual(
      manager.status().map((status) => status.state),
      ['ready', 'ready', 'ready'],
    );
  });

  it('reshards by itself when a @discordjs/ws shard is closed with 4011 (autoReshard)', async () => {
    const { emulator, manager } = await startBotFleet({}, 'ws-bot.fixture', {
      autoReshard: true,
    });
    await manager.whenReady(60_000);
    const done = resharded(manager, 2);
    // Discord now requires 6 shards; shard 0 must IDENTIFY again and is refused with 4011.
    emulator.recommendShards(6);
    emulator.invalidateSession(0);
    await done;
    assert.equal(manager.totalShards, 6);
    assert.ok(
      emulator.closes.some((close) => close.code === 4011),
      'no connection was closed with 4011',
    );
    assert.deepEqual(
      manager.status().map((status) => status.shards),
      [
        [0, 1],
        [2, 3],
        [4, 5],
      ],
    );
  });

  it('refuses a reshard the daily session budget cannot cover, and changes nothing', async () => {
    const { manager } = await startBotFleet({ sessionStartLimit: { total: 9, remaining: 9 } });
    await manager.whenReady(60_000);
    // 4 IDENTIFYs spent of 9: 5 left, 6 needed.
    await assert.rejects(manager.reshard(6), (error: unknown) => {
      assert.ok(error instanceof ReshardError, String(error));
      assert.match(error.message, /6 IDENTIFYs are needed and Discord's daily budget has 5 left/);
      return true;
    });
    assert.equal(manager.totalShards, 4);
    assert.deepEqual(
      manager.status().map((status) => status.generation),
      [1, 1],
    );
  });

  it("gives a killed @discordjs/ws instance's shards to a warm spare: RESUME, no IDENTIFY, no event lost", async () => {
    const { emulator, manager, seen, events, identifiesBefore } = await startStreamingWsFleet({
      spares: 1,
    });
    assert.deepEqual(
      manager.status().map((status) => status.shards),
      [[0, 1], [2, 3], []],
    );
    await firstValueFrom(
      seen.pipe(
        filter(
          (event) => event.instance === 0 && event.t !== 'READY' && event.t !== 'GUILD_CREATE',
        ),
      ),
    );
    const failedOver = firstValueFrom(
      manager.restructure$.pipe(filter((move) => move.kind === 'failover')),
    );
    const back = firstValueFrom(
      manager.status$.pipe(filter((change) => change.instance === 0 && change.to === 'ready')),
    );
    process.kill(manager.status()[0]!.pid!, 'SIGKILL');
    const move = await failedOver;
    await back;
    // Events of shards 0 and 1 now come from the spare.
    await firstValueFrom(
      seen.pipe(
        filter((event) => event.shardId === 0 && event.instance === 2 && event.t !== 'RESUMED'),
      ),
    );
    emulator.stopEventStream();

    assert.deepEqual(
      { shards: move.shards, from: move.from, to: move.to, outcome: move.outcome },
      { shards: [0, 1], from: { 0: 0, 1: 0 }, to: 2, outcome: 'moved' },
    );
    // The dead instance came back with no shards: the next spare.
    assert.deepEqual(
      manager.status().map((status) => status.shards),
      [[], [2, 3], [0, 1]],
    );
    assert.equal(manager.instanceForShard(0), 2);
    assert.equal(emulator.identifies.length, identifiesBefore, 'a shard IDENTIFYed again');
    assert.ok(
      emulator.resumes.every((resume) => resume.accepted),
      'a RESUME was refused',
    );
    await everyEventDelivered(emulator, events, seen);
  });

  it('refuses a handover from an instance that cannot restructure, and changes nothing', async () => {
    const { manager } = await startBotFleet();
    await manager.whenReady(60_000);
    await assert.rejects(manager.moveShards([1], 1), (error: unknown) => {
      assert.ok(error instanceof ShardMoveError, String(error));
      assert.match(error.message, /cannot change its shard set/);
      return true;
    });
    assert.equal(manager.instanceForShard(1), 0);
    assert.deepEqual(
      manager.status().map((status) => status.shards),
      [
        [0, 1],
        [2, 3],
      ],
    );
    assert.deepEqual(
      manager.status().map((status) => status.generation),
      [1, 1],
    );
    // A malformed RESTRUCTURING changes nothing either, and says why.
    await assert.rejects(
      manager.request(0, 'RESTRUCTURING', { shards: [9], total_shards: 4 }),
      (error: unknown) =>
        error instanceof RemoteHandlerError &&
        error.remoteCode === 'ERR_SHARDING_INVALID_RESTRUCTURE',
    );
  });

  it('keeps every shard session, reports identify progress and answers library events only for own shards', async () => {
    const { emulator, manager } = await startBotFleet({}, 'ws-bot.fixture');
    await manager.whenReady(60_000);

    assert.deepEqual(manager.identifyProgress(), {
      granted: 4,
      waiting: 0,
      maxConcurrency: 1,
      window: WINDOW + MARGIN,
    });
    // Sessions are reported once per event-loop turn after READY: wait until all four are in.
    await waitUntil(
      () => manager.sessions().size === 4,
      10_000,
      'not every session reached the manager',
    );
    const sessions = manager.sessions();
    for (const live of emulator.sessions) {
      const kept = sessions.get(live.shardId);
      assert.equal(kept?.sessionId, live.sessionId, `shard ${live.shardId}`);
      assert.equal(kept?.shardCount, 4);
      assert.equal(typeof kept?.resumeURL, 'string');
    }
    sessions.clear();
    assert.equal(manager.sessions().size, 4, 'sessions() handed out the store itself');

    type Probe = { value?: unknown; error?: { name: string; codes: string[] } };
    const probe = (event: string, data: unknown) =>
      manager.request<Probe>(0, 'library-probe', { event, data });
    const badSession = await probe('SESSION_UPDATE', { shardId: 0, session: { sessionId: 1 } });
    assert.ok(
      badSession.error?.codes.includes('ERR_SHARDING_INVALID_SESSION_UPDATE'),
      JSON.stringify(badSession),
    );
    const shard0 = emulator.sessions.find((live) => live.shardId === 0)!;
    assert.equal(
      manager.sessions().get(0)?.sessionId,
      shard0.sessionId,
      'a bad update replaced a session',
    );
    const foreign = await probe('SESSION_GET', { shardId: 2 });
    assert.ok(
      foreign.error?.codes.includes('ERR_SHARDING_UNKNOWN_INSTANCE'),
      JSON.stringify(foreign),
    );
    const gateway = (await probe('GATEWAY_INFO', null)).value as {
      url: string;
      shards: number;
      session_start_limit: { remaining: number; max_concurrency: number };
    };
    assert.equal(gateway.shards, 4);
    assert.equal(gateway.url, emulator.url);
    assert.equal(gateway.session_start_limit.max_concurrency, 1);
  });

  it('asks Discord for /gateway/bot once for the fleet when the shard count is static', async () => {
    const { emulator, manager } = await startBotFleet({}, 'ws-bot.fixture', { totalShards: 4 });
    await manager.whenReady(60_000);
    // Nobody asked at spawn; the first instance's question made the manager ask, for everyone.
    const gatewayBot = emulator.requests.filter((request) => request.url.includes('/gateway/bot'));
    assert.equal(gatewayBot.length, 1);
    assert.equal(emulator.identifies.filter((identify) => identify.accepted).length, 4);
  });

  it('fails the spawn with TokenInvalidError on a bad token', async () => {
    const emulator = await GatewayEmulator.start({ token: TOKEN });
    defer(() => emulator.close());

    @Module({
      imports: [
        ShardingModule.forRoot({
          totalShards: 'auto',
          token: 'not-the-token',
          api: `${emulator.apiBase}/v10`,
          spawnOnBootstrap: false,
        }),
      ],
    })
    class BadTokenModule {}

    const app = await NestFactory.createApplicationContext(BadTokenModule, { logger: false });
    defer(() => app.close());
    await assert.rejects(app.get(ShardingManager).spawn(), TokenInvalidError);
    assert.deepEqual(app.get(ShardingManager).instances, []);
    assert.equal(app.get(ShardingManager).identifyProgress(), undefined);
    assert.equal(app.get(ShardingManager).sessions().size, 0);
  });
});
