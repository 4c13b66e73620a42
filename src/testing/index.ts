// The testing entry of nestjs-sharding (`nestjs-sharding/testing`): a Discord gateway emulator,
// so that bots and their sharding run in tests without a token.
// First: on an unsupported runtime, fail with a clear message before any dependency loads.
// oxlint-disable-next-line import/no-unassigned-import
import '../runtime/runtime.check.js';
export { GatewayEmulator, type EventStreamOptions } from './gateway.emulator.js';
export type {
  GatewayEmulatorOptions,
  SessionStartLimitOptions,
} from './gateway-emulator.options.js';
export type {
  CloseRecord,
  EmulatedGuild,
  EmulatedSessionInfo,
  GatewayEmulatorCounters,
  GatewayEmulatorEvents,
  HttpRequestRecord,
  IdentifyRecord,
  IdentifyRejection,
  ReadyRecord,
  RejectedConnection,
  ResumeRecord,
  ResumeRejection,
  SentEvent,
  SessionTakeover,
} from './gateway-emulator.records.js';
export {
  GATEWAY_EMULATOR_DEFAULTS,
  GATEWAY_MAX_PAYLOAD,
  GatewayCloseCode,
  GatewayOp,
} from './gateway-emulator.constants.js';
export {
  EmulatorIdentifyThrottler,
  type EmulatorIdentifySource,
  type EmulatorIdentifyThrottlerOptions,
} from './emulator-identify.throttler.js';
export { EMULATOR_BOT_USER, EMULATOR_MEMBER_USER } from './emulator.payloads.js';
export { MissingPeerDependencyError } from '../errors/missing-peer.error.js';
