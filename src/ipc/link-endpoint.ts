// The published declarations of this file name node-ipc, which ships no types of its own; this
// reference takes users who check library types (skipLibCheck: false) to ours, shipped in src/.
// It is an ambient declaration file (`declare module`), so there is no module to import instead.
// oxlint-disable-next-line typescript/triple-slash-reference
/// <reference path="./node-ipc.d.ts" preserve="true" />
import { Logger } from '@nestjs/common';
import type { Socket } from 'node:net';
import type { IPCModule } from 'node-ipc';
import { BehaviorSubject, type Observable } from 'rxjs';
import { withoutUndefined } from '../common/without-undefined.js';
import type { DispatchHandler } from '../dispatch/dispatch-context.interface.js';
import type { DispatchSender, IpcPacket } from '../protocol/ipc-packet.types.js';
import {
  DEFAULT_APPSPACE,
  DEFAULT_MAX_MESSAGE_SIZE,
  MANAGER_SENDER,
} from '../protocol/protocol.constants.js';
import { MANAGER_SHARD_ID } from '../snowflake/snowflake.constants.js';
import { SnowflakeService } from '../snowflake/snowflake.service.js';
import { IPC_DEFAULTS } from './ipc.constants.js';
import { NotConnectedError } from './ipc.errors.js';
import type { FrameWriter } from './frame-writer.js';
import { assertWritable, createIpcEndpoint, encodeFrame } from './node-ipc.endpoint.js';
import { PacketChannel } from './packet-channel.js';
import { RejectionLog } from './rejection-log.js';
import { socketPathFor } from './socket-path.js';

/** Options both ends of a link take: who they are, where the socket is, and the link's limits. */
export interface LinkOptions {
  /** The manager's snowflake: HELLO carries it, and the instance accepts only that one. */
  managerId: string;
  /** The instance's snowflake, which is also its socket name. */
  instanceId: string;
  /** The instance index. */
  instance: number;
  /** The manager's private socket directory. */
  socketRoot: string;
  /** Prefix of socket names. Default `'ddoo'`. */
  appspace?: string;
  /** Silent heartbeat intervals after which the other side is reported lost. Default 3. */
  missedHeartbeats?: number;
  /** Default request timeout, in ms. Default 15000. */
  requestTimeout?: number;
  /** Largest frame sent or accepted, in bytes. Default 1 MiB. */
  maxMessageSize?: number;
  /**
   * Receives the peer's dispatches that are not replies; its result answers requests. Given once,
   * here, so that nothing can swap it out later. Default: none (requests get an ERROR reply).
   */
  dispatchHandler?: DispatchHandler;
  /** Logger; default a Nest `Logger` named after the class (`IpcClient`, `IpcServer`). */
  logger?: Logger;
}

/** {@link LinkOptions} with every default applied. */
export type LinkSettings = Required<Omit<LinkOptions, 'dispatchHandler' | 'logger'>>;

/** What the owner of a {@link LinkEndpoint} tells it about its side of the link. */
export interface LinkRole<State extends string> {
  /** The owner's class name, for the default logger. */
  name: string;
  /** The peer, for logs and errors, e.g. `instance 3`. */
  peer: string;
  /** This side's `from` in dispatches. */
  self: DispatchSender;
  /** The `from` every dispatch of the peer carries. */
  peerSender: DispatchSender;
  /** The state before anything happened. */
  initialState: State;
  /** Writes one packet to the peer; throws a typed error when it cannot. */
  write: (packet: IpcPacket) => void;
  /** Called with every valid packet that is neither a DISPATCH nor an ERROR. */
  onControl: (packet: IpcPacket) => void;
}

/**
 * What both ends of a link share: settings with defaults, event ids, the packet channel and its
 * rejection log, the state stream, and the guarded write path. `IpcClient` and `IpcServer` each hold one and add their side of the handshake.
 */
export class LinkEndpoint<State extends string> {
  readonly settings: LinkSettings;
  readonly logger: Logger;
  readonly rejections: RejectionLog;
  readonly channel: PacketChannel;
  /** The state; replays the current one to new subscribers. */
  readonly state$: Observable<State>;
  /** Round trip of the latest heartbeat, in ms, as the owner measured it. */
  roundTrip: number | undefined;

  private readonly stateSubject: BehaviorSubject<State>;
  private current: State;
  private readonly snowflakes = new SnowflakeService();

  constructor(options: LinkOptions, role: LinkRole<State>) {
    this.settings = {
      appspace: DEFAULT_APPSPACE,
      missedHeartbeats: IPC_DEFAULTS.missedHeartbeats,
      requestTimeout: IPC_DEFAULTS.requestTimeout,
      maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
      ...withoutUndefined(options),
    };
    this.logger = options.logger ?? new Logger(role.name);
    this.rejections = new RejectionLog(this.logger);
    this.current = role.initialState;
    this.stateSubject = new BehaviorSubject(role.initialState);
    this.state$ = this.stateSubject.asObservable();
    const idShard = role.self === MANAGER_SENDER ? MANAGER_SHARD_ID : role.self;
    this.channel = new PacketChannel({
      peer: role.peer,
      self: role.self,
      peerSender: role.peerSender,
      write: role.write,
      nextEventId: () => this.snowflakes.generate(idShard),
      onControl: role.onControl,
      dispatchHandler: options.dispatchHandler,
      rejections: this.rejections,
      logger: this.logger,
      requestTimeout: this.settings.requestTimeout,
    });
  }

  /** The current state. */
  get state(): State {
    // A plain field, not the subject's value: read on every packet and heartbeat.
    return this.current;
  }

  /** The socket path of the instance (throws `SocketPathTooLongError` when it cannot fit). */
  get socketPath(): string {
    return socketPathFor(
      this.settings.socketRoot,
      this.settings.appspace,
      this.settings.instanceId,
    );
  }

  /** A new event id (a snowflake of this side). */
  nextEventId(): string {
    return this.channel.nextEventId();
  }

  setState(state: State): void {
    if (this.current === state) return;
    this.current = state;
    this.stateSubject.next(state);
  }

  /** Completes the state stream; the link is over. */
  completeState(): void {
    this.stateSubject.complete();
  }

  /** A node-ipc module of its own for this link; a client passes its retry settings. */
  createIpc(retry?: { retry: number; maxRetries: number }): IPCModule {
    return createIpcEndpoint({
      socketRoot: this.settings.socketRoot,
      appspace: this.settings.appspace,
      maxMessageSize: this.settings.maxMessageSize,
      ...retry,
    });
  }

  /**
   * Writes `packet` through `writer` (coalesced per turn): refused with `NotConnectedError`
   * without an open socket, with `BackpressureError` when too much waits to be written, and with
   * `PayloadTooLargeError` when it exceeds the frame limit. The frame is encoded now, so later
   * changes to the data are not sent.
   */
  write(writer: FrameWriter | undefined, packet: IpcPacket): void {
    if (writer === undefined || writer.socket.destroyed) {
      throw new NotConnectedError(this.channel.peer, this.state);
    }
    const maxMessageSize = this.settings.maxMessageSize;
    assertWritable(writer.pendingBytes, this.channel.peer, maxMessageSize);
    writer.push(encodeFrame(packet, maxMessageSize));
  }

  /**
   * Resolves when `socket` has written what it had queued, or has ended; at once when nothing
   * waits or there is no socket.
   */
  async whenWritable(socket: Socket | false | undefined): Promise<void> {
    if (socket === undefined || socket === false || socket.destroyed || socket.writableLength === 0)
      return;
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.off('drain', done).off('close', done).off('error', done);
        resolve();
      };
      socket.on('drain', done).on('close', done).on('error', done);
    });
  }
}
