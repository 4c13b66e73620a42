import { Logger } from '@nestjs/common';
import type { IPCModule, IpcClientConnection } from 'node-ipc';
import { BehaviorSubject, Subject, type Observable } from 'rxjs';
import type { DispatchHandler } from '../dispatch/dispatch-context.interface.js';
import type {
  HeartbeatPayload,
  IdentifyPayload,
  IpcPacket,
  InstanceStats,
} from '../protocol/ipc-packet.types.js';
import { IpcOpCode } from '../protocol/op-code.enum.js';
import {
  DEFAULT_APPSPACE,
  DEFAULT_MAX_MESSAGE_SIZE,
  IPC_MESSAGE_EVENT,
  MANAGER_SENDER,
} from '../protocol/protocol.constants.js';
import { MANAGER_SHARD_ID } from '../snowflake/snowflake.constants.js';
import { SnowflakeService } from '../snowflake/snowflake.service.js';
import { HeartbeatWatchdog } from './heartbeat-watchdog.js';
import { IPC_DEFAULTS } from './ipc.constants.js';
import {
  ConnectionLostError,
  HelloTimeoutError,
  InvalidSessionError,
  NotConnectedError,
  type LinkLossReason,
} from './ipc.errors.js';
import {
  assertWritable,
  createIpcEndpoint,
  emitPacket,
  NODE_IPC_LIFECYCLE_EVENTS,
} from './node-ipc.endpoint.js';
import { PacketChannel, type RequestOptions } from './packet-channel.js';
import { RejectionLog } from './rejection-log.js';
import { withoutUndefined } from '../common/without-undefined.js';
import { socketPathFor } from './socket-path.js';

/** Options of an {@link IpcClient}: the manager's end of the link to one instance. */
export interface IpcClientOptions {
  /** The manager's snowflake; HELLO carries it and the instance checks it. */
  managerId: string;
  /** The instance's snowflake, which is also its socket name. */
  instanceId: string;
  /** The instance index. */
  instance: number;
  /** The shard ids the instance runs (sent in HELLO). */
  shards: number[];
  /** The total shard count of the bot (sent in HELLO). */
  totalShards: number;
  /** The manager's private socket directory. */
  socketRoot: string;
  /** Prefix of socket names. Default `'ddoo'`. */
  appspace?: string;
  /** How often HELLO is repeated until IDENTIFY, in ms. Default 1000. */
  helloInterval?: number;
  /** How long to wait for IDENTIFY, from `connect()`, in ms. Default 30000. */
  helloTimeout?: number;
  /** How often the instance must send HEARTBEAT, in ms (sent in HELLO). Default 5000. */
  heartbeatInterval?: number;
  /** Silent heartbeat intervals after which the instance is reported dead. Default 3. */
  missedHeartbeats?: number;
  /** Default request timeout, in ms. Default 15000. */
  requestTimeout?: number;
  /** Largest frame sent or accepted, in bytes. Default 1 MiB. */
  maxMessageSize?: number;
  /** Logger; default a Nest `Logger` named `IpcClient`. */
  logger?: Logger;
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
  /** Receives the instance's dispatches that are not replies; its result answers requests. */
  set dispatchHandler(handler: DispatchHandler | undefined) {
    this.channel.dispatchHandler = handler;
  }

  private readonly settings: Required<Omit<IpcClientOptions, 'logger'>>;
  private readonly logger: Logger;
  private readonly snowflakes = new SnowflakeService();
  private readonly rejections: RejectionLog;
  private readonly channel: PacketChannel;
  private readonly watchdog: HeartbeatWatchdog;
  private readonly stateSubject = new BehaviorSubject<IpcClientState>('idle');
  private readonly heartbeats = new Subject<InstanceHeartbeat>();
  private readonly losses = new Subject<LinkLoss>();
  private readonly peer: string;
  private ipc: IPCModule | undefined;
  private connection: IpcClientConnection | undefined;
  private helloEventId = '';
  private helloTimer: NodeJS.Timeout | undefined;
  private helloDeadline: NodeJS.Timeout | undefined;
  private handshake:
    { resolve: (identify: IdentifyPayload) => void; reject: (error: Error) => void } | undefined;
  private identifyPayload: IdentifyPayload | undefined;
  private lastRoundTrip: number | undefined;
  /** Set by `close()`, which also runs after a failed handshake has closed the link. */
  private streamsClosed = false;

  /** Every valid packet received from the instance. */
  readonly packets$: Observable<IpcPacket>;
  /** The connection state; replays the current one to new subscribers. */
  readonly state$: Observable<IpcClientState> = this.stateSubject.asObservable();
  /** Every heartbeat, with the instance's stats and round trip. */
  readonly heartbeat$: Observable<InstanceHeartbeat> = this.heartbeats.asObservable();
  /** Emits once when the identified link is lost (not on `close()`). */
  readonly lost$: Observable<LinkLoss> = this.losses.asObservable();

  constructor(options: IpcClientOptions) {
    this.settings = {
      appspace: DEFAULT_APPSPACE,
      helloInterval: IPC_DEFAULTS.helloInterval,
      helloTimeout: IPC_DEFAULTS.helloTimeout,
      heartbeatInterval: IPC_DEFAULTS.heartbeatInterval,
      missedHeartbeats: IPC_DEFAULTS.missedHeartbeats,
      requestTimeout: IPC_DEFAULTS.requestTimeout,
      maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
      ...withoutUndefined(options),
    };
    this.logger = options.logger ?? new Logger(IpcClient.name);
    this.peer = `instance ${options.instance}`;
    this.rejections = new RejectionLog(this.logger);
    this.channel = new PacketChannel({
      peer: this.peer,
      self: MANAGER_SENDER,
      write: (packet) => this.write(packet),
      nextEventId: () => this.snowflakes.generate(MANAGER_SHARD_ID),
      onControl: (packet) => this.onControl(packet),
      rejections: this.rejections,
      logger: this.logger,
      requestTimeout: this.settings.requestTimeout,
    });
    this.packets$ = this.channel.packets$;
    this.watchdog = new HeartbeatWatchdog(
      this.settings.heartbeatInterval * this.settings.missedHeartbeats,
      () => this.lose('heartbeat-timeout'),
    );
  }

  /** The current connection state. */
  get state(): IpcClientState {
    return this.stateSubject.value;
  }

  /** The instance's IDENTIFY, once received. */
  get identify(): IdentifyPayload | undefined {
    return this.identifyPayload;
  }

  /** Round trip of the instance's latest acknowledged heartbeat, in ms. */
  get roundTrip(): number | undefined {
    return this.lastRoundTrip;
  }

  /** How many received values were dropped as malformed or unexpected. */
  get rejectedPackets(): number {
    return this.rejections.count;
  }

  /** How many requests wait for a reply. */
  get pendingRequests(): number {
    return this.channel.pendingRequests;
  }

  /** The socket path of the instance. */
  get socketPath(): string {
    return socketPathFor(
      this.settings.socketRoot,
      this.settings.appspace,
      this.settings.instanceId,
    );
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
    const helloTimeout = this.settings.helloTimeout;
    const connectRetry = IPC_DEFAULTS.connectRetryInterval;
    this.setState('connecting');
    this.helloEventId = this.snowflakes.generate(MANAGER_SHARD_ID);
    const identified = new Promise<IdentifyPayload>((resolve, reject) => {
      this.handshake = { resolve, reject };
    });
    this.helloDeadline = setTimeout(
      () => this.failHandshake(new HelloTimeoutError(this.settings.instance, helloTimeout)),
      helloTimeout,
    );

    const ipc = createIpcEndpoint({
      socketRoot: this.settings.socketRoot,
      appspace: this.settings.appspace,
      maxMessageSize: this.settings.maxMessageSize,
      retry: connectRetry,
      maxRetries: Math.ceil(helloTimeout / connectRetry) + 1,
    });
    this.ipc = ipc;
    const id = this.settings.instanceId;
    ipc.connectTo(id, path);
    const connection = ipc.of[id]!;
    this.connection = connection;
    connection.on('connect', () => this.onSocketConnected());
    connection.on('disconnect', () => this.onSocketClosed());
    connection.on('destroy', () => this.onSocketClosed());
    connection.on('error', (error: Error) => this.onEndpointError(error));
    connection.on(IPC_MESSAGE_EVENT, (data: unknown) => this.channel.receive(data));
    connection.on('*', (type: string) => {
      if (!NODE_IPC_LIFECYCLE_EVENTS.has(type)) {
        this.rejections.record(this.channel, this.peer, {
          code: 'UNKNOWN_EVENT_TYPE',
          message: `node-ipc event "${type.slice(0, 40)}" is not part of the protocol`,
        });
      }
    });
    return identified;
  }

  /** Sends an event to the instance. Throws {@link NotConnectedError} before IDENTIFY. */
  send(event: string, data?: unknown): void {
    this.assertIdentified();
    this.channel.send(event, data);
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
    return this.channel.request<T>(event, data, options);
  }

  /**
   * Resolves when the socket has written what it had queued: after a `BackpressureError`, await
   * it before sending more. Resolves at once when nothing waits, or without a connection.
   */
  async whenWritable(): Promise<void> {
    const socket = this.connection?.socket;
    if (socket === undefined || socket === false || socket.destroyed || socket.writableLength === 0)
      return;
    // Settles on drain, or when the socket ends (its loss is reported through lost$).
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.off('drain', done).off('close', done).off('error', done);
        resolve();
      };
      socket.on('drain', done).on('close', done).on('error', done);
    });
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
    this.setState('closed');
    if (!wasLost) this.channel.failPending(new ConnectionLostError(this.peer, 'closed'));
    this.disconnect();
    this.channel.close(new ConnectionLostError(this.peer, 'closed'));
    this.heartbeats.complete();
    this.losses.complete();
    this.stateSubject.complete();
  }

  private onSocketConnected(): void {
    if (this.state !== 'connecting') return;
    this.sendHello();
    clearInterval(this.helloTimer);
    this.helloTimer = setInterval(() => this.sendHello(), this.settings.helloInterval);
  }

  private sendHello(): void {
    try {
      this.write({
        op: IpcOpCode.HELLO,
        d: {
          id: this.settings.managerId,
          event_id: this.helloEventId,
          instance: this.settings.instance,
          shards: this.settings.shards,
          total_shards: this.settings.totalShards,
          heartbeat_interval: this.settings.heartbeatInterval,
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
      this.logger.warn(`Closed the link to ${this.peer} on a protocol error: ${error.message}`);
      this.lose('protocol-error');
      return;
    }
    // Connection refusals while the instance boots are expected and retried.
    if (this.state !== 'connecting')
      this.logger.debug?.(`Socket error from ${this.peer}: ${error.message}`);
  }

  private onControl(packet: IpcPacket): void {
    switch (packet.op) {
      case IpcOpCode.IDENTIFY:
        return this.onIdentify(packet.d);
      case IpcOpCode.INVALID_SESSION:
        if (this.state === 'connecting')
          this.failHandshake(new InvalidSessionError(this.settings.instance));
        return;
      case IpcOpCode.HEARTBEAT:
        return this.onHeartbeat(packet.d);
      default:
        this.rejections.record(this.channel, this.peer, {
          code: 'UNAUTHENTICATED',
          message: `op ${packet.op} is not sent by an instance`,
        });
    }
  }

  private onIdentify(identify: IdentifyPayload): void {
    if (identify.event_id !== this.helloEventId || identify.id !== this.settings.instanceId) {
      this.rejections.record(this.channel, this.peer, {
        code: 'UNAUTHENTICATED',
        message: 'IDENTIFY does not match the HELLO of this manager',
      });
      return;
    }
    if (this.state !== 'connecting') return; // an answer to a repeated HELLO
    this.stopTimers();
    this.identifyPayload = identify;
    this.setState('identified');
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
    this.lastRoundTrip = heartbeat.rtt;
    this.heartbeats.next({
      instance: this.settings.instance,
      seq: heartbeat.seq,
      roundTrip: heartbeat.rtt,
      rss: heartbeat.rss,
      heapUsed: heartbeat.heapUsed,
      eventLoopLag: heartbeat.eventLoopLag,
    });
  }

  private lose(reason: LinkLossReason): void {
    if (this.state === 'connecting') {
      if (reason === 'protocol-error')
        this.failHandshake(new ConnectionLostError(this.peer, reason));
      return;
    }
    if (this.state !== 'identified') return;
    this.stopTimers();
    this.setState('lost');
    const error = new ConnectionLostError(this.peer, reason);
    this.channel.failPending(error);
    this.disconnect();
    this.losses.next({ reason, error });
  }

  private failHandshake(error: Error, closeLink = true): void {
    const handshake = this.handshake;
    if (handshake === undefined) return;
    this.handshake = undefined;
    if (closeLink) {
      this.stopTimers();
      this.setState('closed');
      this.disconnect();
    }
    handshake.reject(error);
  }

  private write(packet: IpcPacket): void {
    const connection = this.connection;
    if (connection === undefined || connection.socket === false || connection.socket.destroyed) {
      throw new NotConnectedError(this.peer, this.state);
    }
    assertWritable(connection.socket, this.peer, this.settings.maxMessageSize);
    emitPacket((type, data) => connection.emit(type, data), packet, this.settings.maxMessageSize);
  }

  private assertIdentified(): void {
    if (this.state !== 'identified') throw new NotConnectedError(this.peer, this.state);
  }

  private disconnect(): void {
    if (this.ipc !== undefined) this.ipc.disconnect(this.settings.instanceId);
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

  private setState(state: IpcClientState): void {
    if (this.stateSubject.value !== state) this.stateSubject.next(state);
  }
}
