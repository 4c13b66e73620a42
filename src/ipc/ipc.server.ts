import type { Socket } from 'node:net';
import type { IpcSocketServer } from 'node-ipc';
import { Subject, type Observable } from 'rxjs';
import type {
  HeartbeatAckPayload,
  HelloPayload,
  IpcPacket,
  ShardReport,
} from '../protocol/ipc-packet.types.js';
import { IpcOpCode } from '../protocol/op-code.enum.js';
import { IPC_MESSAGE_EVENT, MANAGER_SENDER } from '../protocol/protocol.constants.js';
import { ShardStatusBoard } from './shard-status.board.js';
import { nextHeartbeatDelay } from './heartbeat-schedule.js';
import { HeartbeatWatchdog } from './heartbeat-watchdog.js';
import { InstanceStatsCollector } from './instance-stats.collector.js';
import { IPC_DEFAULTS } from './ipc.constants.js';
import { ConnectionLostError, NotConnectedError, type LinkLossReason } from './ipc.errors.js';
import { FrameWriter } from './frame-writer.js';
import { ShardingFrameParser, type FrameReceiver } from './sharding-frame.parser.js';
import { LinkEndpoint, type LinkOptions } from './link-endpoint.js';
import { startServer } from './node-ipc.endpoint.js';
import { decodeReceived, type RelayOptions, type RequestOptions } from './packet-channel.js';
import { claimSocketPath } from './socket-path.js';

/** Options of an {@link IpcServer}: the instance's end of the link. */
export interface IpcServerOptions extends LinkOptions {
  /**
   * Treat the loss of the parent's IPC channel (`process` 'disconnect', in process and cluster
   * modes) as the manager lost, so that a manager killed with SIGKILL leaves no orphan.
   * Default `true`.
   */
  watchParent?: boolean;
  /**
   * How long a connection may stay without a valid HELLO before it is closed, in ms, so that
   * idle strangers cannot hold the socket's connection slots. Default 5000.
   */
  unidentifiedTimeout?: number;
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
  /** The shard ids this instance runs (changed in place by RESTRUCTURING). */
  shards: number[];
  /** The total shard count of the bot (changed in place by RESTRUCTURING). */
  totalShards: number;
  /** The heartbeat interval the manager asked for, in ms. */
  heartbeatInterval: number;
  /** The manager's block lease TTL, in ms: set only when the manager runs with `coordination`. */
  leaseTtl?: number;
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
 * stats, and reports on `managerLost$` when the manager goes silent or away (what the instance
 * then does is its owner's decision). Connections that do not identify in time are closed.
 */
export class IpcServer {
  private readonly link: LinkEndpoint<IpcServerState>;
  private readonly watchParent: boolean;
  private readonly stats = new InstanceStatsCollector();
  private readonly managerLosses = new Subject<LinkLossReason>();
  private readonly acks = new Subject<HeartbeatAck>();
  private readonly strangers = new WeakSet<Socket>();
  private readonly unidentifiedTimeout: number;
  /** Connections that have not sent their manager's HELLO yet, oldest first, with deadlines. */
  private readonly unidentified = new Map<Socket, NodeJS.Timeout>();
  private closedStrangers = 0;
  private readonly onParentDisconnect = () => this.loseManager('parent-disconnected');
  private server: IpcSocketServer | undefined;
  private managerSocket: Socket | undefined;
  /** Writes to the manager's socket, coalesced per turn. */
  private managerWriter: FrameWriter | undefined;
  /** node-ipc's receiver of the manager's socket: its frames go straight to the channel. */
  private managerReceiver: FrameReceiver | undefined;
  private instanceContext: InstanceContext | undefined;
  private contextWaiters: Array<(context: InstanceContext) => void> = [];
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private watchdog: HeartbeatWatchdog | undefined;
  private heartbeatSeq = 0;
  /** Why the last heartbeat could not be sent (logged once until one goes out again). */
  private heartbeatFailure: string | undefined;
  private listening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  /** Every valid packet received from the manager. */
  readonly packets$: Observable<IpcPacket>;
  /** The server state; replays the current one to new subscribers. */
  readonly state$: Observable<IpcServerState>;
  /**
   * Emits the reason each time the manager is lost (its socket closed, its heartbeat
   * acknowledgements stopped, or the parent process went away). The server goes on serving, so
   * that its manager can come back; what the instance does is its owner's decision.
   */
  readonly managerLost$: Observable<LinkLossReason> = this.managerLosses.asObservable();
  /** Every acknowledged heartbeat, with its round trip. */
  readonly heartbeatAck$: Observable<HeartbeatAck> = this.acks.asObservable();
  /** The instance's shards' gateway state, sampled into every heartbeat. */
  readonly shardStatus = new ShardStatusBoard();

  constructor(options: IpcServerOptions) {
    this.link = new LinkEndpoint<IpcServerState>(options, {
      name: IpcServer.name,
      peer: 'the manager',
      self: options.instance,
      peerSender: MANAGER_SENDER,
      initialState: 'idle',
      write: (packet) => this.writeTo(this.managerSocket, packet),
      onControl: (packet) => this.onManagerControl(packet),
    });
    this.watchParent = options.watchParent ?? true;
    this.unidentifiedTimeout = options.unidentifiedTimeout ?? IPC_DEFAULTS.unidentifiedTimeout;
    this.packets$ = this.link.channel.packets$;
    this.state$ = this.link.state$;
  }

  /** The current state. */
  get state(): IpcServerState {
    return this.link.state;
  }

  /** The instance context, once the manager's HELLO came. */
  get context(): InstanceContext | undefined {
    return this.instanceContext;
  }

  /** Round trip of the latest acknowledged heartbeat, in ms. */
  get roundTrip(): number | undefined {
    return this.link.roundTrip;
  }

  /** How many received values were dropped as malformed, unexpected or from strangers. */
  get rejectedPackets(): number {
    return this.link.rejections.count;
  }

  /**
   * How many connections were closed without ever sending a valid HELLO: refused after a HELLO
   * from another manager, idle past `unidentifiedTimeout`, or making room for the manager.
   */
  get closedConnections(): number {
    return this.closedStrangers;
  }

  /** How many requests to the manager wait for a reply. */
  get pendingRequests(): number {
    return this.link.channel.pendingRequests;
  }

  /** The socket path this server listens on. */
  get socketPath(): string {
    return this.link.socketPath;
  }

  /**
   * Records a new shard set (RESTRUCTURING) in the instance context, in place, so that every
   * holder of the context sees it. Throws {@link NotConnectedError} before the manager's HELLO.
   */
  updateShards(shards: readonly number[], totalShards: number): void {
    const context = this.instanceContext;
    if (context === undefined) throw new NotConnectedError('the manager', this.state);
    context.shards = [...shards];
    context.totalShards = totalShards;
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
    const ipc = this.link.createIpc();
    await new Promise<void>((resolve, reject) => {
      ipc.serve(path, () => resolve());
      const server = ipc.server as IpcSocketServer;
      this.server = server;
      server.on('error', (error: Error & { code?: string }) => {
        if (this.state === 'idle') reject(error);
        else this.onEndpointError(error);
      });
      server.on(IPC_MESSAGE_EVENT, (data: unknown, socket: Socket) => this.onFrame(data, socket));
      // The manager's frames skip node-ipc's event bus; the others' (strangers) take it.
      const parser = server.parser;
      if (parser instanceof ShardingFrameParser) {
        parser.deliver = (message, receive) => {
          if (receive === this.managerReceiver) this.link.channel.receive(message.data);
          else receive(message);
        };
      }
      server.on('connect', (socket: Socket) => this.onConnection(socket));
      server.on('socket.disconnected', (socket: Socket) => this.onSocketClosed(socket));
      startServer(server);
    });
    this.link.setState('listening');
    if (this.watchParent && typeof process.send === 'function') {
      process.on('disconnect', this.onParentDisconnect);
    }
  }

  /**
   * Sends an event to the manager (or, with `options.to`, through it to other instances).
   * Throws {@link NotConnectedError} without a manager.
   */
  send(event: string, data?: unknown, options?: RelayOptions): void {
    this.link.channel.send(event, data, options);
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
    return this.link.channel.request<T>(event, data, options);
  }

  /**
   * Resolves when the manager's socket has written what it had queued: after a
   * `BackpressureError`, await it before sending more. Resolves at once when nothing waits.
   */
  whenWritable(): Promise<void> {
    return this.link.whenWritable(this.managerSocket);
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
    process.off('disconnect', this.onParentDisconnect);
    this.link.setState('closed');
    // What this turn wrote goes out before the sockets are destroyed.
    this.managerWriter?.flush();
    this.managerSocket = undefined;
    this.managerReceiver = undefined;
    for (const deadline of this.unidentified.values()) clearTimeout(deadline);
    this.unidentified.clear();
    this.link.channel.close(new ConnectionLostError('the manager', 'closed'));
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
    this.link.completeState();
  }

  private onFrame(data: unknown, socket: Socket): void {
    if (socket === this.managerSocket) {
      this.link.channel.receive(data);
      return;
    }
    // Until a socket has sent its manager's HELLO, HELLO is all it may send.
    const decoded = decodeReceived(data);
    if (!decoded.ok) {
      this.link.rejections.record(socket, this.peerName(socket), decoded.rejection);
      return;
    }
    if (decoded.packet.op === IpcOpCode.HELLO && !this.strangers.has(socket)) {
      this.onHello(decoded.packet.d, socket);
      return;
    }
    this.link.rejections.record(socket, this.peerName(socket), {
      code: 'UNAUTHENTICATED',
      message: `op ${decoded.packet.op} before a valid HELLO`,
    });
  }

  private onHello(hello: HelloPayload, socket: Socket): void {
    const settings = this.link.settings;
    if (hello.id !== settings.managerId) {
      this.strangers.add(socket);
      this.link.logger.warn(
        `Refused a HELLO from manager ${hello.id}: this instance belongs to ${settings.managerId}.`,
      );
      this.forgetUnidentified(socket);
      this.closedStrangers++;
      try {
        this.writeTo(socket, { op: IpcOpCode.INVALID_SESSION, d: { id: settings.instanceId } });
      } catch {
        socket.destroy(); // it cannot take the answer: it goes without
        return;
      }
      // It knows why now: its slot is freed as soon as the answer is written.
      socket.end(() => socket.destroy());
      return;
    }
    const current = this.managerSocket;
    if (current !== undefined && current !== socket && !current.destroyed) {
      // One manager connection per instance: a second one is closed, never swapped in.
      this.link.logger.warn(
        'Refused a second connection of the manager; one is already identified.',
      );
      socket.destroy();
      return;
    }
    this.managerSocket = socket;
    // node-ipc gives each connection its own receiver (`ipcDispatch`); without one, the
    // manager's frames take the event bus like the others'.
    this.managerReceiver = (socket as Socket & { ipcDispatch?: FrameReceiver }).ipcDispatch;
    this.forgetUnidentified(socket);
    this.link.channel.authenticate();
    const firstContext = this.instanceContext === undefined;
    // One context object for the instance's whole life: those who hold it see later changes.
    this.instanceContext ??= {
      instance: settings.instance,
      instanceId: settings.instanceId,
      managerId: settings.managerId,
      shards: [],
      totalShards: 0,
      heartbeatInterval: 0,
    };
    this.instanceContext.shards = [...hello.shards];
    this.instanceContext.totalShards = hello.total_shards;
    this.instanceContext.heartbeatInterval = hello.heartbeat_interval;
    if (hello.lease_ttl !== undefined) this.instanceContext.leaseTtl = hello.lease_ttl;
    this.writeTo(socket, {
      op: IpcOpCode.IDENTIFY,
      d: {
        id: settings.instanceId,
        event_id: hello.event_id,
        pid: process.pid,
        shards: [...hello.shards],
      },
    });
    if (this.state !== 'identified') {
      this.link.setState('identified');
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
        this.link.rejections.record(this.link.channel, 'the manager', {
          code: 'UNAUTHENTICATED',
          message: `op ${packet.op} is not sent by a manager`,
        });
    }
  }

  private onHeartbeatAck(ack: HeartbeatAckPayload): void {
    if (this.state !== 'identified') return;
    this.watchdog?.feed();
    const roundTrip = Math.max(0, Math.round((now() - ack.ts) * 1000) / 1000);
    this.link.roundTrip = roundTrip;
    this.acks.next({ seq: ack.seq, roundTrip });
  }

  private startHeartbeats(interval: number): void {
    this.stopHeartbeats();
    this.watchdog = new HeartbeatWatchdog(interval * this.link.settings.missedHeartbeats, () =>
      this.loseManager('heartbeat-timeout'),
    );
    this.watchdog.start();
    this.sendHeartbeat();
    // Then on this instance's phase of the fleet's grid (see HEARTBEAT_PHASES).
    const instance = this.link.settings.instance;
    const schedule = () => {
      const delay = nextHeartbeatDelay(instance, interval);
      this.stats.expect(delay);
      this.heartbeatTimer = setTimeout(beat, delay);
    };
    const beat = () => {
      this.sendHeartbeat();
      schedule();
    };
    schedule();
  }

  private sendHeartbeat(): void {
    try {
      this.writeTo(this.managerSocket, {
        op: IpcOpCode.HEARTBEAT,
        d: {
          seq: ++this.heartbeatSeq,
          ts: now(),
          ...(this.link.roundTrip === undefined ? {} : { rtt: this.link.roundTrip }),
          ...this.stats.sample(),
          ...shardsOf(this.shardStatus.sample(this.instanceContext?.shards ?? [])),
        },
      });
      this.heartbeatFailure = undefined;
    } catch (error) {
      // No manager socket: its close reports the loss.
      if (error instanceof NotConnectedError) return;
      // Anything else (the manager not reading, a heartbeat too large for a frame) costs this
      // heartbeat, and if it lasts the manager takes this instance for dead: say why, once.
      const failure = (error as Error).message;
      if (failure === this.heartbeatFailure) return;
      this.heartbeatFailure = failure;
      this.link.logger.warn(`A heartbeat could not be sent: ${failure}`);
    }
  }

  private stopHeartbeats(): void {
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.stats.stop();
    this.watchdog?.stop();
    this.watchdog = undefined;
  }

  /**
   * Gives a new connection `unidentifiedTimeout` to send its manager's HELLO. One connection slot
   * always stays free for the manager: when a connection takes the last one, the oldest
   * connection that has not identified is closed.
   */
  private onConnection(socket: Socket): void {
    const deadline = setTimeout(
      () =>
        this.closeUnidentified(socket, `sent no valid HELLO within ${this.unidentifiedTimeout} ms`),
      this.unidentifiedTimeout,
    );
    deadline.unref();
    this.unidentified.set(socket, deadline);
    const connections = this.server === undefined ? 0 : this.server.sockets.length;
    if (connections < IPC_DEFAULTS.maxConnections) return;
    const [oldest] = this.unidentified.keys();
    if (oldest !== undefined && oldest !== socket) {
      this.closeUnidentified(
        oldest,
        'was the oldest unidentified one when the connections were full',
      );
    }
  }

  private closeUnidentified(socket: Socket, why: string): void {
    this.forgetUnidentified(socket);
    this.closedStrangers++;
    // Strangers may come in numbers: the first is worth a warning, the rest are counted.
    const log = this.closedStrangers === 1 ? 'warn' : 'debug';
    this.link.logger[log]?.(
      `Closed a connection that ${why}. Further ones are counted (closedConnections).`,
    );
    socket.destroy();
  }

  private forgetUnidentified(socket: Socket): void {
    clearTimeout(this.unidentified.get(socket));
    this.unidentified.delete(socket);
  }

  private onSocketClosed(socket: Socket): void {
    this.forgetUnidentified(socket);
    if (socket === this.managerSocket) this.loseManager('socket-closed');
  }

  private onEndpointError(error: Error & { code?: string }): void {
    // node-ipc closes only the offending connection on a protocol error; the manager's link,
    // if it was not that one, goes on.
    this.link.logger.warn(
      `Closed a connection on ${error.code ?? 'a socket error'}: ${error.message}`,
    );
  }

  private loseManager(reason: LinkLossReason): void {
    // A parent that goes away before its HELLO leaves this instance orphaned all the same.
    const orphaned = reason === 'parent-disconnected' && this.state === 'listening';
    if (this.state !== 'identified' && !orphaned) return;
    this.stopHeartbeats();
    const socket = this.managerSocket;
    this.managerWriter?.flush();
    this.managerSocket = undefined;
    this.managerReceiver = undefined;
    socket?.destroy();
    this.link.setState('manager-lost');
    this.link.channel.failPending(new ConnectionLostError('the manager', reason));
    this.link.logger.debug?.(`Lost the manager (${reason}).`);
    this.managerLosses.next(reason);
  }

  /**
   * Writes to `socket`: the manager's through its writer; another connection's (a refusal, an
   * IDENTIFY) through a writer of its own, which writes it at once (first write of its turn).
   */
  private writeTo(socket: Socket | undefined, packet: IpcPacket): void {
    if (this.server === undefined) throw new NotConnectedError('the manager', this.state);
    let writer: FrameWriter | undefined;
    if (socket !== undefined) {
      writer = this.managerWriter;
      if (writer?.socket !== socket) {
        writer = new FrameWriter(socket);
        if (socket === this.managerSocket) this.managerWriter = writer;
      }
    }
    this.link.write(writer, packet);
  }

  private peerName(socket: Socket): string {
    return socket === this.managerSocket ? 'the manager' : 'an unidentified connection';
  }
}

/** The `shards` field of a heartbeat: absent when the instance reports none. */
function shardsOf(reports: ShardReport[] | undefined): { shards?: ShardReport[] } {
  return reports === undefined ? {} : { shards: reports };
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
function now(): number {
  return performance.timeOrigin + performance.now();
}
