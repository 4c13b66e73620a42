import type { IpcClientConnection, IPCModule } from 'node-ipc';
import { Subject, type Observable } from 'rxjs';
import type {
  HeartbeatPayload,
  IdentifyPayload,
  IpcPacket,
  InstanceStats,
  ShardReport,
} from '../protocol/ipc-packet.types.js';
import { IpcOpCode } from '../protocol/op-code.enum.js';
import { IPC_MESSAGE_EVENT, MANAGER_SENDER } from '../protocol/protocol.constants.js';
import { readShardReports } from '../observability/shard-report.reader.js';
import { HeartbeatWatchdog } from './heartbeat-watchdog.js';
import { IPC_DEFAULTS } from './ipc.constants.js';
import {
  ConnectionLostError,
  HelloTimeoutError,
  InvalidSessionError,
  NotConnectedError,
  type LinkLossReason,
} from './ipc.errors.js';
import { FrameWriter } from './frame-writer.js';
import { ShardingFrameParser } from './sharding-frame.parser.js';
import { LinkEndpoint, type LinkOptions } from './link-endpoint.js';
import type { RequestOptions } from './packet-channel.js';

/** Options of an {@link IpcClient}: the manager's end of the link to one instance. */
export interface IpcClientOptions extends LinkOptions {
  /** The shard ids the instance runs (sent in HELLO). */
  shards: number[];
  /** The total shard count of the bot (sent in HELLO). */
  totalShards: number;
  /** How often HELLO is repeated until IDENTIFY, in ms. Default 1000. */
  helloInterval?: number;
  /** How long to wait for IDENTIFY, from `connect()`, in ms. Default 30000. */
  helloTimeout?: number;
  /** How often the instance must send HEARTBEAT, in ms (sent in HELLO). Default 5000. */
  heartbeatInterval?: number;
  /** With `coordination`: the block lease TTL sent in HELLO, in ms. Default: none sent. */
  leaseTtl?: number;
  /**
   * Whether the instance runs `shardId` now, to check the shard reports of its heartbeats (a
   * handover changes its shards during the link's life). Default: `shardId` is in `shards`.
   */
  ownsShard?: (shardId: number) => boolean;
}

/**
 * State of an {@link IpcClient}: `idle` before `connect()`, `connecting` until IDENTIFY,
 * `identified` while heartbeats flow, `lost` after the instance went silent or its socket closed,
 * `closed` after `close()` or a failed handshake.
 */
export type IpcClientState = 'idle' | 'connecting' | 'identified' | 'lost' | 'closed';

/** One heartbeat received from an instance. */
export interface InstanceHeartbeat extends Partial<InstanceStats> {
  /** The instance index. */
  instance: number;
  /** Heartbeat sequence number, from 1. */
  seq: number;
  /** Round trip of the instance's previous heartbeat, in ms; absent on the first. */
  roundTrip?: number;
  /** The instance's shards, when its Discord client reports them. */
  shards?: ShardReport[];
}

/** Why and when a link ended. */
export interface LinkLoss {
  reason: LinkLossReason;
  error: ConnectionLostError;
}

/**
 * The manager's end of the link to one sharding instance: the handshake (HELLO until IDENTIFY),
 * heartbeat acknowledgement and liveness, requests and events.
 *
 * A client is used for one instance generation: after `lost` or `closed`, make a new one.
 */
export class IpcClient {
  private readonly link: LinkEndpoint<IpcClientState>;
  private readonly shards: number[];
  private readonly totalShards: number;
  private readonly helloInterval: number;
  private readonly helloTimeout: number;
  private readonly heartbeatInterval: number;
  private readonly leaseTtl: number | undefined;
  private readonly ownsShard: (shardId: number) => boolean;
  private readonly watchdog: HeartbeatWatchdog;
  private readonly heartbeats = new Subject<InstanceHeartbeat>();
  private readonly losses = new Subject<LinkLoss>();
  private readonly peer: string;
  private ipc: IPCModule | undefined;
  private connection: IpcClientConnection | undefined;
  /** Writes to the connection's current socket (node-ipc makes a new one per attempt). */
  private writer: FrameWriter | undefined;
  private helloEventId = '';
  private helloTimer: NodeJS.Timeout | undefined;
  private helloDeadline: NodeJS.Timeout | undefined;
  private handshake:
    { resolve: (identify: IdentifyPayload) => void; reject: (error: Error) => void } | undefined;
  private identifyPayload: IdentifyPayload | undefined;
  /** Set by `close()`, which also runs after a failed handshake has closed the link. */
  private streamsClosed = false;

  /** Every valid packet received from the instance. */
  readonly packets$: Observable<IpcPacket>;
  /** The connection state; replays the current one to new subscribers. */
  readonly state$: Observable<IpcClientState>;
  /** Every heartbeat, with the instance's stats and round trip. */
  readonly heartbeat$: Observable<InstanceHeartbeat> = this.heartbeats.asObservable();
  /** Emits once when the identified link is lost (not on `close()`). */
  readonly lost$: Observable<LinkLoss> = this.losses.asObservable();

  constructor(options: IpcClientOptions) {
    this.peer = `instance ${options.instance}`;
    this.link = new LinkEndpoint<IpcClientState>(options, {
      name: IpcClient.name,
      peer: this.peer,
      self: MANAGER_SENDER,
      peerSender: options.instance,
      initialState: 'idle',
      write: (packet) => this.write(packet),
      onControl: (packet) => this.onControl(packet),
    });
    this.shards = options.shards;
    this.totalShards = options.totalShards;
    this.helloInterval = options.helloInterval ?? IPC_DEFAULTS.helloInterval;
    this.helloTimeout = options.helloTimeout ?? IPC_DEFAULTS.helloTimeout;
    this.heartbeatInterval = options.heartbeatInterval ?? IPC_DEFAULTS.heartbeatInterval;
    this.leaseTtl = options.leaseTtl;
    this.ownsShard = options.ownsShard ?? ((shardId) => this.shards.includes(shardId));
    this.packets$ = this.link.channel.packets$;
    this.state$ = this.link.state$;
    this.watchdog = new HeartbeatWatchdog(
      this.heartbeatInterval * this.link.settings.missedHeartbeats,
      () => this.lose('heartbeat-timeout'),
    );
  }

  /** The current connection state. */
  get state(): IpcClientState {
    return this.link.state;
  }

  /** The instance's IDENTIFY, once received. */
  get identify(): IdentifyPayload | undefined {
    return this.identifyPayload;
  }

  /** Round trip of the instance's latest acknowledged heartbeat, in ms. */
  get roundTrip(): number | undefined {
    return this.link.roundTrip;
  }

  /** How many received values were dropped as malformed or unexpected. */
  get rejectedPackets(): number {
    return this.link.rejections.count;
  }

  /** How many requests wait for a reply. */
  get pendingRequests(): number {
    return this.link.channel.pendingRequests;
  }

  /**
   * Resolves when no request to the instance waits for a reply any more (each settles by its
   * reply, its timeout or the link's end): what to wait for before retiring a generation.
   */
  whenIdle(): Promise<void> {
    return this.link.channel.whenIdle();
  }

  /** The socket path of the instance. */
  get socketPath(): string {
    return this.link.socketPath;
  }

  /**
   * Connects to the instance's socket (retrying while it is not up yet) and sends HELLO every
   * `helloInterval` until IDENTIFY. Rejects with {@link HelloTimeoutError} after `helloTimeout`,
   * or {@link InvalidSessionError} when the instance refuses this manager.
   */
  connect(): Promise<IdentifyPayload> {
    if (this.state !== 'idle') {
      return Promise.reject(new NotConnectedError(this.peer, `${this.state}; connect() runs once`));
    }
    let path: string;
    try {
      path = this.socketPath; // a path too long for the OS fails here, before any state changes
    } catch (error) {
      return Promise.reject(error);
    }
    const helloTimeout = this.helloTimeout;
    const connectRetry = IPC_DEFAULTS.connectRetryInterval;
    this.link.setState('connecting');
    this.helloEventId = this.link.nextEventId();
    const identified = new Promise<IdentifyPayload>((resolve, reject) => {
      this.handshake = { resolve, reject };
    });
    this.helloDeadline = setTimeout(
      () => this.failHandshake(new HelloTimeoutError(this.link.settings.instance, helloTimeout)),
      helloTimeout,
    );

    const ipc = this.link.createIpc({
      retry: connectRetry,
      maxRetries: Math.ceil(helloTimeout / connectRetry) + 1,
    });
    this.ipc = ipc;
    const id = this.link.settings.instanceId;
    ipc.connectTo(id, path);
    const connection = ipc.of[id]!;
    this.connection = connection;
    connection.on('connect', () => this.onSocketConnected());
    connection.on('disconnect', () => this.onSocketClosed());
    connection.on('destroy', () => this.onSocketClosed());
    connection.on('error', (error: Error) => this.onEndpointError(error));
    const channel = this.link.channel;
    // Every frame of this connection is the instance's: straight to the channel when the parser
    // can deliver it, else through node-ipc's event bus.
    const parser = connection.parser;
    if (parser instanceof ShardingFrameParser) {
      parser.deliver = (message) => channel.receive(message.data);
    } else {
      connection.on(IPC_MESSAGE_EVENT, (data: unknown) => channel.receive(data));
    }
    return identified;
  }

  /** Sends an event to the instance. Throws {@link NotConnectedError} before IDENTIFY. */
  send(event: string, data?: unknown): void {
    this.assertIdentified();
    this.link.channel.send(event, data);
  }

  /**
   * Sends a request; resolves with the instance handler's result. Rejects on timeout
   * ({@link RequestTimeoutError}, default 15 s), at once when the link is lost
   * ({@link ConnectionLostError}), or with the handler's error.
   */
  request<T = unknown>(event: string, data?: unknown, options?: RequestOptions): Promise<T> {
    if (this.state !== 'identified') {
      return Promise.reject(new NotConnectedError(this.peer, this.state));
    }
    return this.link.channel.request<T>(event, data, options);
  }

  /**
   * Resolves when the socket has written what it had queued: after a `BackpressureError`, await
   * it before sending more. Resolves at once when nothing waits, or without a connection.
   */
  whenWritable(): Promise<void> {
    // A socket that ends instead reports its loss through lost$.
    return this.link.whenWritable(this.connection?.socket);
  }

  /**
   * Ends the link: stops the handshake and the liveness checks, rejects every pending request,
   * completes the streams. The instance sees its manager's socket close.
   */
  async close(): Promise<void> {
    if (this.streamsClosed) return;
    this.streamsClosed = true;
    const wasLost = this.state === 'lost';
    this.stopTimers();
    this.failHandshake(new ConnectionLostError(this.peer, 'closed'), false);
    this.link.setState('closed');
    const channel = this.link.channel;
    if (!wasLost) channel.failPending(new ConnectionLostError(this.peer, 'closed'));
    this.disconnect();
    channel.close(new ConnectionLostError(this.peer, 'closed'));
    this.heartbeats.complete();
    this.losses.complete();
    this.link.completeState();
  }

  private onSocketConnected(): void {
    if (this.state !== 'connecting') return;
    this.sendHello();
    clearInterval(this.helloTimer);
    this.helloTimer = setInterval(() => this.sendHello(), this.helloInterval);
  }

  private sendHello(): void {
    try {
      this.write({
        op: IpcOpCode.HELLO,
        d: {
          id: this.link.settings.managerId,
          event_id: this.helloEventId,
          instance: this.link.settings.instance,
          shards: this.shards,
          total_shards: this.totalShards,
          heartbeat_interval: this.heartbeatInterval,
          ...(this.leaseTtl === undefined ? {} : { lease_ttl: this.leaseTtl }),
        },
      });
    } catch (error) {
      this.failHandshake(error as Error);
    }
  }

  private onSocketClosed(): void {
    // Before IDENTIFY node-ipc retries until the instance's socket is up; the hello deadline
    // bounds that. After IDENTIFY a closed socket means the instance is gone.
    if (this.state === 'connecting') {
      clearInterval(this.helloTimer);
      this.helloTimer = undefined;
      return;
    }
    this.lose('socket-closed');
  }

  private onEndpointError(error: Error & { code?: string }): void {
    if (error.code?.startsWith('ERR_IPC_')) {
      this.link.logger.warn(
        `Closed the link to ${this.peer} on a protocol error: ${error.message}`,
      );
      this.lose('protocol-error');
      return;
    }
    // Connection refusals while the instance boots are expected and retried.
    if (this.state !== 'connecting')
      this.link.logger.debug?.(`Socket error from ${this.peer}: ${error.message}`);
  }

  private onControl(packet: IpcPacket): void {
    switch (packet.op) {
      case IpcOpCode.IDENTIFY:
        return this.onIdentify(packet.d);
      case IpcOpCode.INVALID_SESSION:
        if (this.state === 'connecting')
          this.failHandshake(new InvalidSessionError(this.link.settings.instance));
        return;
      case IpcOpCode.HEARTBEAT:
        return this.onHeartbeat(packet.d);
      default:
        this.link.rejections.record(this.link.channel, this.peer, {
          code: 'UNAUTHENTICATED',
          message: `op ${packet.op} is not sent by an instance`,
        });
    }
  }

  private onIdentify(identify: IdentifyPayload): void {
    if (identify.event_id !== this.helloEventId || identify.id !== this.link.settings.instanceId) {
      this.link.rejections.record(this.link.channel, this.peer, {
        code: 'UNAUTHENTICATED',
        message: 'IDENTIFY does not match the HELLO of this manager',
      });
      return;
    }
    if (this.state !== 'connecting') return; // an answer to a repeated HELLO
    this.stopTimers();
    this.identifyPayload = identify;
    this.link.channel.authenticate();
    this.link.setState('identified');
    this.watchdog.start();
    const handshake = this.handshake;
    this.handshake = undefined;
    handshake?.resolve(identify);
  }

  private onHeartbeat(heartbeat: HeartbeatPayload): void {
    if (this.state !== 'identified') return;
    this.watchdog.feed();
    try {
      this.write({ op: IpcOpCode.HEARTBEAT_ACK, d: { seq: heartbeat.seq, ts: heartbeat.ts } });
    } catch {
      // A failed write closes the socket, which reports the loss.
    }
    this.link.roundTrip = heartbeat.rtt;
    // Bad shard reports are counted even when nobody listens.
    const shards = heartbeat.shards === undefined ? undefined : this.readShards(heartbeat.shards);
    if (!this.heartbeats.observed) return;
    // One literal, `shards` assigned after it: no spread of a temporary object per heartbeat.
    const event: InstanceHeartbeat = {
      instance: this.link.settings.instance,
      seq: heartbeat.seq,
      roundTrip: heartbeat.rtt,
      rss: heartbeat.rss,
      heapUsed: heartbeat.heapUsed,
      eventLoopLag: heartbeat.eventLoopLag,
    };
    if (shards !== undefined) event.shards = shards;
    this.heartbeats.next(event);
  }

  /** The valid shard reports of a heartbeat; each bad one is dropped, counted and logged once. */
  private readShards(value: unknown): ShardReport[] {
    const { reports, rejections } = readShardReports(value, this.ownsShard);
    for (const rejection of rejections)
      this.link.rejections.record(this.link.channel, this.peer, rejection);
    return reports;
  }

  private lose(reason: LinkLossReason): void {
    if (this.state === 'connecting') {
      if (reason === 'protocol-error')
        this.failHandshake(new ConnectionLostError(this.peer, reason));
      return;
    }
    if (this.state !== 'identified') return;
    this.stopTimers();
    this.link.setState('lost');
    const error = new ConnectionLostError(this.peer, reason);
    this.link.channel.failPending(error);
    this.disconnect();
    this.losses.next({ reason, error });
  }

  private failHandshake(error: Error, closeLink = true): void {
    const handshake = this.handshake;
    if (handshake === undefined) return;
    this.handshake = undefined;
    if (closeLink) {
      this.stopTimers();
      this.link.setState('closed');
      this.disconnect();
    }
    handshake.reject(error);
  }

  private write(packet: IpcPacket): void {
    this.link.write(this.currentWriter(), packet);
  }

  private currentWriter(): FrameWriter | undefined {
    const socket = this.connection?.socket;
    if (socket === undefined || socket === false) return undefined;
    if (this.writer?.socket !== socket) this.writer = new FrameWriter(socket);
    return this.writer;
  }

  private assertIdentified(): void {
    if (this.state !== 'identified') throw new NotConnectedError(this.peer, this.state);
  }

  private disconnect(): void {
    // What this turn wrote goes out before the socket is destroyed.
    this.writer?.flush();
    this.writer = undefined;
    if (this.ipc !== undefined) this.ipc.disconnect(this.link.settings.instanceId);
    this.ipc = undefined;
    this.connection = undefined;
  }

  private stopTimers(): void {
    clearInterval(this.helloTimer);
    clearTimeout(this.helloDeadline);
    this.helloTimer = undefined;
    this.helloDeadline = undefined;
    this.watchdog.stop();
  }
}
