import type { Logger } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import type { DispatchContext, DispatchHandler } from '../dispatch/dispatch-context.interface.js';
import type {
  DispatchPayload,
  DispatchSender,
  DispatchTarget,
  IpcPacket,
  IpcPacketOf,
  SerializedError,
} from '../protocol/ipc-packet.types.js';
import { IpcOpCode } from '../protocol/op-code.enum.js';
import {
  decodePacket,
  isWellFormedDispatch,
  isWellFormedHeartbeat,
  type DecodeResult,
} from '../protocol/packet.decoder.js';
import { isPromiseLike } from '../common/is-promise-like.js';
import { ForeignEvent } from './sharding-frame.parser.js';
import { IPC_DEFAULTS } from './ipc.constants.js';
import { NoHandlerError } from '../dispatch/dispatch.errors.js';
import { RemoteHandlerError, RequestTimeoutError } from './ipc.errors.js';
import { PendingRequests } from './pending-requests.js';
import type { RejectionLog } from './rejection-log.js';

/**
 * What a manager acts on from an instance before it has accepted the instance's IDENTIFY: the
 * handshake's answers, and ERROR (which settles nothing then, as nothing was asked yet).
 */
const BEFORE_IDENTIFY_OPS: ReadonlySet<number> = new Set([
  IpcOpCode.IDENTIFY,
  IpcOpCode.INVALID_SESSION,
  IpcOpCode.ERROR,
]);

/** Options of one request. */
export interface RequestOptions {
  /** Milliseconds to wait for the reply before rejecting with `RequestTimeoutError`. Default 15000. */
  timeout?: number;
}

/** Options of a dispatch an instance sends: where the manager should relay it. */
export interface RelayOptions {
  /**
   * Ask the manager to relay to other instances: `'all'`, instance indexes, the instance of a
   * shard (`{ shard }`) or of a guild (`{ guild }`). Default: none, the manager handles it.
   */
  to?: DispatchTarget;
}

type OutgoingOptions = RequestOptions & RelayOptions;

/** How a channel reaches the wire and names things; given by the client or the server. */
export interface PacketChannelOptions {
  /** The peer, for logs and errors, e.g. `instance 3`. */
  peer: string;
  /** This side's `from` in dispatches. */
  self: DispatchSender;
  /** The `from` of every dispatch the peer sends; others are dropped (`WRONG_SENDER`). */
  peerSender: DispatchSender;
  /** Writes one packet; throws a typed error when it cannot (too large, not connected). */
  write: (packet: IpcPacket) => void;
  /** A new event id (a snowflake) for each outgoing request or event. */
  nextEventId: () => string;
  /** Called with every valid non-DISPATCH, non-ERROR packet (handshake and heartbeats). */
  onControl: (packet: IpcPacket) => void;
  /** Receives every DISPATCH that is not a reply to this side's own request. Default: none. */
  dispatchHandler?: DispatchHandler;
  rejections: RejectionLog;
  logger: Logger;
  /** Default request timeout, in ms. */
  requestTimeout?: number;
}

/**
 * The packet logic shared by both ends of one connection: decoding, dropping bad packets,
 * correlating requests with replies by event id, and running the dispatch handler.
 */
export class PacketChannel {
  private readonly pending = new PendingRequests();
  private readonly packets = new Subject<IpcPacket>();
  private authenticated = false;

  /** Every valid packet received, replies included. */
  readonly packets$: Observable<IpcPacket> = this.packets.asObservable();

  constructor(private readonly options: PacketChannelOptions) {}

  /** Resolves when no request of this side waits for a reply any more. */
  whenIdle(): Promise<void> {
    return this.pending.whenEmpty();
  }

  /** How many requests wait for a reply. */
  get pendingRequests(): number {
    return this.pending.size;
  }

  /** The peer, for logs and errors. */
  get peer(): string {
    return this.options.peer;
  }

  /** A new event id for an outgoing packet. */
  nextEventId(): string {
    return this.options.nextEventId();
  }

  /**
   * Marks the peer as authenticated (the manager accepted its IDENTIFY, or the instance its
   * manager's HELLO). Until then, only IDENTIFY, INVALID_SESSION and ERROR are taken; the rest
   * is dropped and counted (`UNAUTHENTICATED`), and reaches neither the handler nor `packets$`.
   */
  authenticate(): void {
    this.authenticated = true;
  }

  /** Handles one value received from the peer. Never throws. */
  receive(value: unknown): void {
    // The common case, a well-formed DISPATCH on an authenticated link, in one pass.
    if (this.authenticated && isWellFormedDispatch(value)) {
      this.receiveDispatch(value);
      return;
    }
    // Then a heartbeat, with no decode result allocated for it.
    if (this.authenticated && isWellFormedHeartbeat(value)) {
      if (this.packets.observed) this.packets.next(value);
      this.options.onControl(value);
      return;
    }
    const decoded = decodeReceived(value);
    if (!decoded.ok) {
      this.options.rejections.record(this, this.options.peer, decoded.rejection);
      return;
    }
    const packet = decoded.packet;
    if (!this.authenticated && !BEFORE_IDENTIFY_OPS.has(packet.op)) {
      this.options.rejections.record(this, this.options.peer, {
        code: 'UNAUTHENTICATED',
        message: `op ${packet.op} came before IDENTIFY was accepted`,
      });
      return;
    }
    if (packet.op === IpcOpCode.DISPATCH) {
      this.receiveDispatch(packet);
      return;
    }
    if (this.packets.observed) this.packets.next(packet);
    switch (packet.op) {
      case IpcOpCode.ERROR:
        // An ERROR names no event: it settles by event id, on the connection it came from.
        this.pending.reject(
          packet.d.event_id,
          (event) => new RemoteHandlerError(event, this.options.peer, packet.d.error),
        );
        return;
      default:
        this.options.onControl(packet);
    }
  }

  /** Sends an event without waiting for anything. */
  send(event: string, data?: unknown, options?: OutgoingOptions): void {
    this.options.write(this.dispatch(event, this.options.nextEventId(), data, options?.to));
  }

  /** Sends a request and resolves with the peer handler's result. */
  request<T = unknown>(event: string, data?: unknown, options?: OutgoingOptions): Promise<T> {
    const timeout = options?.timeout ?? this.options.requestTimeout ?? IPC_DEFAULTS.requestTimeout;
    const eventId = this.options.nextEventId();
    const reply = this.pending.add<T>(
      eventId,
      event,
      timeout,
      () => new RequestTimeoutError(event, timeout, this.options.peer),
    );
    try {
      this.options.write(this.dispatch(event, eventId, data, options?.to, true));
    } catch (error) {
      this.pending.reject(eventId, error as Error);
    }
    return reply;
  }

  /** Rejects every waiting request with `error` and completes the packet stream. */
  close(error: Error): void {
    this.pending.rejectAll(error);
    this.packets.complete();
  }

  /** Rejects every waiting request with `error`; the channel stays usable. */
  failPending(error: Error): void {
    this.pending.rejectAll(error);
  }

  /**
   * A DISPATCH is a reply when it settles a request of this side: same event id, same event, from
   * the peer. Anything that claims another sender, or answers a request with another event, is
   * dropped and counted; the request it claimed to answer keeps waiting for the real reply.
   */
  private receiveDispatch(packet: IpcPacketOf<IpcOpCode.DISPATCH>): void {
    const { t: event, d } = packet;
    if (d.from !== this.options.peerSender) {
      this.options.rejections.record(this, this.options.peer, {
        code: 'WRONG_SENDER',
        field: 'd.from',
        message: `a DISPATCH from ${this.options.peer} claims to come from ${String(d.from)}`,
      });
      return;
    }
    if (d.reply !== true) {
      const match = this.pending.resolve(d.event_id, event, d.data);
      if (match === 'mismatch') {
        this.options.rejections.record(this, this.options.peer, {
          code: 'MISMATCHED_REPLY',
          field: 't',
          message: `a reply "${event.slice(0, 40)}" names another event than its request`,
        });
        return;
      }
      if (this.packets.observed) this.packets.next(packet);
      if (match === 'settled') return;
      if (this.pending.takeExpired(d.event_id)) {
        this.options.logger.warn(`Dropped a late reply to "${event}" from ${this.options.peer}.`);
        return;
      }
    } else if (this.packets.observed) {
      this.packets.next(packet);
    }
    this.runHandler(packet);
  }

  private dispatch(
    event: string,
    eventId: string,
    data: unknown,
    to?: DispatchTarget,
    reply?: true,
  ): IpcPacketOf<IpcOpCode.DISPATCH> {
    // One object shape per kind of packet: `reply` is in the literal, not added later.
    const d: DispatchPayload =
      reply === true
        ? { event_id: eventId, from: this.options.self, data, reply }
        : { event_id: eventId, from: this.options.self, data };
    if (to !== undefined) d.to = to;
    return { op: IpcOpCode.DISPATCH, t: event, d };
  }

  /**
   * Runs the dispatch handler; a request gets its result or an ERROR. A handler that returns a
   * plain value is answered at once, without a promise per packet.
   */
  private runHandler({ t: event, d }: IpcPacketOf<IpcOpCode.DISPATCH>): void {
    const isRequest = d.reply === true;
    const context: DispatchContext = { event, from: d.from, eventId: d.event_id, isRequest };
    if (d.to !== undefined) context.to = d.to;
    let result: unknown;
    try {
      const handler = this.options.dispatchHandler;
      if (handler === undefined) throw new NoHandlerError(event);
      result = handler(d.data, context);
    } catch (error) {
      this.handlerFailed(event, d.event_id, isRequest, error);
      return;
    }
    if (isPromiseLike(result)) {
      result.then(
        (value) => {
          if (isRequest) this.reply(this.dispatch(event, d.event_id, value));
        },
        (error: unknown) => this.handlerFailed(event, d.event_id, isRequest, error),
      );
    } else if (isRequest) {
      this.reply(this.dispatch(event, d.event_id, result));
    }
  }

  private handlerFailed(event: string, eventId: string, isRequest: boolean, error: unknown): void {
    // The handler's owner logs its failures (the dispatch registry names the method); here they
    // only become the requester's ERROR.
    this.options.logger.debug?.(
      `The handler of "${event}" from ${this.options.peer} failed: ${(error as Error)?.message}`,
    );
    if (isRequest) {
      this.reply({ op: IpcOpCode.ERROR, d: { event_id: eventId, error: serializeError(error) } });
    }
  }

  private reply(packet: IpcPacket): void {
    try {
      this.options.write(packet);
    } catch (error) {
      // The requester gives up by its own timeout or on disconnect; say why here.
      this.options.logger.warn(
        `Could not reply to ${this.options.peer}: ${(error as Error).message}`,
      );
      if (packet.op === IpcOpCode.DISPATCH) {
        this.reply({
          op: IpcOpCode.ERROR,
          d: { event_id: packet.d.event_id, error: serializeError(error) },
        });
      }
    }
  }
}

/**
 * Decodes what node-ipc handed over: a packet, or why it is dropped, a frame of another node-ipc
 * event than the protocol's included (`UNKNOWN_EVENT_TYPE`).
 */
export function decodeReceived(value: unknown): DecodeResult {
  if (value instanceof ForeignEvent) {
    return {
      ok: false,
      rejection: {
        code: 'UNKNOWN_EVENT_TYPE',
        message: `node-ipc event "${value.type.slice(0, 40)}" is not part of the protocol`,
      },
    };
  }
  return decodePacket(value);
}

/** The `{ name, message, code }` of any thrown value. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  return { name: 'Error', message: String(error) };
}
