// The wire-level entry of nestjs-sharding (`nestjs-sharding/ipc`): the protocol and the IPC
// primitives, for tools, tests and peers written by hand. Applications need only the main entry,
// which also exports `IpcClient` and `IpcServer`.
// First: on an unsupported runtime, fail with a clear message before any dependency loads.
// oxlint-disable-next-line import/no-unassigned-import
import '../runtime/runtime.check.js';
export { IpcOpCode } from '../protocol/op-code.enum.js';
export type {
  DispatchPayload,
  ErrorPayload,
  HeartbeatAckPayload,
  HeartbeatPayload,
  HelloPayload,
  IdentifyPayload,
  InstanceStats,
  InvalidSessionPayload,
  ShardGatewayState,
  ShardReport,
  IpcPacket,
  IpcPacketOf,
  SerializedError,
} from '../protocol/ipc-packet.types.js';
export {
  decodePacket,
  type DecodeResult,
  type PacketRejection,
  type PacketRejectionCode,
} from '../protocol/packet.decoder.js';
export {
  DEFAULT_APPSPACE,
  DEFAULT_MAX_MESSAGE_SIZE,
  IPC_MESSAGE_EVENT,
  MANAGER_SENDER,
} from '../protocol/protocol.constants.js';
export type { RestructurePayload, RestructureReply } from '../protocol/restructure.types.js';
export { IPC_DEFAULTS } from './ipc.constants.js';
export type { LinkOptions } from './link-endpoint.js';
export { createSocketRoot, removeSocketRoot } from './socket-path.js';
export { IpcClient } from './ipc.client.js';
export { IpcServer } from './ipc.server.js';
