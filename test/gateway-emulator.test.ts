import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { connect as netConnect, Socket } from 'node:net';
import { cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, it } from 'node:test';
import { REST } from '@discordjs/rest';
import {
  CompressionMethod,
  WebSocketManager,
  WebSocketShardEvents,
  type SessionInfo,
} from '@discordjs/ws';
import { Client, Events, GatewayIntentBits, type Message } from 'discord.js';
import { WebSocket, type ClientOptions } from 'ws';
import {
  GatewayCloseCode,
  GatewayEmulator,
  GatewayOp,
  type GatewayEmulatorOptions,
  EMULATOR_BOT_USER,
  type IdentifyRecord,
} from '../src/testing/index.js';
import { cleanUp, defer } from './support/cleanup.js';

afterEach(cleanUp);

/** How long any single wait in these tests may take before it fails the test. */
const DEADLINE = 5_000;

/** `promise`, or a failure naming `what` after {@link DEADLINE}. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${DEADLINE} ms`)), DEADLINE);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts an emulator that is closed after the test. */
async function startEmulator(options?: GatewayEmulatorOptions): Promise<GatewayEmulator> {
  const emulator = await GatewayEmulator.start(options);
  defer(() => emulator.close());
  return emulator;
}

interface Payload {
  op: number;
  d: any;
  s: number | null;
  t: string | null;
}

/** A bare gateway client over `ws`: every payload it receives is queued for `next()`. */
class RawClient {
  private readonly inbox: Payload[] = [];
  private readonly waiters: Array<(payload: Payload) => void> = [];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const payload = JSON.parse(String(data)) as Payload;
      const waiter = this.waiters.shift();
      if (waiter === undefined) this.inbox.push(payload);
      else waiter(payload);
    });
    this.closed = once(socket, 'close').then(([code, reason]) => ({
      code: code as number,
      reason: String(reason),
    }));
  }

  /** Opens a gateway connection (closed after the test); HELLO is the first payload queued. */
  static async connect(
    emulator: GatewayEmulator,
    query = '?v=10&encoding=json',
    options?: ClientOptions,
  ): Promise<RawClient> {
    const socket = new WebSocket(`${emulator.url}/${query}`, options);
    const client = new RawClient(socket);
    defer(async () => {
      if (socket.readyState !== WebSocket.CLOSED) {
        socket.terminate();
        await client.closed;
      }
    });
    await once(socket, 'open');
    return client;
  }

  /** The next payload received; fails after {@link DEADLINE}. */
  next(): Promise<Payload> {
    const queued = this.inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no gateway payload in time')), DEADLINE);
      this.waiters.push((payload) => {
        clearTimeout(timer);
        resolve(payload);
      });
    });
  }

  /** Takes every payload received and not yet taken, without waiting. */
  drain(): Payload[] {
    return this.inbox.splice(0);
  }

  send(payload: unknown): void {
    this.socket.send(JSON.stringify(payload));
  }

  resume(emulator: GatewayEmulator, sessionId: string, seq: number): void {
    this.send({
      op: GatewayOp.Resume,
      d: { token: emulator.token, session_id: sessionId, seq },
    });
  }

  identify(emulator: GatewayEmulator, d: Record<string, unknown> = {}): void {
    this.send({
      op: GatewayOp.Identify,
      d: {
        token: emulator.token,
        intents: 0,
        properties: { os: 'linux', browser: 'test', device: 'test' },
        shard: [0, 1],
        ...d,
      },
    });
  }
}

/**
 * Connects (or takes `connected`, fresh), checks HELLO, IDENTIFYs, and returns the client after
 * READY and its GUILD_CREATEs.
 */
async function identified(
  emulator: GatewayEmulator,
  shard: [number, number] = [0, 1],
  guilds = 1,
  connected?: RawClient,
): Promise<{ client: RawClient; ready: Payload; lastSeq: number }> {
  const client = connected ?? (await RawClient.connect(emulator));
  assert.equal((await client.next()).op, GatewayOp.Hello);
  client.identify(emulator, { shard });
  const ready = await client.next();
  assert.equal(ready.t, 'READY');
  let lastSeq = ready.s!;
  for (let i = 0; i < guilds; i++) {
    const guild = await client.next();
    assert.equal(guild.t, 'GUILD_CREATE');
    lastSeq = guild.s!;
  }
  return { client, ready, lastSeq };
}

/** Asserts the protocol's window rule on recorded IDENTIFYs: within a bucket, one per window. */
function assertPaced(identifies: IdentifyRecord[], window: number): void {
  const accepted = identifies.filter((record) => record.accepted);
  for (const [index, first] of accepted.entries()) {
    for (const second of accepted.slice(index + 1)) {
      if (first.bucket !== second.bucket) continue;
      assert.ok(
        Math.abs(second.at - first.at) >= window,
        `shards ${first.shardId} and ${second.shardId} identified ${Math.abs(second.at - first.at)} ms apart in bucket ${first.bucket}`,
      );
    }
  }
}

describe('GatewayEmulator: gateway protocol (raw ws client)', () => {
  it('sends HELLO with the heartbeat interval and acknowledges heartbeats', async () => {
    const emulator = await startEmulator({ heartbeatInterval: 1234 });
    const client = await RawClient.connect(emulator);
    assert.deepEqual(await client.next(), {
      op: GatewayOp.Hello,
      d: { heartbeat_interval: 1234 },
      s: null,
      t: null,
    });
    client.send({ op: GatewayOp.Heartbeat, d: null });
    assert.equal((await client.next()).op, GatewayOp.HeartbeatAck);
  });

  it('answers IDENTIFY with READY (seq 1) and a GUILD_CREATE per guild of the shard', async () => {
    const emulator = await startEmulator({ guildsPerShard: 2 });
    const identify = emulator.waitFor('identify');
    const { ready } = await identified(emulator, [2, 3], 0);
    assert.equal(ready.op, GatewayOp.Dispatch);
    assert.equal(ready.s, 1);
    assert.equal(ready.d.v, 10);
    assert.equal(ready.d.user.bot, true);
    assert.equal(ready.d.resume_gateway_url, emulator.url);
    assert.deepEqual(ready.d.shard, [2, 3]);
    assert.equal(ready.d.application.id, ready.d.user.id);
    const guilds = emulator.guildsOf(2);
    assert.deepEqual(
      ready.d.guilds,
      guilds.map((id) => ({ id, unavailable: true })),
    );
    for (const id of guilds) assert.equal((BigInt(id) >> 22n) % 3n, 2n);

    const record = await identify;
    assert.deepEqual(record, {
      shardId: 2,
      totalShards: 3,
      bucket: 0,
      connectionId: 1,
      at: record.at,
      accepted: true,
      sessionId: ready.d.session_id,
    });
    assert.deepEqual(
      emulator.sentEvents(2).map((event) => [event.t, event.seq]),
      [
        ['READY', 1],
        ['GUILD_CREATE', 2],
        ['GUILD_CREATE', 3],
      ],
    );
  });

  it('sends GUILD_CREATE payloads with what a client caches (channels, roles, members)', async () => {
    const emulator = await startEmulator();
    const { client } = await identified(emulator, [0, 1], 0);
    const guildCreate = await client.next();
    const [guild] = emulator.guildDetailsOf(0);
    assert.equal(guildCreate.t, 'GUILD_CREATE');
    assert.equal(guildCreate.s, 2);
    assert.equal(guildCreate.d.id, guild!.id);
    assert.equal(guildCreate.d.unavailable, false);
    assert.equal(guildCreate.d.channels[0].id, guild!.channelId);
    assert.equal(guildCreate.d.roles[0].id, guild!.id);
    assert.equal(typeof guildCreate.d.member_count, 'number');
  });

  it('closes with 4004 on a wrong token', async () => {
    const emulator = await startEmulator();
    const client = await RawClient.connect(emulator);
    await client.next();
    client.identify(emulator, { token: 'not-the-token' });
    assert.equal(
      (await within(client.closed, 'close')).code,
      GatewayCloseCode.AuthenticationFailed,
    );
    assert.equal(emulator.identifies[0]?.rejection, 'authentication-failed');
  });

  it('closes with 4010 on an invalid shard', async () => {
    const emulator = await startEmulator();
    const client = await RawClient.connect(emulator);
    await client.next();
    client.identify(emulator, { shard: [2, 2] });
    assert.equal((await within(client.closed, 'close')).code, GatewayCloseCode.InvalidShard);
    assert.equal(emulator.identifies[0]?.rejection, 'invalid-shard');
  });

  it('closes with 4011 when IDENTIFY uses fewer shards than required', async () => {
    const emulator = await startEmulator({ requiredShards: 4 });
    const client = await RawClient.connect(emulator);
    await client.next();
    client.identify(emulator, { shard: [0, 2] });
    assert.equal((await within(client.closed, 'close')).code, GatewayCloseCode.ShardingRequired);
    assert.equal(emulator.identifies[0]?.rejection, 'sharding-required');
  });

  it('answers a second IDENTIFY of a bucket inside the window with op 9 (not resumable)', async () => {
    const window = 60_000;
    const emulator = await startEmulator({ identifyWindow: window, shards: 2 });
    await identified(emulator, [0, 2]);
    const second = await RawClient.connect(emulator);
    await second.next();
    second.identify(emulator, { shard: [1, 2] });
    assert.deepEqual(await second.next(), {
      op: GatewayOp.InvalidSession,
      d: false,
      s: null,
      t: null,
    });
    const [first, refused] = emulator.identifies;
    assert.equal(first!.accepted, true);
    assert.equal(refused!.accepted, false);
    assert.equal(refused!.rejection, 'rate-limited');
    assert.equal(refused!.bucket, first!.bucket);
    // The rule, checked on the recorded times: the refused one came inside the window.
    assert.ok(refused!.at - first!.at < window);
  });

  it('accepts IDENTIFYs of different buckets at once (max_concurrency 2)', async () => {
    const emulator = await startEmulator({ identifyWindow: 60_000, shards: 2, maxConcurrency: 2 });
    await Promise.all([identified(emulator, [0, 2]), identified(emulator, [1, 2])]);
    assert.deepEqual(
      emulator.identifies
        .map((record) => [record.shardId, record.bucket, record.accepted])
        .toSorted(),
      [
        [0, 0, true],
        [1, 1, true],
      ],
    );
  });

  it('replays missed events on RESUME, then sends RESUMED', async () => {
    const emulator = await startEmulator();
    const { client, ready, lastSeq } = await identified(emulator);
    const closed = await emulator.disconnect(0);
    assert.equal(closed, true);
    assert.equal((await within(client.closed, 'close')).code, GatewayCloseCode.UnknownError);

    // Dispatched while no socket carries the session: buffered for the resume.
    const missed = [
      emulator.dispatch(0, 'EMULATOR_TICK', { n: 1 }),
      emulator.dispatch(0, 'EMULATOR_TICK', { n: 2 }),
    ];
    assert.deepEqual(
      missed.map((event) => [event.seq, event.delivered]),
      [
        [lastSeq + 1, false],
        [lastSeq + 2, false],
      ],
    );

    const again = await RawClient.connect(emulator);
    await again.next();
    const resume = emulator.waitFor('resume');
    again.send({
      op: GatewayOp.Resume,
      d: { token: emulator.token, session_id: ready.d.session_id, seq: lastSeq },
    });
    assert.deepEqual(await again.next(), {
      op: GatewayOp.Dispatch,
      t: 'EMULATOR_TICK',
      s: lastSeq + 1,
      d: { n: 1 },
    });
    assert.deepEqual((await again.next()).d, { n: 2 });
    const resumed = await again.next();
    assert.equal(resumed.t, 'RESUMED');
    assert.equal(resumed.s, lastSeq + 3);
    assert.deepEqual(await resume, {
      shardId: 0,
      sessionId: ready.d.session_id,
      fromSeq: lastSeq,
      replayed: 2,
      connectionId: 2,
      at: emulator.resumes[0]!.at,
      accepted: true,
    });
    assert.ok(missed.every((event) => event.delivered));

    // The resumed socket carries the session's new events.
    emulator.dispatch(0, 'EMULATOR_TICK', { n: 3 });
    assert.equal((await again.next()).s, lastSeq + 4);
  });

  it('asks for a reconnect (op 7) and invalidates sessions (op 9) on request', async () => {
    const emulator = await startEmulator();
    const { client, ready, lastSeq } = await identified(emulator);
    assert.equal(emulator.requestReconnect(0), true);
    assert.deepEqual(await client.next(), { op: GatewayOp.Reconnect, d: null, s: null, t: null });
    assert.equal(emulator.invalidateSession(0), true);
    assert.deepEqual(await client.next(), {
      op: GatewayOp.InvalidSession,
      d: false,
      s: null,
      t: null,
    });
    assert.throws(() => emulator.dispatch(0, 'EMULATOR_TICK', {}), /no live session/);
    client.socket.close(4200);
    await within(client.closed, 'close');

    const again = await RawClient.connect(emulator);
    await again.next();
    again.send({
      op: GatewayOp.Resume,
      d: { token: emulator.token, session_id: ready.d.session_id, seq: lastSeq },
    });
    assert.equal((await again.next()).op, GatewayOp.InvalidSession);
    assert.deepEqual(emulator.sessions, [
      {
        sessionId: ready.d.session_id,
        shardId: 0,
        totalShards: 1,
        seq: lastSeq,
        connected: false,
        resumable: false,
        current: true,
      },
    ]);
  });

  it('answers RESUME of an unknown session with op 9 (not resumable)', async () => {
    const emulator = await startEmulator();
    const client = await RawClient.connect(emulator);
    await client.next();
    client.send({
      op: GatewayOp.Resume,
      d: { token: emulator.token, session_id: 'no-such-session', seq: 3 },
    });
    assert.deepEqual(await client.next(), {
      op: GatewayOp.InvalidSession,
      d: false,
      s: null,
      t: null,
    });
    assert.equal(emulator.resumes[0]?.rejection, 'unknown-session');
  });

  it('closes with 4002 on malformed JSON and 4001 on an unknown opcode', async () => {
    const emulator = await startEmulator();
    const malformed = await RawClient.connect(emulator);
    await malformed.next();
    malformed.socket.send('{"op": 1,');
    assert.equal((await within(malformed.closed, 'close')).code, GatewayCloseCode.DecodeError);

    const unknown = await RawClient.connect(emulator);
    await unknown.next();
    unknown.send({ op: 42, d: null });
    assert.equal((await within(unknown.closed, 'close')).code, GatewayCloseCode.UnknownOpcode);
  });

  it('terminates every session and resets the token when the daily budget is exceeded', async () => {
    const emulator = await startEmulator({
      identifyWindow: 0,
      shards: 2,
      sessionStartLimit: { total: 1, remaining: 1 },
    });
    const { client: first } = await identified(emulator, [0, 2]);
    const second = await RawClient.connect(emulator);
    await second.next();
    const tokenReset = emulator.waitFor('tokenReset');
    second.identify(emulator, { shard: [1, 2] });
    await tokenReset;
    assert.equal(
      (await within(second.closed, 'close')).code,
      GatewayCloseCode.AuthenticationFailed,
    );
    assert.equal((await within(first.closed, 'close')).code, GatewayCloseCode.AuthenticationFailed);
    assert.equal(emulator.identifies[1]?.rejection, 'session-start-limit');
    assert.equal(emulator.tokenReset, true);
    const response = await fetch(`${emulator.apiBase}/v10/gateway/bot`, {
      headers: { authorization: `Bot ${emulator.token}` },
    });
    assert.equal(response.status, 401);
  });

  it('refuses ETF encoding and zstd compression at the upgrade, with the reason', async () => {
    const emulator = await startEmulator();
    for (const query of ['?v=10&encoding=etf', '?v=10&encoding=json&compress=zstd-stream']) {
      const socket = new WebSocket(`${emulator.url}/${query}`);
      const [error] = (await within(once(socket, 'error'), 'refusal')) as [Error];
      assert.match(error.message, /Unexpected server response: 400/);
    }
    assert.match(emulator.rejectedConnections[0]!.reason, /encoding=etf is not supported/);
    assert.match(emulator.rejectedConnections[1]!.reason, /compress=zstd-stream is not supported/);
  });
});

/**
 * A gateway client whose close stops halfway: `closeHalfway(code)` sends the close frame and
 * waits for the emulator's answering frame, but holds back the end of the TCP connection, so the
 * emulator has the close code while its socket is still closing. `finish()` ends it.
 */
async function halfClosingClient(
  emulator: GatewayEmulator,
): Promise<{ client: RawClient; closeHalfway: (code: number) => Promise<() => void> }> {
  let tcp: Socket | undefined;
  const createConnection = ((options: Parameters<typeof netConnect>[0]) =>
    (tcp = netConnect(options))) as typeof netConnect;
  const client = await RawClient.connect(emulator, undefined, { createConnection });
  const closeHalfway = async (code: number) => {
    const socket = tcp!;
    const end = socket.end.bind(socket);
    // ws ends the connection once the emulator's close frame arrives; that end is held back.
    socket.end = function (this: Socket) {
      return this;
    } as Socket['end'];
    // Nothing else is in flight on this connection then: the first byte is the frame's (close).
    const answered = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        if (chunk[0] === 0x88) resolve();
      });
    });
    client.socket.close(code);
    await within(answered, "the emulator's close frame");
    return () => {
      end();
    };
  };
  return { client, closeHalfway };
}

describe('GatewayEmulator: one connection per session', () => {
  it('takes a session RESUMEd elsewhere from the connection holding it: 4006, replay once, then only the new one', async () => {
    const emulator = await startEmulator();
    const identify = emulator.waitFor('identify');
    const { client: first, ready, lastSeq } = await identified(emulator);
    const sessionId = ready.d.session_id as string;
    // Events keep coming while the second connection resumes from what it was told earlier.
    emulator.startEventStream({ interval: 1, event: 'EMULATOR_TICK' });
    assert.equal((await first.next()).s, lastSeq + 1);

    const second = await RawClient.connect(emulator);
    assert.equal((await second.next()).op, GatewayOp.Hello);
    const takeover = emulator.waitFor('takeover');
    const resume = emulator.waitFor('resume');
    const closed = emulator.waitFor('close');
    second.resume(emulator, sessionId, lastSeq);
    const [taken, resumed, firstClosed, close] = await within(
      Promise.all([takeover, resume, first.closed, closed]),
      'the takeover',
    );

    assert.equal(firstClosed.code, GatewayCloseCode.SessionTakenOver);
    assert.deepEqual(taken, {
      sessionId,
      shardId: 0,
      fromConnectionId: (await identify).connectionId,
      toConnectionId: resumed.connectionId,
      fromSeq: lastSeq,
      seq: taken.seq,
      at: taken.at,
    });
    assert.notEqual(taken.fromConnectionId, taken.toConnectionId);
    assert.ok(taken.seq > lastSeq, 'the holder had events the RESUME asked for again');
    assert.deepEqual(emulator.takeovers, [taken]);
    assert.equal(resumed.accepted, true);
    assert.deepEqual(close, {
      shardId: 0,
      sessionId,
      connectionId: taken.fromConnectionId,
      code: GatewayCloseCode.SessionTakenOver,
      reason: close.reason,
      by: 'emulator',
      at: close.at,
    });

    emulator.stopEventStream();
    const marker = emulator.dispatch(0, 'EMULATOR_MARKER', {});
    const got: Payload[] = [];
    for (let payload = await second.next(); ; payload = await second.next()) {
      got.push(payload);
      if (payload.t === 'EMULATOR_MARKER') break;
    }
    // Every dispatch after the RESUME's seq, once, in order: the replay, RESUMED, then new ones.
    assert.deepEqual(
      got.map((payload) => payload.s),
      Array.from({ length: marker.seq - lastSeq }, (_, index) => lastSeq + 1 + index),
    );
    const resumedAt = got.findIndex((payload) => payload.t === 'RESUMED');
    assert.equal(resumedAt, resumed.replayed);
    assert.equal(resumed.replayed, taken.seq - lastSeq);
    // Nothing created after the takeover went to the old connection.
    const old = first.drain().filter((payload) => payload.op === GatewayOp.Dispatch);
    assert.ok(
      old.every((payload) => payload.s! <= taken.seq),
      `old connection got seqs ${old.map((payload) => payload.s).join(',')} after ${taken.seq}`,
    );
    assert.deepEqual(emulator.counters, {
      identified: 1,
      resumed: 1,
      invalidSessions: 0,
      takeovers: 1,
    });
    assert.deepEqual(
      emulator.sessions.map((session) => [session.connected, session.resumable, session.current]),
      [[true, true, true]],
    );
  });

  for (const [how, close, code] of [
    ['closed with 4200', (client: RawClient) => client.socket.close(4200), 4200],
    ['dropped (1006)', (client: RawClient) => client.socket.terminate(), 1006],
  ] as const) {
    it(`resumes a session whose connection was ${how}, without a takeover`, async () => {
      const emulator = await startEmulator();
      const { client, ready, lastSeq } = await identified(emulator);
      const closed = emulator.waitFor('close');
      close(client);
      const record = await closed;
      assert.deepEqual([record.code, record.by, record.shardId], [code, 'client', 0]);
      const missed = emulator.dispatch(0, 'EMULATOR_TICK', { n: 1 });

      const again = await RawClient.connect(emulator);
      await again.next();
      again.resume(emulator, ready.d.session_id, lastSeq);
      assert.deepEqual(await again.next(), {
        op: GatewayOp.Dispatch,
        t: 'EMULATOR_TICK',
        s: missed.seq,
        d: { n: 1 },
      });
      assert.equal((await again.next()).t, 'RESUMED');
      assert.deepEqual(emulator.takeovers, []);
      assert.deepEqual(emulator.counters, {
        identified: 1,
        resumed: 1,
        invalidSessions: 0,
        takeovers: 0,
      });
    });
  }

  for (const code of [1000, 1001]) {
    it(`ends a session whose client closed with ${code}: RESUME gets op 9, not resumable`, async () => {
      const emulator = await startEmulator();
      const { client, ready, lastSeq } = await identified(emulator);
      const closed = emulator.waitFor('close');
      client.socket.close(code);
      await closed;
      const again = await RawClient.connect(emulator);
      await again.next();
      again.resume(emulator, ready.d.session_id, lastSeq);
      assert.deepEqual(await again.next(), {
        op: GatewayOp.InvalidSession,
        d: false,
        s: null,
        t: null,
      });
      assert.equal(emulator.resumes[0]?.rejection, 'unknown-session');
      assert.equal(emulator.sessions[0]?.resumable, false);
      assert.deepEqual(emulator.takeovers, []);
      assert.equal(emulator.counters.invalidSessions, 1);
    });
  }

  for (const [code, resumable] of [
    [1000, false],
    [4200, true],
  ] as const) {
    it(`answers a RESUME only once a closing holder's close (${code}) is complete`, async () => {
      const emulator = await startEmulator();
      const { client: holder, closeHalfway } = await halfClosingClient(emulator);
      const { ready, lastSeq } = await identified(emulator, [0, 1], 1, holder);
      const finish = await closeHalfway(code);
      // The emulator has the close frame; the socket is still closing: events wait for a RESUME.
      const missed = emulator.dispatch(0, 'EMULATOR_TICK', { n: 1 });
      assert.equal(missed.delivered, false);

      const again = await RawClient.connect(emulator);
      await again.next();
      again.resume(emulator, ready.d.session_id, lastSeq);
      // Payloads of a connection are handled in order: the ACK shows the RESUME is waiting.
      again.send({ op: GatewayOp.Heartbeat, d: lastSeq });
      assert.equal((await again.next()).op, GatewayOp.HeartbeatAck);
      assert.deepEqual(emulator.resumes, []);

      const answered = emulator.waitFor('resume');
      finish();
      const record = await within(answered, 'the RESUME answered');
      assert.equal(emulator.closes[0]?.code, code);
      if (resumable) {
        assert.equal(record.accepted, true);
        assert.equal((await again.next()).s, missed.seq);
        assert.equal((await again.next()).t, 'RESUMED');
      } else {
        assert.equal(record.rejection, 'unknown-session');
        assert.deepEqual(await again.next(), {
          op: GatewayOp.InvalidSession,
          d: false,
          s: null,
          t: null,
        });
      }
      assert.deepEqual(emulator.takeovers, []);
    });
  }
});

describe('GatewayEmulator: HTTP API', () => {
  it('answers GET /gateway/bot with the session start limit for the right token', async () => {
    const emulator = await startEmulator({ shards: 3, maxConcurrency: 2 });
    for (const version of ['/v10', '/v9', '']) {
      const response = await fetch(`${emulator.apiBase}${version}/gateway/bot`, {
        headers: { authorization: `Bot ${emulator.token}` },
      });
      assert.equal(response.status, 200);
      const body = (await response.json()) as any;
      assert.equal(body.url, emulator.url);
      assert.equal(body.shards, 3);
      assert.deepEqual(
        { ...body.session_start_limit, reset_after: 0 },
        { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 2 },
      );
      assert.ok(body.session_start_limit.reset_after > 0);
    }
    assert.deepEqual(emulator.unknownRoutes, []);
  });

  it('answers 401 to a wrong token, GET /gateway without one, and 404 to other routes', async () => {
    const emulator = await startEmulator();
    const wrong = await fetch(`${emulator.apiBase}/v10/gateway/bot`, {
      headers: { authorization: 'Bot wrong' },
    });
    assert.equal(wrong.status, 401);
    assert.deepEqual(await wrong.json(), { message: '401: Unauthorized', code: 0 });

    const gateway = await fetch(`${emulator.apiBase}/v10/gateway`);
    assert.deepEqual(await gateway.json(), { url: emulator.url });

    const other = await fetch(`${emulator.apiBase}/v10/users/@me`);
    assert.equal(other.status, 404);
    assert.deepEqual(
      emulator.unknownRoutes.map((route) => [route.method, route.url, route.status]),
      [['GET', '/api/v10/users/@me', 404]],
    );
  });
});

/** A WebSocketManager pointed at the emulator, with its own session store; destroyed after the test. */
function webSocketManager(
  emulator: GatewayEmulator,
  options: Partial<ConstructorParameters<typeof WebSocketManager>[0]> = {},
): WebSocketManager {
  const sessions = new Map<number, SessionInfo>();
  const rest = new REST({ api: emulator.apiBase }).setToken(emulator.token);
  const manager = new WebSocketManager({
    token: emulator.token,
    intents: 0,
    rest,
    buildIdentifyThrottler: () => emulator.identifyThrottler(),
    retrieveSessionInfo: (shardId) => sessions.get(shardId) ?? null,
    updateSessionInfo: (shardId, session) => {
      if (session === null) sessions.delete(shardId);
      else sessions.set(shardId, session);
    },
    ...options,
  });
  defer(() => manager.destroy());
  return manager;
}

/** Resolves at the manager's next dispatch named `t`. */
function dispatched(manager: WebSocketManager, t: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (payload: { t: string }) => {
      if (payload.t !== t) return;
      manager.off(WebSocketShardEvents.Dispatch, listener);
      resolve();
    };
    manager.on(WebSocketShardEvents.Dispatch, listener);
  });
}

describe('GatewayEmulator with @discordjs/ws 2.x', () => {
  it('brings 4 shards to READY, one IDENTIFY per window, none refused', async () => {
    const window = 200;
    const emulator = await startEmulator({ identifyWindow: window, maxConcurrency: 1, shards: 4 });
    const manager = webSocketManager(emulator, { shardCount: 4 });
    const readyShards: number[] = [];
    manager.on(WebSocketShardEvents.Ready, (_data, shardId) => readyShards.push(shardId));

    await within(manager.connect(), 'READY of every shard');

    assert.deepEqual(readyShards.toSorted(), [0, 1, 2, 3]);
    const { identifies } = emulator;
    assert.equal(identifies.length, 4);
    assert.deepEqual(
      identifies.filter((record) => !record.accepted),
      [],
    );
    assertPaced(identifies, window);
    assert.deepEqual(emulator.unknownRoutes, []);
  });

  it('counts the identify window from the IDENTIFY that reached it, not from its grant', async () => {
    // A loaded machine can hold a granted IDENTIFY back for longer than the window: the next
    // grant of the bucket must wait for it to arrive, or its IDENTIFY lands inside the window.
    const window = 100;
    const emulator = await startEmulator({ identifyWindow: window, shards: 2 });
    const throttler = emulator.identifyThrottler();
    const [first, second] = await Promise.all([
      RawClient.connect(emulator),
      RawClient.connect(emulator),
    ]);
    await Promise.all([first.next(), second.next()]);
    const order: string[] = [];
    emulator.on('identify', (record) => order.push(`identify ${record.shardId}`));

    await throttler.waitForIdentify(0);
    const secondGranted = throttler.waitForIdentify(1).then(() => {
      order.push('grant 1');
      second.identify(emulator, { shard: [1, 2] });
    });
    // Shard 0's IDENTIFY is held back for three windows, as a busy event loop would.
    await new Promise((resolve) => setTimeout(resolve, 3 * window));
    first.identify(emulator, { shard: [0, 2] });
    await within(secondGranted, 'the second grant');
    assert.equal((await second.next()).t, 'READY');

    assert.deepEqual(order, ['identify 0', 'grant 1', 'identify 1']);
    assert.deepEqual(
      emulator.identifies.map((record) => [record.shardId, record.accepted]),
      [
        [0, true],
        [1, true],
      ],
    );
    assertPaced(emulator.identifies, window);
  });

  it('resumes over zlib-stream compression after a disconnect and gets the missed events', async () => {
    const emulator = await startEmulator({ identifyWindow: 0 });
    const manager = webSocketManager(emulator, {
      shardCount: 1,
      compression: CompressionMethod.ZlibNative,
    });
    const seen: string[] = [];
    manager.on(WebSocketShardEvents.Dispatch, (payload) => seen.push(payload.t));
    const guildCreate = dispatched(manager, 'GUILD_CREATE');
    await within(manager.connect(), 'READY of every shard');
    await within(guildCreate, 'GUILD_CREATE');
    assert.deepEqual(seen, ['READY', 'GUILD_CREATE']);

    const resumed = Promise.all([
      once(manager, WebSocketShardEvents.Resumed),
      dispatched(manager, 'RESUMED'),
    ]);
    await emulator.disconnect(0);
    emulator.dispatch(0, 'EMULATOR_TICK', { n: 1 });
    await within(resumed, 'RESUMED');
    assert.deepEqual(seen, ['READY', 'GUILD_CREATE', 'EMULATOR_TICK', 'RESUMED']);
    assert.deepEqual(
      emulator.resumes.map((record) => [record.accepted, record.replayed]),
      [[true, 1]],
    );
    assert.equal(emulator.identifies.length, 1);
  });

  it('compresses payloads after an IDENTIFY with compress: true', async () => {
    const emulator = await startEmulator({ identifyWindow: 0 });
    const manager = webSocketManager(emulator, { shardCount: 1, useIdentifyCompression: true });
    const guildCreate = dispatched(manager, 'GUILD_CREATE');
    await within(manager.connect(), 'READY');
    await within(guildCreate, 'GUILD_CREATE');
    assert.equal(emulator.identifies[0]?.accepted, true);
  });
});

describe('GatewayEmulator with discord.js 14', () => {
  it('logs a Client in on 2 shards, caches the guilds and delivers the event stream', async () => {
    const emulator = await startEmulator({ identifyWindow: 100, shards: 2, guildsPerShard: 2 });
    const client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages],
      rest: { api: emulator.apiBase },
      shards: [0, 1],
      shardCount: 2,
      ws: { buildIdentifyThrottler: () => emulator.identifyThrottler() },
    });
    defer(() => client.destroy());

    const ready = once(client, Events.ClientReady);
    await client.login(emulator.token);
    await within(ready, 'clientReady');

    const expected = [...emulator.guildDetailsOf(0), ...emulator.guildDetailsOf(1)];
    assert.deepEqual(
      [...client.guilds.cache.keys()].toSorted(),
      expected.map((guild) => guild.id).toSorted(),
    );
    for (const guild of expected) {
      const cached = client.guilds.cache.get(guild.id)!;
      assert.equal(cached.shardId, guild.shardId);
      assert.equal(cached.available, true);
      assert.ok(cached.channels.cache.has(guild.channelId));
    }
    assert.equal(client.user?.id, EMULATOR_BOT_USER.id);
    assert.deepEqual(emulator.unknownRoutes, []);

    // 3 ticks to 2 shards: messages 1-6, each becoming a discord.js Message in its guild.
    const messages: Message[] = [];
    const allMessages = new Promise<void>((resolve) => {
      client.on(Events.MessageCreate, (message) => {
        messages.push(message);
        if (messages.length === 6) resolve();
      });
    });
    emulator.startEventStream({ interval: 10, ticks: 3 });
    await within(allMessages, 'six messageCreate events');
    assert.equal(messages.length, 6);
    assert.deepEqual(
      messages.map((message) => message.content).toSorted(),
      [1, 2, 3, 4, 5, 6].map((n) => `emulator event ${n}`).toSorted(),
    );
    assert.ok(messages.every((message) => message.inGuild()));
  });
});

describe('the testing entry without ws', () => {
  it('fails to load with MissingPeerDependencyError naming the package', async () => {
    // A copy of the compiled library beside every installed package except ws: module resolution
    // then really cannot find it, as in an application that did not install the optional peer.
    const compiled = fileURLToPath(new URL('../src', import.meta.url));
    const installed = fileURLToPath(new URL('../../node_modules', import.meta.url));
    const root = await mkdtemp(join(tmpdir(), 'sharding-no-ws-'));
    defer(() => rm(root, { recursive: true, force: true }));
    await cp(compiled, join(root, 'src'), { recursive: true });
    await writeFile(join(root, 'package.json'), '{ "type": "module" }');
    await mkdir(join(root, 'node_modules'));
    for (const name of await readdir(installed)) {
      if (name !== 'ws' && !name.startsWith('.')) {
        await symlink(join(installed, name), join(root, 'node_modules', name));
      }
    }
    await writeFile(
      join(root, 'probe.js'),
      "import('./src/testing/index.js').then(() => console.log('{}'), (error) =>" +
        ' console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message })));',
    );
    const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'probe.js')], {
      cwd: root,
    });
    const failure = JSON.parse(stdout) as { name?: string; code?: string; message?: string };
    assert.equal(failure.name, 'MissingPeerDependencyError', stdout);
    assert.equal(failure.code, 'ERR_SHARDING_MISSING_PEER');
    assert.match(failure.message!, /"ws"/);
  });
});
