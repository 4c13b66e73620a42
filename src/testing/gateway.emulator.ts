import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import { EmulatorConnection, type TransportCompression } from './emulator.connection.js';
import { ws } from './ws.loader.js';
import { EmulatorIdentifyThrottler } from './emulator-identify.throttler.js';
import {
  emulatedGuild,
  guildCreateData,
  messageCreateData,
  readyData,
} from './emulator.payloads.js';
import {
  GATEWAY_EMULATOR_API_VERSIONS,
  GATEWAY_EMULATOR_DEFAULTS,
  GATEWAY_MAX_PAYLOAD,
  GatewayCloseCode,
  GatewayOp,
} from './gateway-emulator.constants.js';
import type { GatewayEmulatorOptions } from './gateway-emulator.options.js';
import type {
  CloseRecord,
  EmulatedGuild,
  EmulatedSessionInfo,
  GatewayEmulatorCounters,
  GatewayEmulatorEvents,
  HttpRequestRecord,
  IdentifyRecord,
  IdentifyRejection,
  ReadyRecord,
  RejectedConnection,
  ResumeRecord,
  ResumeRejection,
  SentEvent,
  SessionTakeover,
} from './gateway-emulator.records.js';

/** Options of {@link GatewayEmulator.startEventStream}. */
export interface EventStreamOptions {
  /** Time between two ticks, in ms; each tick sends one event to every selected shard. */
  interval: number;
  /**
   * Event name (`t`). Default `'MESSAGE_CREATE'`: a message `emulator event <n>` (nonce `<n>`)
   * in the shard's guild's `#general`, which discord.js turns into a `messageCreate`. Any other
   * name sends `{ n, shard_id, guild_id }`; discord.js ignores unknown names but still emits
   * them as `raw`.
   */
  event?: string;
  /** Shards to send to. Default: every shard with a live session, at each tick. */
  shards?: readonly number[];
  /** Stop after this many ticks (then `streamEnd` is emitted). Default: until `stopEventStream()`. */
  ticks?: number;
}

/** A gateway session the emulator started with READY. */
interface Session {
  id: string;
  shardId: number;
  totalShards: number;
  seq: number;
  /** Every dispatch of the session, for replay on RESUME. */
  events: SentEvent[];
  connection: Connection | undefined;
  resumable: boolean;
  guilds: EmulatedGuild[];
}

type Connection = EmulatorConnection<Session>;

interface ResolvedOptions {
  port: number;
  token: string;
  shards: number;
  requiredShards: number;
  maxConcurrency: number;
  identifyWindow: number;
  heartbeatInterval: number;
  guildsPerShard: number;
  sessionStartLimit: { total: number; remaining: number; resetAfter: number };
}

interface EventStream {
  timer: NodeJS.Timeout;
  options: EventStreamOptions;
  ticks: number;
  n: number;
}

/** Events that are part of a session's handshake and are never replayed. */
const NOT_REPLAYED = new Set(['READY', 'RESUMED']);

/** Milliseconds since the Unix epoch, from a monotonic clock. */
const now = (): number => performance.timeOrigin + performance.now();

/**
 * A Discord gateway (v10, JSON encoding, optional `zlib-stream` transport compression) and the
 * part of the HTTP API a bot needs to log in (`GET /gateway/bot`, `GET /gateway`), on one
 * loopback port, so that bots and their sharding can be tested without a token. Enforces what
 * sharding depends on: the token, shard validity and required shard count, one IDENTIFY per
 * bucket per `identifyWindow`, the daily session start budget, RESUME with replay of missed
 * events, and one connection per session: a RESUME takes the session from a connection that
 * still holds it, which is closed with 4006 (`SessionTakenOver`) and recorded in `takeovers`.
 * A session whose client closed with 1000 or 1001 ends (RESUME gets op 9); any other close
 * keeps it resumable. Records every IDENTIFY, RESUME, takeover, dispatch, close and HTTP request
 * for assertions, and emits `identify`, `resume`, `takeover`, `ready`, `dispatch`, `close`
 * events (see `waitFor`).
 *
 * Not emulated: ETF encoding and `zstd-stream` (the upgrade is refused with HTTP 400), the
 * gateway send rate limit, heartbeat timeouts, intents filtering (every event is sent whatever
 * the intents), and any REST route beyond the gateway ones (answered 404 and recorded in
 * `unknownRoutes`).
 *
 * @example
 * ```ts
 * const emulator = await GatewayEmulator.start({ identifyWindow: 200 });
 * const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: emulator.apiBase } });
 * await client.login(emulator.token);
 * // ...
 * await client.destroy();
 * await emulator.close();
 * ```
 */
export class GatewayEmulator extends EventEmitter<GatewayEmulatorEvents> {
  /** Every IDENTIFY received, accepted or not, in order. */
  readonly identifies: IdentifyRecord[] = [];
  /** Every RESUME received, accepted or not, in order. */
  readonly resumes: ResumeRecord[] = [];
  /**
   * Every session taken from a connection that still held it, in order: a RESUME on a new
   * connection before the old one closed. Empty when every handover let go before resuming.
   */
  readonly takeovers: SessionTakeover[] = [];
  /** Every gateway connection that closed, in order. */
  readonly closes: CloseRecord[] = [];
  /** Every HTTP request, in order. */
  readonly requests: HttpRequestRecord[] = [];
  /** HTTP requests the emulator has no route for (answered 404, or 405 for a wrong method). */
  readonly unknownRoutes: HttpRequestRecord[] = [];
  /** WebSocket upgrades refused (wrong path, `encoding=etf`, unsupported compression). */
  readonly rejectedConnections: RejectedConnection[] = [];

  private readonly options: ResolvedOptions;
  private readonly server: Server;
  private readonly webSockets = new ws.WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  private readonly connections = new Set<Connection>();
  private readonly sessionsById = new Map<string, Session>();
  private readonly currentSessions = new Map<number, Session>();
  private readonly events: SentEvent[] = [];
  /** When each bucket last accepted an IDENTIFY. */
  private readonly lastIdentifyAt = new Map<number, number>();
  private remaining: number;
  private budgetResetsAt: number;
  private tokenWasReset = false;
  private invalidSessionsSent = 0;
  private lastConnectionId = 0;
  private port = 0;
  private stream: EventStream | undefined;
  private closing: Promise<void> | undefined;
  private readonly joinedAt = new Date().toISOString();

  private constructor(options: ResolvedOptions) {
    super();
    this.options = options;
    this.remaining = options.sessionStartLimit.remaining;
    this.budgetResetsAt = now() + options.sessionStartLimit.resetAfter;
    this.server = createServer((request, response) => this.onRequest(request, response));
    this.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(request, socket, head),
    );
  }

  /** Starts an emulator listening on 127.0.0.1 (`options.port`, default a free port). */
  static async start(options: GatewayEmulatorOptions = {}): Promise<GatewayEmulator> {
    const emulator = new GatewayEmulator(resolveOptions(options));
    emulator.server.listen(emulator.options.port, '127.0.0.1');
    await once(emulator.server, 'listening');
    emulator.port = (emulator.server.address() as AddressInfo).port;
    return emulator;
  }

  /** The gateway URL, `ws://127.0.0.1:<port>` (what `GET /gateway/bot` answers as `url`). */
  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /**
   * The HTTP API base without version, `http://127.0.0.1:<port>/api`: discord.js's `rest.api`
   * option and `@discordjs/rest`'s `api` option (they append `/v10`).
   */
  get apiBase(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  /** The token the emulator accepts. */
  get token(): string {
    return this.options.token;
  }

  /** Whether the daily budget was exceeded, so the token no longer works. */
  get tokenReset(): boolean {
    return this.tokenWasReset;
  }

  /** IDENTIFYs left in the daily budget (`session_start_limit.remaining`). */
  get sessionStartRemaining(): number {
    this.refillBudget();
    return this.remaining;
  }

  /** Running totals: sessions started and resumed, op 9 sent, sessions taken over. A snapshot. */
  get counters(): GatewayEmulatorCounters {
    return {
      identified: this.identifies.filter((record) => record.accepted).length,
      resumed: this.resumes.filter((record) => record.accepted).length,
      invalidSessions: this.invalidSessionsSent,
      takeovers: this.takeovers.length,
    };
  }

  /** A snapshot of every session READY was sent for, oldest first. */
  get sessions(): EmulatedSessionInfo[] {
    return [...this.sessionsById.values()].map((session) => ({
      sessionId: session.id,
      shardId: session.shardId,
      totalShards: session.totalShards,
      seq: session.seq,
      connected: session.connection !== undefined,
      resumable: session.resumable,
      current: this.currentSessions.get(session.shardId) === session,
    }));
  }

  /** Every dispatch created so far (sent, or buffered for a resume), oldest first; of one shard if given. */
  sentEvents(shardId?: number): SentEvent[] {
    return shardId === undefined
      ? [...this.events]
      : this.events.filter((event) => event.shardId === shardId);
  }

  /**
   * Ids of the guilds of `shardId` for `totalShards` shards (default: the shard count of the
   * shard's current session, else the recommended `shards`). Deterministic: the same ids every
   * time, with `(BigInt(id) >> 22n) % BigInt(totalShards) === shardId`.
   */
  guildsOf(shardId: number, totalShards?: number): string[] {
    return this.guildDetailsOf(shardId, totalShards).map((guild) => guild.id);
  }

  /** The guilds of `shardId` as {@link guildsOf} picks them, with their names and channel ids. */
  guildDetailsOf(shardId: number, totalShards?: number): EmulatedGuild[] {
    const total =
      totalShards ?? this.currentSessions.get(shardId)?.totalShards ?? this.options.shards;
    if (!Number.isInteger(shardId) || shardId < 0 || shardId >= total) {
      throw new RangeError(`Shard ${shardId} does not exist with ${total} shard(s).`);
    }
    return Array.from({ length: this.options.guildsPerShard }, (_, index) =>
      emulatedGuild(shardId, total, index),
    );
  }

  /**
   * Sends a dispatch (op 0) to the current session of `shardId`, with the session's next
   * sequence number. If no socket carries the session now, the event waits for the client to
   * RESUME and is replayed then. Throws if the shard has no live session.
   */
  dispatch(shardId: number, t: string, d: unknown): SentEvent {
    return this.dispatchOn(this.liveSession(shardId), t, d);
  }

  /**
   * Closes the socket of `shardId`'s current session with `code` (default 4000, which clients
   * answer with RESUME). The session stays resumable; events dispatched meanwhile are replayed.
   * Resolves to false when no socket was connected.
   */
  async disconnect(
    shardId: number,
    code: number = GatewayCloseCode.UnknownError,
  ): Promise<boolean> {
    const connection = this.currentSessions.get(shardId)?.connection;
    if (connection === undefined) return false;
    await connection.close(code, 'Disconnected by the gateway emulator.');
    return true;
  }

  /** Sends op 7 (RECONNECT) to `shardId`'s current socket: the client should reconnect and RESUME. */
  requestReconnect(shardId: number): boolean {
    const connection = this.currentSessions.get(shardId)?.connection;
    connection?.send({ op: GatewayOp.Reconnect, d: null, s: null, t: null });
    return connection !== undefined;
  }

  /**
   * Sends op 9 (INVALID_SESSION) with `d: resumable` to `shardId`'s current socket. When not
   * resumable (the default) the session is dropped, so the client must IDENTIFY again.
   */
  invalidateSession(shardId: number, resumable = false): boolean {
    const session = this.currentSessions.get(shardId);
    if (session === undefined) return false;
    if (!resumable) session.resumable = false;
    if (session.connection === undefined) return false;
    this.sendInvalidSession(session.connection, resumable);
    return true;
  }

  /**
   * Starts sending numbered test events (replacing a running stream): every `interval` ms, one
   * event to each selected shard's current session, numbered `n` = 1, 2, 3... across the stream.
   * Shards without a socket get them buffered for their RESUME.
   */
  /**
   * Changes Discord's shard recommendation while the emulator runs: `GET /gateway/bot` answers
   * `shards` from now on, and an IDENTIFY with a smaller total than `required` (default `shards`)
   * is closed with 4011 (sharding required), as Discord does when a bot outgrows its shard count.
   */
  recommendShards(shards: number, required = shards): void {
    checkInteger('shards', shards, 1);
    checkInteger('required', required, 1);
    this.options.shards = shards;
    this.options.requiredShards = required;
  }

  startEventStream(options: EventStreamOptions): void {
    if (!(options.interval > 0)) {
      throw new RangeError(`startEventStream: interval must be a positive number of ms.`);
    }
    this.stopEventStream();
    const stream: EventStream = {
      options,
      ticks: 0,
      n: 0,
      timer: setInterval(() => this.tick(stream), options.interval),
    };
    stream.timer.unref();
    this.stream = stream;
  }

  /** Stops the event stream, if any. */
  stopEventStream(): void {
    if (this.stream === undefined) return;
    clearInterval(this.stream.timer);
    this.stream = undefined;
  }

  /**
   * An identify throttler paced by this emulator's `identifyWindow` and `maxConcurrency`, for
   * `@discordjs/ws`'s `buildIdentifyThrottler` or discord.js's `ws.buildIdentifyThrottler`
   * (their default throttler always waits Discord's 5 s). One per `WebSocketManager`.
   */
  identifyThrottler(margin?: number): EmulatorIdentifyThrottler {
    return new EmulatorIdentifyThrottler({
      identifyWindow: this.options.identifyWindow,
      maxConcurrency: this.options.maxConcurrency,
      emulator: this,
      ...(margin !== undefined && { margin }),
    });
  }

  /**
   * Resolves with the next `event` that satisfies `predicate`; rejects after `timeout` ms
   * (default 10000). Only events emitted after the call count, so call it before acting.
   */
  waitFor<K extends keyof GatewayEmulatorEvents>(
    event: K,
    predicate: (...args: GatewayEmulatorEvents[K]) => boolean = () => true,
    timeout = 10_000,
  ): Promise<GatewayEmulatorEvents[K][0]> {
    return new Promise((resolve, reject) => {
      const listener = (...args: GatewayEmulatorEvents[K]) => {
        if (!predicate(...args)) return;
        cleanUp();
        resolve(args[0]);
      };
      const timer = setTimeout(() => {
        cleanUp();
        reject(new Error(`GatewayEmulator: no '${event}' event within ${timeout} ms.`));
      }, timeout);
      const cleanUp = () => {
        clearTimeout(timer);
        this.off(event, listener as never);
      };
      this.on(event, listener as never);
    });
  }

  /** Closes every socket (code 1001) and the server. Idempotent; later calls share the first. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.stopEventStream();
    await Promise.all(
      [...this.connections].map((connection) =>
        connection.close(1001, 'The gateway emulator is closing.'),
      ),
    );
    await new Promise<void>((resolve) => this.webSockets.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- HTTP ----

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    const method = request.method ?? 'GET';
    const target = request.url ?? '/';
    const path = new URL(target, 'http://127.0.0.1').pathname.replace(/\/+$/, '');
    const route = apiRoute(path);
    let status: number;
    let body: unknown;
    if (route === '/gateway/bot' || route === '/gateway') {
      if (method !== 'GET' && method !== 'HEAD') {
        [status, body] = [405, { message: '405: Method Not Allowed', code: 0 }];
      } else if (route === '/gateway') {
        [status, body] = [200, { url: this.url }];
      } else if (!this.authorized(request.headers.authorization)) {
        [status, body] = [401, { message: '401: Unauthorized', code: 0 }];
      } else {
        [status, body] = [200, this.gatewayBot()];
      }
    } else {
      [status, body] = [404, { message: '404: Not Found', code: 0 }];
    }
    const record: HttpRequestRecord = { method, url: target, status, at: now() };
    this.requests.push(record);
    if (status === 404 || status === 405) this.unknownRoutes.push(record);
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    response.end(method === 'HEAD' ? undefined : text);
  }

  private authorized(header: string | undefined): boolean {
    return !this.tokenWasReset && header === `Bot ${this.options.token}`;
  }

  private gatewayBot() {
    this.refillBudget();
    return {
      url: this.url,
      shards: this.options.shards,
      session_start_limit: {
        total: this.options.sessionStartLimit.total,
        remaining: this.remaining,
        reset_after: Math.max(0, Math.round(this.budgetResetsAt - now())),
        max_concurrency: this.options.maxConcurrency,
      },
    };
  }

  private refillBudget(): void {
    if (now() < this.budgetResetsAt) return;
    this.remaining = this.options.sessionStartLimit.total;
    this.budgetResetsAt = now() + this.options.sessionStartLimit.resetAfter;
  }

  // ---- WebSocket ----

  private onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const target = new URL(request.url ?? '/', 'http://127.0.0.1');
    const encoding = target.searchParams.get('encoding') ?? 'json';
    const compress = target.searchParams.get('compress');
    let refusal: [number, string] | undefined;
    if (this.closing !== undefined) {
      refusal = [503, 'The gateway emulator is closing.'];
    } else if (target.pathname !== '/') {
      refusal = [
        404,
        `No gateway at ${target.pathname}; connect to ${this.url}/?v=10&encoding=json.`,
      ];
    } else if (encoding !== 'json') {
      refusal = [
        400,
        `encoding=${encoding} is not supported by the gateway emulator; use encoding=json.`,
      ];
    } else if (compress !== null && compress !== 'zlib-stream') {
      refusal = [
        400,
        `compress=${compress} is not supported by the gateway emulator; use compress=zlib-stream or no compression.`,
      ];
    }
    if (refusal !== undefined) {
      const [status, reason] = refusal;
      this.rejectedConnections.push({ url: request.url ?? '/', status, reason, at: now() });
      socket.end(
        `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : status === 503 ? 'Service Unavailable' : 'Bad Request'}\r\n` +
          `content-type: text/plain\r\ncontent-length: ${Buffer.byteLength(reason)}\r\nconnection: close\r\n\r\n${reason}`,
      );
      return;
    }
    this.webSockets.handleUpgrade(request, socket, head, (webSocket) =>
      this.onConnection(webSocket, compress as TransportCompression, target.searchParams.get('v')),
    );
  }

  private onConnection(
    webSocket: WebSocket,
    compression: TransportCompression,
    version: string | null,
  ): void {
    this.lastConnectionId += 1;
    const connection: Connection = new EmulatorConnection(
      this.lastConnectionId,
      webSocket,
      compression,
    );
    this.connections.add(connection);
    webSocket.on('message', (data) => this.onMessage(connection, data));
    webSocket.on('close', (code, reason) => this.onClose(connection, code, reason.toString()));
    // A socket error is followed by 'close', which records it.
    webSocket.on('error', () => undefined);
    if (version !== null && !GATEWAY_EMULATOR_API_VERSIONS.includes(Number(version))) {
      void connection.close(GatewayCloseCode.InvalidApiVersion, 'Invalid API version.');
      return;
    }
    connection.send({
      op: GatewayOp.Hello,
      d: { heartbeat_interval: this.options.heartbeatInterval },
      s: null,
      t: null,
    });
  }

  private onClose(connection: Connection, code: number, reason: string): void {
    this.connections.delete(connection);
    connection.dispose();
    const session = connection.session;
    const byEmulator = connection.closedByEmulator;
    const record: CloseRecord = {
      ...(session !== undefined && { shardId: session.shardId, sessionId: session.id }),
      connectionId: connection.id,
      code: byEmulator?.code ?? code,
      reason: byEmulator?.reason ?? reason,
      by: byEmulator === undefined ? 'client' : 'emulator',
      at: now(),
    };
    if (session !== undefined && session.connection === connection) {
      session.connection = undefined;
      // Discord ends a session that its client closes normally: it cannot be resumed.
      if (byEmulator === undefined && (code === 1000 || code === 1001)) session.resumable = false;
    }
    this.closes.push(record);
    this.emit('close', record);
  }

  private onMessage(connection: Connection, data: RawData): void {
    if (connection.closedByEmulator !== undefined) return;
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data);
    if (bytes.length > GATEWAY_MAX_PAYLOAD) {
      void connection.close(GatewayCloseCode.DecodeError, 'Payload too large.');
      return;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(bytes.toString('utf8'));
    } catch {
      payload = undefined;
    }
    if (!isRecord(payload) || typeof payload.op !== 'number') {
      void connection.close(GatewayCloseCode.DecodeError, 'Error while decoding payload.');
      return;
    }
    switch (payload.op) {
      case GatewayOp.Heartbeat:
        connection.send({ op: GatewayOp.HeartbeatAck, d: null, s: null, t: null });
        return;
      case GatewayOp.Identify:
        this.onIdentify(connection, payload.d);
        return;
      case GatewayOp.Resume:
        this.onResume(connection, payload.d);
        return;
      case GatewayOp.PresenceUpdate:
      case GatewayOp.VoiceStateUpdate:
      case GatewayOp.RequestGuildMembers:
      case GatewayOp.RequestSoundboardSounds:
        if (connection.session === undefined) {
          void connection.close(GatewayCloseCode.NotAuthenticated, 'Not authenticated.');
        }
        return;
      default:
        void connection.close(GatewayCloseCode.UnknownOpcode, 'Unknown opcode.');
    }
  }

  /** Why a connection may not IDENTIFY or RESUME with `token` (the same rules for both). */
  private authFailure(
    connection: Connection,
    token: unknown,
  ): ['already-authenticated' | 'authentication-failed', number, string] | undefined {
    if (connection.session !== undefined || connection.resumePending) {
      return [
        'already-authenticated',
        GatewayCloseCode.AlreadyAuthenticated,
        'Already authenticated.',
      ];
    }
    if (token !== this.options.token || this.tokenWasReset) {
      return [
        'authentication-failed',
        GatewayCloseCode.AuthenticationFailed,
        'Authentication failed.',
      ];
    }
    return undefined;
  }

  /** Refuses an IDENTIFY or RESUME: op 9 (not resumable) without a close code, else the close. */
  private answerRefusal(connection: Connection, code?: number, reason?: string): void {
    if (code === undefined) {
      this.sendInvalidSession(connection, false);
    } else {
      void connection.close(code, reason!);
    }
  }

  private sendInvalidSession(connection: Connection, resumable: boolean): void {
    this.invalidSessionsSent += 1;
    connection.send({ op: GatewayOp.InvalidSession, d: resumable, s: null, t: null });
  }

  private onIdentify(connection: Connection, d: unknown): void {
    if (!isRecord(d)) {
      void connection.close(GatewayCloseCode.DecodeError, 'Error while decoding payload.');
      return;
    }
    const at = now();
    const shard = parseShard(d.shard);
    const shardId = shard?.[0] ?? -1;
    const totalShards = shard?.[1] ?? -1;
    const bucket = shard === undefined ? -1 : shardId % this.options.maxConcurrency;
    const refuse = (rejection: IdentifyRejection, code?: number, reason?: string) => {
      this.record('identify', this.identifies, {
        shardId,
        totalShards,
        bucket,
        connectionId: connection.id,
        at,
        accepted: false,
        rejection,
      });
      this.answerRefusal(connection, code, reason);
    };

    const authFailure = this.authFailure(connection, d.token);
    if (authFailure !== undefined) return refuse(...authFailure);
    if (shard === undefined) {
      return refuse('invalid-shard', GatewayCloseCode.InvalidShard, 'Invalid shard.');
    }
    if (typeof d.intents !== 'number' || !Number.isInteger(d.intents) || d.intents < 0) {
      return refuse('invalid-intents', GatewayCloseCode.InvalidIntents, 'Invalid intent(s).');
    }
    if (totalShards < this.options.requiredShards) {
      return refuse('sharding-required', GatewayCloseCode.ShardingRequired, 'Sharding required.');
    }
    const last = this.lastIdentifyAt.get(bucket);
    if (last !== undefined && at - last < this.options.identifyWindow) {
      return refuse('rate-limited');
    }
    this.refillBudget();
    if (this.remaining <= 0) {
      refuse(
        'session-start-limit',
        GatewayCloseCode.AuthenticationFailed,
        'Authentication failed.',
      );
      this.resetToken();
      return;
    }

    this.remaining -= 1;
    this.lastIdentifyAt.set(bucket, at);
    const session: Session = {
      id: randomBytes(16).toString('hex'),
      shardId,
      totalShards,
      seq: 0,
      events: [],
      connection,
      resumable: true,
      guilds: Array.from({ length: this.options.guildsPerShard }, (_, index) =>
        emulatedGuild(shardId, totalShards, index),
      ),
    };
    this.sessionsById.set(session.id, session);
    this.currentSessions.set(shardId, session);
    connection.session = session;
    if (d.compress === true) connection.compressPayloads();
    this.record('identify', this.identifies, {
      shardId,
      totalShards,
      bucket,
      connectionId: connection.id,
      at,
      accepted: true,
      sessionId: session.id,
    });

    this.dispatchOn(
      session,
      'READY',
      readyData({
        sessionId: session.id,
        resumeUrl: this.url,
        shardId,
        totalShards,
        guilds: session.guilds,
      }),
    );
    for (const guild of session.guilds) {
      this.dispatchOn(session, 'GUILD_CREATE', guildCreateData(guild, this.joinedAt));
    }
    const ready: ReadyRecord = {
      shardId,
      totalShards,
      sessionId: session.id,
      guildIds: session.guilds.map((guild) => guild.id),
      at,
    };
    this.emit('ready', ready);
  }

  /** `at`: when the RESUME arrived, if it waited for the session's previous socket to close. */
  private onResume(connection: Connection, d: unknown, at = now()): void {
    if (!isRecord(d)) {
      void connection.close(GatewayCloseCode.DecodeError, 'Error while decoding payload.');
      return;
    }
    const sessionId = typeof d.session_id === 'string' ? d.session_id : String(d.session_id);
    const fromSeq = d.seq === null || d.seq === undefined ? 0 : Number(d.seq);
    const session = this.sessionsById.get(sessionId);
    const refuse = (rejection: ResumeRejection, code?: number, reason?: string) => {
      this.record('resume', this.resumes, {
        ...(session !== undefined && { shardId: session.shardId }),
        sessionId,
        fromSeq,
        replayed: 0,
        connectionId: connection.id,
        at,
        accepted: false,
        rejection,
      });
      this.answerRefusal(connection, code, reason);
    };

    const authFailure = this.authFailure(connection, d.token);
    if (authFailure !== undefined) return refuse(...authFailure);
    if (session === undefined || !session.resumable) return refuse('unknown-session');
    if (!Number.isInteger(fromSeq) || fromSeq < 0 || fromSeq > session.seq) {
      return refuse('invalid-seq', GatewayCloseCode.InvalidSeq, 'Invalid seq.');
    }

    const holder = session.connection;
    if (holder?.closingByClient) {
      // The holder's client sent its close frame, but the code is known only once the socket
      // has closed, and 1000/1001 ends the session: answer when that is settled, as Discord,
      // which reads the close before the RESUME, would.
      connection.resumePending = true;
      void holder.closed.then(() => {
        connection.resumePending = false;
        if (connection.live) this.onResume(connection, d, at);
      });
      return;
    }
    let takeover: SessionTakeover | undefined;
    if (holder?.live) {
      // Discord keeps one connection per session: the RESUME takes it, the holder is closed.
      takeover = {
        sessionId,
        shardId: session.shardId,
        fromConnectionId: holder.id,
        toConnectionId: connection.id,
        fromSeq,
        seq: session.seq,
        at,
      };
      this.takeovers.push(takeover);
      void holder.close(
        GatewayCloseCode.SessionTakenOver,
        'Session resumed on another connection.',
      );
    }
    // From here on, every dispatch of the session goes to this connection only.
    session.connection = connection;
    connection.session = session;
    let replayed = 0;
    for (const event of session.events) {
      if (event.seq <= fromSeq || NOT_REPLAYED.has(event.t)) continue;
      connection.send({ op: GatewayOp.Dispatch, t: event.t, s: event.seq, d: event.d });
      event.delivered = true;
      replayed += 1;
    }
    this.dispatchOn(session, 'RESUMED', {});
    // Announced only now, so that a listener's dispatch cannot come before the replay.
    if (takeover !== undefined) this.emit('takeover', takeover);
    this.record('resume', this.resumes, {
      shardId: session.shardId,
      sessionId,
      fromSeq,
      replayed,
      connectionId: connection.id,
      at,
      accepted: true,
    });
  }

  // ---- Sessions and events ----

  private dispatchOn(session: Session, t: string, d: unknown): SentEvent {
    session.seq += 1;
    const event: SentEvent = {
      shardId: session.shardId,
      sessionId: session.id,
      seq: session.seq,
      t,
      d,
      at: now(),
      delivered: false,
    };
    session.events.push(event);
    this.events.push(event);
    const connection = session.connection;
    if (connection?.live) {
      connection.send({ op: GatewayOp.Dispatch, t, s: event.seq, d });
      event.delivered = true;
    }
    this.emit('dispatch', event);
    return event;
  }

  private liveSession(shardId: number): Session {
    const session = this.currentSessions.get(shardId);
    if (session === undefined || !session.resumable) {
      throw new Error(
        `GatewayEmulator: shard ${shardId} has no live session (it never identified, or its session ended).`,
      );
    }
    return session;
  }

  private tick(stream: EventStream): void {
    const { options } = stream;
    stream.ticks += 1;
    const shardIds = options.shards ?? [...this.currentSessions.keys()].toSorted((a, b) => a - b);
    for (const shardId of shardIds) {
      const session = this.currentSessions.get(shardId);
      if (session === undefined || !session.resumable) continue;
      stream.n += 1;
      const guild = session.guilds[(stream.n - 1) % Math.max(1, session.guilds.length)];
      const event = options.event ?? 'MESSAGE_CREATE';
      const d =
        event === 'MESSAGE_CREATE' && guild !== undefined
          ? messageCreateData(guild, stream.n)
          : { n: stream.n, shard_id: shardId, ...(guild !== undefined && { guild_id: guild.id }) };
      this.dispatchOn(session, event, d);
    }
    if (options.ticks !== undefined && stream.ticks >= options.ticks) {
      this.stopEventStream();
      this.emit('streamEnd');
    }
  }

  /** Discord's answer to an exhausted budget: every session terminated, the token reset. */
  private resetToken(): void {
    this.tokenWasReset = true;
    for (const session of this.sessionsById.values()) session.resumable = false;
    for (const connection of this.connections) {
      if (connection.session !== undefined) {
        void connection.close(GatewayCloseCode.AuthenticationFailed, 'Authentication failed.');
      }
    }
    this.emit('tokenReset');
  }

  private record<K extends 'identify' | 'resume'>(
    event: K,
    list: GatewayEmulatorEvents[K][0][],
    record: GatewayEmulatorEvents[K][0],
  ): void {
    list.push(record);
    (this.emit as (event: K, record: GatewayEmulatorEvents[K][0]) => boolean)(event, record);
  }
}

/** The route under `/api`, `/api/v9` or `/api/v10` (the version may be left out), or undefined. */
function apiRoute(path: string): string | undefined {
  const match = /^\/api(?:\/v(\d+))?(\/.*)$/.exec(path);
  if (match === null) return undefined;
  if (match[1] !== undefined && !GATEWAY_EMULATOR_API_VERSIONS.includes(Number(match[1]))) {
    return undefined;
  }
  return match[2];
}

/** IDENTIFY's `shard` as `[id, total]` (absent means `[0, 1]`), or undefined if invalid. */
function parseShard(shard: unknown): [number, number] | undefined {
  if (shard === undefined || shard === null) return [0, 1];
  if (!Array.isArray(shard) || shard.length !== 2) return undefined;
  const [id, total] = shard as unknown[];
  if (!Number.isInteger(id) || !Number.isInteger(total)) return undefined;
  const [shardId, totalShards] = [id as number, total as number];
  return shardId >= 0 && totalShards >= 1 && shardId < totalShards
    ? [shardId, totalShards]
    : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resolveOptions(options: GatewayEmulatorOptions): ResolvedOptions {
  const defaults = GATEWAY_EMULATOR_DEFAULTS;
  const limit = options.sessionStartLimit ?? {};
  const total = limit.total ?? defaults.sessionStartLimit.total;
  const resolved: ResolvedOptions = {
    port: options.port ?? defaults.port,
    token: options.token ?? defaults.token,
    shards: options.shards ?? defaults.shards,
    requiredShards: options.requiredShards ?? defaults.requiredShards,
    maxConcurrency: options.maxConcurrency ?? defaults.maxConcurrency,
    identifyWindow: options.identifyWindow ?? defaults.identifyWindow,
    heartbeatInterval: options.heartbeatInterval ?? defaults.heartbeatInterval,
    guildsPerShard: options.guildsPerShard ?? defaults.guildsPerShard,
    sessionStartLimit: {
      total,
      remaining: limit.remaining ?? total,
      resetAfter: limit.resetAfter ?? defaults.sessionStartLimit.resetAfter,
    },
  };
  checkInteger('port', resolved.port, 0, 65_535);
  checkInteger('shards', resolved.shards, 1);
  checkInteger('requiredShards', resolved.requiredShards, 1);
  checkInteger('maxConcurrency', resolved.maxConcurrency, 1);
  checkInteger('identifyWindow', resolved.identifyWindow, 0);
  checkInteger('heartbeatInterval', resolved.heartbeatInterval, 1);
  checkInteger('guildsPerShard', resolved.guildsPerShard, 0);
  checkInteger('sessionStartLimit.total', total, 0);
  checkInteger('sessionStartLimit.remaining', resolved.sessionStartLimit.remaining, 0, total);
  checkInteger('sessionStartLimit.resetAfter', resolved.sessionStartLimit.resetAfter, 1);
  if (typeof resolved.token !== 'string' || resolved.token === '') {
    throw new TypeError('GatewayEmulator option token must be a non-empty string.');
  }
  return resolved;
}

/** Throws a RangeError naming the option unless `value` is an integer in `[min, max]`. */
function checkInteger(
  name: string,
  value: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `GatewayEmulator option ${name} must be an integer from ${min} to ${max}; got ${String(value)}.`,
    );
  }
}
