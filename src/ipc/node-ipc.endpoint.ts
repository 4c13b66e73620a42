import cluster from 'node:cluster';
import { Server as NetServer, type Socket } from 'node:net';
import { IPCModule, IPCProtocolError, type IpcSocketServer } from 'node-ipc';
import type { IpcPacket } from '../protocol/ipc-packet.types.js';
import { IPC_MESSAGE_EVENT } from '../protocol/protocol.constants.js';
import { IPC_DEFAULTS } from './ipc.constants.js';
import { BackpressureError, PayloadTooLargeError } from './ipc.errors.js';
import { ShardingFrameParser } from './sharding-frame.parser.js';

/** Settings of one node-ipc endpoint. */
export interface EndpointSettings {
  socketRoot: string;
  appspace: string;
  maxMessageSize: number;
  /** Client only: delay between connection attempts, in ms. */
  retry?: number;
  /** Client only: connection attempts before giving up (always finite). */
  maxRetries?: number;
}

/**
 * Bytes a connection may have waiting to be written. node-ipc closes a connection that goes over
 * it; {@link assertWritable} refuses a write before that can happen.
 */
export const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/**
 * Throws {@link BackpressureError} when a frame (at most `maxMessageSize` bytes) might not fit in
 * what the socket may still buffer: the write is refused, the connection stays.
 */
export function assertWritable(socket: Socket, peer: string, maxMessageSize: number): void {
  if (socket.writableLength > MAX_PENDING_BYTES - maxMessageSize) {
    throw new BackpressureError(peer, socket.writableLength);
  }
}

/** node-ipc's own event names, which are not packets. */
export const NODE_IPC_LIFECYCLE_EVENTS = new Set([
  'start',
  'connect',
  'disconnect',
  'destroy',
  'close',
  'socket.disconnected',
  'error',
  'data',
  IPC_MESSAGE_EVENT,
]);

/**
 * A node-ipc module of its own for one endpoint (never the shared singleton), with the guarded
 * parser (its {@link ShardingFrameParser} form), finite retries, and no unlinking of sockets (stale sockets are cleaned by
 * `claimSocketPath`, which never touches a live one).
 */
export function createIpcEndpoint(settings: EndpointSettings): IPCModule {
  const ipc = new IPCModule();
  Object.assign(ipc.config, {
    parser: ShardingFrameParser,
    socketRoot: settings.socketRoot.endsWith('/') ? settings.socketRoot : `${settings.socketRoot}/`,
    appspace: settings.appspace,
    silent: true,
    unlink: false,
    secureSocketRoot: true,
    maxMessageSize: settings.maxMessageSize,
    maxPendingBytes: MAX_PENDING_BYTES,
    messageTimeout: IPC_DEFAULTS.partialFrameTimeout,
    maxConnections: IPC_DEFAULTS.maxConnections,
    retry: settings.retry ?? IPC_DEFAULTS.connectRetryInterval,
    maxRetries: settings.maxRetries ?? 0,
    stopRetrying: false,
  });
  return ipc;
}

/**
 * Runs a node-ipc emit of `packet`, turning the guarded parser's size refusal into a
 * {@link PayloadTooLargeError}.
 */
export function emitPacket(
  emit: (type: string, data: IpcPacket) => unknown,
  packet: IpcPacket,
  maxMessageSize: number,
): void {
  try {
    emit(IPC_MESSAGE_EVENT, packet);
  } catch (error) {
    if (error instanceof IPCProtocolError && error.code === 'ERR_IPC_FRAME_TOO_LARGE') {
      throw new PayloadTooLargeError(
        packet.op === 0 ? packet.t : `op ${packet.op}`,
        maxMessageSize,
      );
    }
    throw error;
  }
}

/**
 * Starts a node-ipc server so that this process, and only this process, listens on its socket.
 *
 * In a cluster worker, Node hands a `listen()` to the primary unless the server is `exclusive`:
 * the manager would then own every instance's socket. node-ipc 14 calls
 * `listen({ path, readableAll, writableAll })` inside `start()` and offers no way to add
 * `exclusive`, so in a cluster worker `net.Server.prototype.listen` adds it for the duration of
 * that one synchronous call, and is restored before anything else can run.
 */
export function startServer(server: IpcSocketServer): void {
  if (!cluster.isWorker) {
    server.start();
    return;
  }
  const prototype = NetServer.prototype as { listen: (...args: unknown[]) => NetServer };
  const listen = prototype.listen;
  prototype.listen = function (this: NetServer, ...args: unknown[]): NetServer {
    const [options] = args;
    if (typeof options === 'object' && options !== null && 'path' in options) {
      args[0] = { ...options, exclusive: true };
    }
    return listen.apply(this, args);
  };
  try {
    server.start();
  } finally {
    prototype.listen = listen;
  }
}
