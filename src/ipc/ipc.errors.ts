import { ShardingError } from '../errors/sharding.error.js';
import type { SerializedError } from '../protocol/ipc-packet.types.js';

/** The instance did not answer HELLO with IDENTIFY within `helloTimeout`. */
export class HelloTimeoutError extends ShardingError {
  constructor(instance: number, timeout: number) {
    super(
      'ERR_SHARDING_HELLO_TIMEOUT',
      `Instance ${instance} did not answer HELLO with IDENTIFY within ${timeout} ms. ` +
        'Check that its entry file imports ShardingModule and that its start-up does not block.',
    );
  }
}

/** The instance refused HELLO: it was started by another manager. */
export class InvalidSessionError extends ShardingError {
  constructor(instance: number) {
    super(
      'ERR_SHARDING_INVALID_SESSION',
      `Instance ${instance} answered INVALID_SESSION: it expects another manager id. ` +
        'An instance only accepts the manager that spawned it.',
    );
  }
}

/** A request got no reply within its timeout. */
export class RequestTimeoutError extends ShardingError {
  constructor(event: string, timeout: number, peer: string) {
    super(
      'ERR_SHARDING_REQUEST_TIMEOUT',
      `Request "${event}" to ${peer} got no reply within ${timeout} ms. ` +
        'Raise the timeout option of the call if the handler is slow.',
    );
  }
}

/** Why a link between the manager and an instance ended. */
export type LinkLossReason =
  'socket-closed' | 'heartbeat-timeout' | 'protocol-error' | 'parent-disconnected' | 'closed';

/** The connection ended; pending requests reject with this at once. */
export class ConnectionLostError extends ShardingError {
  constructor(
    readonly peer: string,
    readonly reason: LinkLossReason,
  ) {
    super(
      'ERR_SHARDING_CONNECTION_LOST',
      `The connection to ${peer} was lost (${reason}) before a reply came.`,
    );
  }
}

/** A call needs an identified connection and there is none. */
export class NotConnectedError extends ShardingError {
  constructor(peer: string, state: string) {
    super(
      'ERR_SHARDING_NOT_CONNECTED',
      `Cannot send to ${peer}: the connection is ${state}. Wait for it to be identified.`,
    );
  }
}

/** A packet is larger than the frame limit of the guarded parser. */
export class PayloadTooLargeError extends ShardingError {
  constructor(event: string, limit: number) {
    super(
      'ERR_SHARDING_PAYLOAD_TOO_LARGE',
      `The packet for "${event}" is larger than the ${limit}-byte frame limit. ` +
        'Send less data per packet (for example, page through it).',
    );
  }
}

/** The connection has too much unsent data; the packet was refused, the connection stays. */
export class BackpressureError extends ShardingError {
  constructor(peer: string, pendingBytes: number) {
    super(
      'ERR_SHARDING_BACKPRESSURE',
      `${pendingBytes} bytes wait to be written to ${peer}; the packet was refused so that the ` +
        'connection survives. Send less at once, or wait for replies before sending more.',
    );
  }
}

/**
 * The receiver's handler failed; this carries its error. Its own code is always
 * `ERR_SHARDING_REMOTE_HANDLER`, so that a remote timeout is never mistaken for a local one; the
 * other side's name and code are `remoteName` and `remoteCode`.
 */
export class RemoteHandlerError extends ShardingError {
  /** The `name` of the error on the other side. */
  readonly remoteName: string;
  /** The `code` of the error on the other side, if it had one. */
  readonly remoteCode: string | undefined;

  constructor(event: string, peer: string, error: SerializedError) {
    super(
      'ERR_SHARDING_REMOTE_HANDLER',
      `The handler of "${event}" on ${peer} failed: ${error.name}: ${error.message}` +
        (error.code === undefined ? '' : ` (${error.code})`),
    );
    this.remoteName = error.name;
    this.remoteCode = error.code;
  }
}

/** Another live server already listens on the socket path. */
export class SocketInUseError extends ShardingError {
  constructor(path: string) {
    super(
      'ERR_SHARDING_SOCKET_IN_USE',
      `A live server already listens on ${path}; it is never taken over. ` +
        'Each instance needs its own snowflake.',
    );
  }
}

/** The socket path does not fit the operating system's limit. */
export class SocketPathTooLongError extends ShardingError {
  constructor(path: string, limit: number) {
    super(
      'ERR_SHARDING_SOCKET_PATH_TOO_LONG',
      `The socket path ${path} is ${Buffer.byteLength(path)} bytes; the limit is ${limit}. ` +
        'Choose a shorter socketRoot.',
    );
  }
}

/** The socket root exists but is not a private directory of the current user. */
export class UnsafeSocketRootError extends ShardingError {
  constructor(path: string, problem: string) {
    super(
      'ERR_SHARDING_UNSAFE_SOCKET_ROOT',
      `The socket root ${path} ${problem}. Use a directory only this user can enter (mode 0700).`,
    );
  }
}
