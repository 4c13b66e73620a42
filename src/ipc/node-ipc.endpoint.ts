import cluster from 'node:cluster';
import { Server as NetServer } from 'node:net';
import { IPCModule, type IpcSocketServer } from 'node-ipc';
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
 * Bytes a connection may have waiting to be written. {@link assertWritable} refuses a write that
 * could go over it; node-ipc, given the same cap, closes a connection its own writes take over it.
 */
export const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/**
 * Throws {@link BackpressureError} when a frame (at most `maxMessageSize` bytes) might not fit in
 * what the connection may still buffer (`pendingBytes`: the socket's and the frame writer's):
 * the write is refused, the connection stays.
 */
export function assertWritable(pendingBytes: number, peer: string, maxMessageSize: number): void {
  if (pendingBytes > MAX_PENDING_BYTES - maxMessageSize) {
    throw new BackpressureError(peer, pendingBytes);
  }
}

/** node-ipc's frame delimiter, which the endpoints set explicitly. */
export const FRAME_DELIMITER = '\f';

const FRAME_HEAD = `{"type":${JSON.stringify(IPC_MESSAGE_EVENT)},"data":`;

/**
 * The node-ipc frame of `packet` (`{"type":"__DDOO__.MESSAGE","data":<packet>}` and the
 * delimiter), the same text node-ipc's encoder makes, built without the envelope object.
 * Throws {@link PayloadTooLargeError} when the frame exceeds `maxMessageSize` bytes; a string of
 * `n` UTF-16 units has at most `3n` bytes, so only a frame that might be too large is measured.
 */
export function encodeFrame(packet: IpcPacket, maxMessageSize: number): string {
  const body = FRAME_HEAD + JSON.stringify(packet) + '}';
  if (body.length * 3 > maxMessageSize && Buffer.byteLength(body) > maxMessageSize) {
    throw new PayloadTooLargeError(packet.op === 0 ? packet.t : `op ${packet.op}`, maxMessageSize);
  }
  return body + FRAME_DELIMITER;
}

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
    delimiter: FRAME_DELIMITER,
    messageTimeout: IPC_DEFAULTS.partialFrameTimeout,
    maxConnections: IPC_DEFAULTS.maxConnections,
    retry: settings.retry ?? IPC_DEFAULTS.connectRetryInterval,
    maxRetries: settings.maxRetries ?? 0,
    stopRetrying: false,
  });
  return ipc;
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
