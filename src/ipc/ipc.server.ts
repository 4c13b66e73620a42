import { Logger } from '@nestjs/common';
import type { Socket } from 'node:net';
import type { IpcSocketServer } from 'node-ipc';
import { BehaviorSubject, Subject, type Observable } from 'rxjs';
import type { DispatchHandler } from '../dispatch/dispatch-context.interface.js';
import type { HeartbeatAckPayload, HelloPayload, IpcPacket } from '../protocol/ipc-packet.types.js';
import { IpcOpCode } from '../protocol/op-code.enum.js';
import { decodePacket } from '../protocol/packet.decoder.js';
import {
  DEFAULT_APPSPACE,
  DEFAULT_MAX_MESSAGE_SIZE,
  IPC_MESSAGE_EVENT,
} from '../protocol/protocol.constants.js';
import { SnowflakeService } from '../snowflake/snowflake.service.js';
import { HeartbeatWatchdog } from './heartbeat-watchdog.js';
import { InstanceStatsCollector } from './instance-stats.collector.js';
import { withoutUndefined } from '../common/without-undefined.js';
import { IPC_DEFAULTS } from './ipc.constants.js';
import { ConnectionLostError, NotConnectedError, type LinkLossReason } from './ipc.errors.js';
import {
  assertWritable,
  createIpcEndpoint,
  emitPacket,
  NODE_IPC_LIFECYCLE_EVENTS,
  startServer,
} from './node-ipc.endpoint.js';
import { PacketChannel, type RelayOptions, type RequestOptions } from './packet-channel.js';
import { RejectionLog } from './rejection-log.js';
import { claimSocketPath, socketPathFor } from './socket-path.js';

/**
 * What an instance does when it loses its manager: `'exit'` stops it (no orphans), `'continue'`
 * keeps it running and serving so that a manager with the same id can reconnect.
 */
export type ManagerLostPolicy = 'exit' | 'continue';

/** Options of an {@link IpcServer}: the instance's end of the link. */
export interface IpcServerOptions {
  /** The snowflake of the manager that spawned this instance; other HELLOs are refused. */
  managerId: string;
  /** This instance's snowflake, which is also its socket name. */
  instanceId: string;
  /** This instance's index. */
  instance: number;
  /** The manager's private socket directory. */
  socketRoot: string;
  /** Prefix of socket names. Default `'ddoo'`. */
  appspace?: string;
  /** Silent intervals (no HEARTBEAT_ACK) after which the manager is lost. Default 3. */
  missedHeartbeats?: number;
  /** Default request timeout, in ms. Default 15000. */
  requestTimeout?: number;
  /** Largest frame sent or accepted, in bytes. Default 1 MiB. */
  maxMessageSize?: number;
  /** What to do when the manager is lost. Default `'exit'`. */
  onManagerLost?: ManagerLostPolicy;
  /**
   * How the `'exit'` policy stops the instance. Default: close this server, then
   * `process.exit(0)` (in a worker thread this ends the thread).
   */
  exit?: (reason: LinkLossReason) => void | Promise<void>;
  /**
   * Treat the loss of the parent's IPC channel (`process` 'disconnect', in process and cluster
   * modes) as the manager lost, so that a manager killed with SIGKILL leaves no orphan.
   * Default `true`.
   */
  watchParent?: boolean;
  /** Logger; default a Nest `Logger` named `IpcServer`. */
  logger?: Logger;
}

/**
 * State of an {@link IpcServer}: `idle` before `listen()`, `listening` until its manager's HELLO,
 * `identified` while heartbeats flow, `manager-lost` after the manager went silent or away,
 * `closed` after `close()`.
 */
export type IpcServerState = 'idle' | 'listening' | 'identified' | 'manager-lost' | 'closed';

/** What an instance learns from its manager's HELLO. */
export interface InstanceContext {
  /** This instance's index. */
  instance: number;
  /** This instance's snowflake. */
  instanceId: string;
  /** The manager's snowflake. */
  managerId: string;
  /** The shard ids this instance runs. */
  shards: number[];
  /** The total shard count of the bot. */
  totalShards: number;
  /** The heartbeat interval the manager asked for, in ms. */
  heartbeatInterval: number;
}

/** One acknowledged heartbeat, seen from the instance. */
export interface HeartbeatAck {
  seq: number;
  /** Round trip from sending HEARTBEAT to receiving its ACK, in ms. */
  roundTrip: number;
}

/**
 * The instance's end of the link: serves on `<socketRoot>/<appspace><instanceId>`, answers its
 * manager's HELLO with IDENTIFY (and a stranger's with INVALID_SESSION), sends heartbeats with
 * stats, and applies `onManagerLost` when the manager goes silent or away.
 */
export class IpcServer {
  /** Receives the manager's dispatches that are not replies; its result answers requests. */
  set dispatchHandler(handler: DispatchHandler | undefined) {
    this.channel.dispatchHandler = handler;
  }

  private readonly settings: Required<Omit<IpcServerOptions, 'logger' | 'exit'>>;
  private readonly logger: Logger;
  private readonly exitInstance: (reason: LinkLossReason) => void | Promise<void>;
  private readonly snowflakes = new SnowflakeService();
  private readonly rejections: RejectionLog;
  private readonly channel: PacketChannel;
  private readonly stats = new InstanceStatsCollector();
  private readonly stateSubject = new BehaviorSubject<IpcServerState>('idle');
  private readonly managerLosses = new Subject<LinkLossReason>();
  private readonly acks = new Subject<HeartbeatAck>();
  private readonly strangers = new WeakSet<Socket>();
  private readonly onParentDisconnect = () => this.loseManager('parent-disconnected');
  private server: IpcSocketServer | undefined;
  private managerSocket: Socket | undefined;
  private instanceContext: InstanceContext | undefined;
  private contextWaiters: Array<(context: InstanceContext) => void> = [];
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private watchdog: HeartbeatWatchdog | undefined;
  private heartbeatSeq = 0;
  private listening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private lastRoundTrip: number | undefined;

  /** Every valid packet received from the manager. */
  readonly packets$: Observable<IpcPacket>;
  /** The server state; replays the current one to new subscribers. */
  readonly state$: Observable<IpcServerState> = this.stateSubject.asObservable();
  /** Emits the reason each time the manager is lost. */
  readonly managerLost$: Observable<LinkLossReason> = this.managerLosses.asObservable();
  /** Every acknowledged heartbeat, with its round trip. */
  readonly heartbeatAck$: Observable<HeartbeatAck> = this.acks.asObservable();

  constructor(options: IpcServerOptions) {
    this.settings = {
      appspace: DEFAULT_APPSPACE,
      missedHeartbeats: IPC_DEFAULTS.missedHeartbeats,
      requestTimeout: IPC_DEFAULTS.requestTimeout,
      maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
      onManagerLost: 'exit',
      watchParent: true,
      ...withoutUndefined(options),
    };
    this.logger = options.logger ?? new Logger(IpcServer.name);
    this.exitInstance = options.exit ?? (() => this.defaultExit());
    this.rejections = new RejectionLog(this.logger);
    this.channel = new PacketChannel({
      peer: 'the manager',
      self: options.instance,
      write: (packet) => this.writeToManager(packet),
      nextEventId: () => this.snowflakes.generate(options.instance),
      onControl: (packet) => this.onManagerControl(packet),
      rejections: this.rejections,
      logger: this.logger,
      requestTimeout: this.settings.requestTimeout,
    });
    this.packets$ = this.channel.packets$;
  }

  /** The current state. */
  get state(): IpcServerState {
    return this.stateSubject.value;
  }

  /** The instance context, once the manager's HELLO came. */
  get context(): InstanceContext | undefined {
    return this.instanceContext;
  }

  /** Round trip of the latest acknowledged heartbeat, in ms. */
  get roundTrip(): number | undefined {
    return this.lastRoundTrip;
  }

  /** How many received values were dropped as malformed, unexpected or from strangers. */
  get rejectedPackets(): number {
    return this.rejections.count;
  }

  /** The socket path this server listens on. */
  get socketPath(): string {
    return socketPathFor(
      this.settings.socketRoot,
      this.settings.appspace,
      this.settings.instanceId,
    );
  }

  /** Resolves with the instance context when the manager's HELLO has come. */
  whenIdentified(): Promise<InstanceContext> {
    if (this.instanceContext !== undefined) return Promise.resolve(this.instanceContext);
    return new Promise((resolve) => this.contextWaiters.push(resolve));
  }

  /**
   * Starts serving. Removes a stale socket left by a dead process, but rejects with
   * `SocketInUseError` when a live server holds the path.
   */
  listen(): Promise<void> {
    if (this.closing !== undefined)
      return Promise.reject(new NotConnectedError('a client', 'closed'));
    this.listening ??= this.startListening();
    return this.listening;
  }

  private async startListening(): Promise<void> {
    const path = this.socketPath;
    await claimSocketPath(path);
    const ipc = createIpcEndpoint({
      socketRoot: this.settings.socketRoot,
      appspace: this.settings.appspace,
      maxMessageSize: this.settings.maxMessageSize,
    });
    await new Promise<void>((resolve, reject) => {
      ipc.serve(path, () => resolve());
      const server = ipc.server as IpcSocketServer;
      this.server = server;
      server.on('error', (error: Error & { code?: string }) => {
        if (this.state === 'idle') reject(error);
        else this.onEndpointError(error);
      });
      server.on(IPC_MESSAGE_EVENT, (data: unknown, socket: Socket) => this.onFrame(data, socket));
      server.on('socket.disconnected', (socket: Socket) => this.onSocketClosed(socket));
      server.on('*', (type: string, _data: unknown, socket: Socket) => {
        if (!NODE_IPC_LIFECYCLE_EVENTS.has(type) && socket !== undefined) {
          this.rejections.record(socket, this.peerName(socket), {
            code: 'UNKNOWN_EVENT_TYPE',
            message: `node-ipc event "${type.slice(0, 40)}" is not part of the protocol`,
          });
        }
      });
      startServer(server);
    });
    this.setState('listening');
    if (this.settings.watchParent && typeof process.send === 'function') {
      process.on('disconnect', this.onParentDisconnect);
    }
  }

  /**
   * Sends an event to the manager (or, with `options.to`, through it to other instances).
   * Throws {@link NotConnectedError} without a manager.
   */
  send(event: string, data?: unknown, options?: RelayOptions): void {
    this.channel.send(event, data, options);
  }

  /**
   * Sends a request to the manager; resolves with its handler's result. Rejects on timeout
   * (default 15 s), at once when the manager is lost, or with the handler's error.
   */
  request<T = unknown>(
    event: string,
    data?: unknown,
    options?: RequestOptions & RelayOptions,
  ): Promise<T> {
    return this.channel.request<T>(event, data, options);
  }

  /** Stops serving, stops heartbeats, rejects pending requests and removes the socket. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    // A listen() under way finishes first, so that what it starts is stopped here.
    await this.listening?.catch(() => undefined);
    this.stopHeartbeats();
    this.stats.stop();
    process.off('disconnect', this.onParentDisconnect);
    this.setState('closed');
    this.managerSocket = undefined;
    this.channel.close(new ConnectionLostError('the manager', 'closed'));
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) {
      const netServer = server.server;
      const closed =
        netServer === false
          ? Promise.resolve()
          : new Promise<void>((resolve) => netServer.once('close', () => resolve()));
      server.stop();
      await closed;
    }
    this.managerLosses.complete();
    this.acks.complete();
    this.stateSubject.complete();
  }

  private onFrame(data: unknown, socket: Socket): void {
    if (socket === this.managerSocket) {
      this.channel.receive(data);
      return;
    }
    // Until a socket has sent its manager's HELLO, HELLO is all it may send.
    const decoded = decodePacket(data);
    if (!decoded.ok) {
      this.rejections.record(socket, this.peerName(socket), decoded.rejection);
      return;
    }
    if (decoded.packet.op === IpcOpCode.HELLO && !this.strangers.has(socket)) {
      this.onHello(decoded.packet.d, socket);
      return;
    }
    this.rejections.record(socket, this.peerName(socket), {
      code: 'UNAUTHENTICATED',
      message: `op ${decoded.packet.op} before a valid HELLO`,
    });
  }

  private onHello(hello: HelloPayload, socket: Socket): void {
    if (hello.id !== this.settings.managerId) {
      this.strangers.add(socket);
      this.logger.warn(
        `Refused a HELLO from manager ${hello.id}: this instance belongs to ${this.settings.managerId}.`,
      );
      this.writeTo(socket, { op: IpcOpCode.INVALID_SESSION, d: { id: this.settings.instanceId } });
      return;
    }
    const current = this.managerSocket;
    if (current !== undefined && current !== socket && !current.destroyed) {
      // One manager connection per instance: a second one is closed, never swapped in.
      this.logger.warn('Refused a second connection of the manager; one is already identified.');
      socket.destroy();
      return;
    }
    this.managerSocket = socket;
    const firstContext = this.instanceContext === undefined;
    this.instanceContext = {
      instance: this.settings.instance,
      instanceId: this.settings.instanceId,
      managerId: this.settings.managerId,
      shards: [...hello.shards],
      totalShards: hello.total_shards,
      heartbeatInterval: hello.heartbeat_interval,
    };
    this.writeTo(socket, {
      op: IpcOpCode.IDENTIFY,
      d: {
        id: this.settings.instanceId,
        event_id: hello.event_id,
        pid: process.pid,
        shards: [...hello.shards],
      },
    });
    if (this.state !== 'identified') {
      this.setState('identified');
      this.startHeartbeats(hello.heartbeat_interval);
    }
    if (firstContext) {
      const waiters = this.contextWaiters;
      this.contextWaiters = [];
      for (const resolve of waiters) resolve(this.instanceContext);
    }
  }

  private onManagerControl(packet: IpcPacket): void {
    switch (packet.op) {
      case IpcOpCode.HELLO:
        return this.onHello(packet.d, this.managerSocket!);
      case IpcOpCode.HEARTBEAT_ACK:
        return this.onHeartbeatAck(packet.d);
      default:
        this.rejections.record(this.channel, 'the manager', {
          code: 'UNAUTHENTICATED',
          message: `op ${packet.op} is not sent by a manager`,
        });
    }
  }

  private onHeartbeatAck(ack: HeartbeatAckPayload): void {
    if (this.state !== 'identified') return;
    this.watchdog?.feed();
    const roundTrip = Math.max(0, Math.round((now() - ack.ts) * 1000) / 1000);
    this.lastRoundTrip = roundTrip;
    this.acks.next({ seq: ack.seq, roundTrip });
  }

  private startHeartbeats(interval: number): void {
    this.stopHeartbeats();
    this.stats.start();
    this.watchdog = new HeartbeatWatchdog(interval * this.settings.missedHeartbeats, () =>
      this.loseManager('heartbeat-timeout'),
    );
    this.watchdog.start();
    this.sendHeartbeat();
    this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), interval);
  }

  private sendHeartbeat(): void {
    try {
      this.writeToManager({
        op: IpcOpCode.HEARTBEAT,
        d: {
          seq: ++this.heartbeatSeq,
          ts: now(),
          ...(this.lastRoundTrip === undefined ? {} : { rtt: this.lastRoundTrip }),
          ...this.stats.sample(),
        },
      });
    } catch {
      // No manager socket: its close reports the loss.
    }
  }

  private stopHeartbeats(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.watchdog?.stop();
    this.watchdog = undefined;
  }

  private onSocketClosed(socket: Socket): void {
    if (socket === this.managerSocket) this.loseManager('socket-closed');
  }

  private onEndpointError(error: Error & { code?: string }): void {
    // node-ipc closes only the offending connection on a protocol error; the manager's link,
    // if it was not that one, goes on.
    this.logger.warn(`Closed a connection on ${error.code ?? 'a socket error'}: ${error.message}`);
  }

  private loseManager(reason: LinkLossReason): void {
    // A parent that goes away before its HELLO leaves this instance orphaned all the same.
    const orphaned = reason === 'parent-disconnected' && this.state === 'listening';
    if (this.state !== 'identified' && !orphaned) return;
    this.stopHeartbeats();
    const socket = this.managerSocket;
    this.managerSocket = undefined;
    socket?.destroy();
    this.setState('manager-lost');
    this.channel.failPending(new ConnectionLostError('the manager', reason));
    this.managerLosses.next(reason);
    if (this.settings.onManagerLost === 'continue') {
      this.logger.warn(`Lost the manager (${reason}); running on autonomously, as configured.`);
      return;
    }
    this.logger.warn(`Lost the manager (${reason}); exiting, as configured.`);
    Promise.resolve()
      .then(() => this.exitInstance(reason))
      .catch((error: Error) => {
        this.logger.error(`Exit after losing the manager failed: ${error.message}`, error.stack);
        process.exit(1);
      });
  }

  private async defaultExit(): Promise<void> {
    await this.close();
    process.exit(0);
  }

  private writeToManager(packet: IpcPacket): void {
    const socket = this.managerSocket;
    if (socket === undefined || socket.destroyed) {
      throw new NotConnectedError('the manager', this.state);
    }
    this.writeTo(socket, packet);
  }

  private writeTo(socket: Socket, packet: IpcPacket): void {
    const server = this.server;
    if (server === undefined) throw new NotConnectedError('the manager', this.state);
    assertWritable(socket, 'the manager', this.settings.maxMessageSize);
    emitPacket(
      (type, data) => server.emit(socket, type, data),
      packet,
      this.settings.maxMessageSize,
    );
  }

  private peerName(socket: Socket): string {
    return socket === this.managerSocket ? 'the manager' : 'an unidentified connection';
  }

  private setState(state: IpcServerState): void {
    if (this.stateSubject.value !== state) this.stateSubject.next(state);
  }
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
function now(): number {
  return performance.timeOrigin + performance.now();
}
