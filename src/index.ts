// The public API of nestjs-sharding. Anything not exported here is internal.
export { ShardingError } from './errors/sharding.error.js';

export { IpcOpCode } from './protocol/op-code.enum.js';
export type {
  DispatchPayload,
  DispatchSender,
  DispatchTarget,
  ErrorPayload,
  HeartbeatAckPayload,
  HeartbeatPayload,
  HelloPayload,
  IdentifyPayload,
  InstanceStats,
  InvalidSessionPayload,
  IpcPacket,
  IpcPacketOf,
  SerializedError,
} from './protocol/ipc-packet.types.js';
export {
  decodePacket,
  type DecodeResult,
  type PacketRejection,
  type PacketRejectionCode,
} from './protocol/packet.decoder.js';
export {
  DEFAULT_APPSPACE,
  DEFAULT_MAX_MESSAGE_SIZE,
  IPC_MESSAGE_EVENT,
  LibraryEvent,
  MANAGER_SENDER,
} from './protocol/protocol.constants.js';

export {
  SnowflakeService,
  buildSnowflake,
  MANAGER_SHARD_ID,
  type DeconstructedDiscordSnowflake,
  type DeconstructedSnowflake,
  type SnowflakeFields,
} from './snowflake/snowflake.service.js';
export { InvalidSnowflakeError } from './snowflake/snowflake.error.js';

export type { DispatchContext, DispatchHandler } from './dispatch/dispatch-context.interface.js';

export { IPC_DEFAULTS } from './ipc/ipc.constants.js';
export {
  ConnectionLostError,
  HelloTimeoutError,
  InvalidSessionError,
  NoHandlerError,
  NotConnectedError,
  PayloadTooLargeError,
  RemoteHandlerError,
  RequestTimeoutError,
  SocketInUseError,
  SocketPathTooLongError,
  UnsafeSocketRootError,
  type LinkLossReason,
} from './ipc/ipc.errors.js';
export type { RequestOptions } from './ipc/packet-channel.js';
export {
  IpcClient,
  type InstanceHeartbeat,
  type IpcClientOptions,
  type IpcClientState,
  type LinkLoss,
} from './ipc/ipc.client.js';
export {
  IpcServer,
  type HeartbeatAck,
  type InstanceContext,
  type IpcServerOptions,
  type IpcServerState,
  type ManagerLostPolicy,
} from './ipc/ipc.server.js';
export { createSocketRoot, removeSocketRoot } from './ipc/socket-path.js';
