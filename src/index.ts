// The public API of nestjs-sharding. Anything not exported here (or from the `nestjs-sharding/ipc`
// and `nestjs-sharding/testing` entries) is internal.
// First: on an unsupported runtime, fail with a clear message before any dependency loads.
// oxlint-disable-next-line import/no-unassigned-import
import './runtime/runtime.check.js';
export { ShardingModule, type RoleScopedModule } from './sharding.module.js';
export type { ShardingModuleExtras } from './sharding.module-definition.js';
export { SHARDING_ENV, SHARDING_INSTANCE_CONTEXT } from './sharding.constants.js';
export type {
  ManagerLostPolicy,
  ReadyWhen,
  RestartOptions,
  ShardingMode,
  ShardingModuleOptions,
  StatusPageOptions,
} from './options/sharding-options.interface.js';
export { SHARDING_ROLE, type ShardingRole } from './common/sharding-role.js';
export { SHARDING_DEFAULTS } from './options/sharding.defaults.js';
export { InvalidShardingOptionError } from './options/invalid-option.error.js';
export { isShardingInstance, MissingManagerError } from './runtime/process-role.js';

export {
  ShardingManager,
  type InstanceResult,
  type ManagerCallOptions,
  type WhenNotReady,
} from './manager/sharding.manager.js';
export type { RelayedInstanceResult } from './protocol/relayed-result.types.js';
export {
  REQUEST_OUTCOMES,
  type RequestOutcome,
  type RequestOutcomeKind,
} from './manager/request-outcome.js';
export {
  INSTANCE_TRANSITIONS,
  type InstanceRestart,
  type InstanceState,
  type InstanceStatus,
  type InstanceStatusChange,
} from './manager/instance-state.js';
export type { InstanceExit } from './manager/spawn/instance-handle.interface.js';
export type { InstanceLink } from './manager/instance-link.js';
export { ShardMoveError, type ShardMove } from './manager/shard-handover.js';
export {
  DuplicateShardingModuleError,
  InstanceNotReadyError,
  InstanceUnavailableError,
  ManagerShutDownError,
  ReshardError,
  UnknownInstanceError,
} from './manager/manager.errors.js';
export { WrongRoleError } from './errors/role.error.js';
export { StatusPageServer } from './status-page/status-page.server.js';
export { StatusPageListenError } from './status-page/status-page.errors.js';
export type {
  StatusPageFailure,
  StatusPageHost,
  StatusPageIdentify,
  StatusPageInstance,
  StatusPageShard,
  StatusPageSnapshot,
  StatusPageUpdate,
} from './status-page/status-page-view.interface.js';
export { IllegalTransitionError } from './manager/illegal-transition.error.js';
export { ShardingInstance, type ClosableApplication } from './instance/sharding.instance.js';
export type { ShardStatusUpdate } from './ipc/shard-status.board.js';
export { NoHelloError, NoInstanceContextError } from './instance/instance.errors.js';
export {
  InvalidRestructureError,
  RestructureUnsupportedError,
  type InstanceRestructure,
  type RestructureApplier,
  type RestructurePlan,
} from './instance/instance-restructure.js';
export type { InstanceShutdown, ShutdownStep } from './instance/instance-shutdown.js';

export {
  OnDispatch,
  type OnDispatchOptions,
  type OnDispatchRole,
} from './dispatch/on-dispatch.decorator.js';
export { DispatchRegistry } from './dispatch/dispatch.registry.js';

export {
  GatewayUnavailableError,
  InvalidSessionUpdateError,
  MissingTokenError,
  TokenInvalidError,
} from './discord/discord.errors.js';
export { DISCORD_IDENTIFY_WINDOW } from './common/discord.constants.js';
export {
  IdentifyQueue,
  type IdentifyGrant,
  type IdentifyQueueOptions,
  type IdentifyQueueProgress,
} from './discord/identify.queue.js';
export { IdentifyBudgetExhaustedError, IdentifyCancelledError } from './errors/identify.errors.js';
export type {
  CoordinationOptions,
  CoordinationRedisClient,
} from './coordination/coordination-options.interface.js';
export {
  ClusterTargetGoneError,
  MissingRedisClientError,
  NoClusterError,
} from './coordination/coordination.errors.js';
export type {
  ClusterCallOptions,
  ClusterLocation,
  ClusterTarget,
} from './coordination/cluster-call.types.js';
export type { ClusterInstanceResult } from './coordination/cluster.messenger.js';
export type { ClusterHost } from './coordination/cluster-hosts.view.js';
export type { ShardSession } from './protocol/session-info.interface.js';
export { ShardingIdentifyThrottler } from './discord/sharding-identify.throttler.js';
export { InstanceGatewayLink } from './discord/instance-gateway.link.js';
export {
  shardingWebSocketOptions,
  type ShardingWebSocketOptions,
} from './discord/discordjs-ws.options.js';
export {
  shardingClientOptions,
  type ShardingClientOptions,
} from './discord/discordjs-client.options.js';
export { DiscordjsShardCompat } from './discord/discordjs-shard.compat.js';
export { reportClientShards } from './discord/discordjs-client.reporter.js';
export {
  ShardClientCompat,
  type ShardClientCompatOptions,
  type ShardClientEvalOptions,
} from './discord/shard-client.compat.js';
export {
  BroadcastEvalDisabledError,
  ShardClientCallError,
} from './discord/discordjs-shard.errors.js';
export { fetchGatewayBot, type GatewayBotInfo } from './discord/gateway-bot.fetcher.js';
export { ShardingError } from './errors/sharding.error.js';
export { MissingPeerDependencyError } from './errors/missing-peer.error.js';
export { SHARDING_ERROR_CODES, type ShardingErrorCode } from './errors/error-codes.js';
export { InvalidDispatchHandlerError, NoHandlerError } from './dispatch/dispatch.errors.js';

export type {
  DispatchSender,
  DispatchTarget,
  ShardGatewayState,
  ShardReport,
} from './protocol/ipc-packet.types.js';
export { LibraryEvent } from './protocol/protocol.constants.js';

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

export {
  BackpressureError,
  ConnectionLostError,
  HelloTimeoutError,
  InvalidSessionError,
  NotConnectedError,
  PayloadTooLargeError,
  RemoteHandlerError,
  RequestTimeoutError,
  SocketInUseError,
  SocketPathTooLongError,
  UnsafeSocketRootError,
  type LinkLossReason,
} from './ipc/ipc.errors.js';
export type { RelayOptions, RequestOptions } from './ipc/packet-channel.js';
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
} from './ipc/ipc.server.js';
