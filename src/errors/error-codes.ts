/**
 * Every code a {@link ShardingError} can carry, each listed once with what it means. The codes
 * are stable across releases: branch on `error.code`, never on the message.
 */
export const SHARDING_ERROR_CODES = {
  // Options and roles
  ERR_SHARDING_INVALID_OPTION:
    'an option of ShardingModule has a value it cannot take, or is unknown',
  ERR_SHARDING_DUPLICATE_MODULE: 'ShardingModule.forRoot() is imported more than once',
  ERR_SHARDING_WRONG_ROLE: "one role's API was used in the other role",
  ERR_SHARDING_NO_MANAGER: 'an instance was started without a manager',
  // Handlers
  ERR_SHARDING_INVALID_DISPATCH_HANDLER: '@OnDispatch or a registration was misused',
  ERR_SHARDING_NO_HANDLER: 'no handler is registered for a requested event',
  ERR_SHARDING_REMOTE_HANDLER: "the other side's handler failed (its own code is `remoteCode`)",
  // The link
  ERR_SHARDING_HELLO_TIMEOUT: 'an instance did not answer HELLO with IDENTIFY in time',
  ERR_SHARDING_NO_HELLO: "an instance's manager never sent HELLO",
  ERR_SHARDING_NO_CONTEXT: 'the instance context was needed before the manager sent HELLO',
  ERR_SHARDING_INVALID_SESSION: 'an instance refused this manager',
  ERR_SHARDING_REQUEST_TIMEOUT: 'a request got no reply in time',
  ERR_SHARDING_CONNECTION_LOST: 'the link ended while a request waited',
  ERR_SHARDING_NOT_CONNECTED: 'a send before IDENTIFY or after the link ended',
  ERR_SHARDING_PAYLOAD_TOO_LARGE: 'a packet is over the frame limit',
  ERR_SHARDING_BACKPRESSURE: 'a connection has too much unsent data; the packet was refused',
  // Sockets
  ERR_SHARDING_SOCKET_IN_USE: 'a live server holds the socket path',
  ERR_SHARDING_SOCKET_PATH_TOO_LONG: 'a socket path is over the operating system limit',
  ERR_SHARDING_UNSAFE_SOCKET_ROOT: 'the socket directory is not private to this user',
  // The fleet
  ERR_SHARDING_INSTANCE_NOT_READY: 'an instance is not ready (fail fast, or it waited its time)',
  ERR_SHARDING_INSTANCE_UNAVAILABLE: 'an instance was given up, or the manager shut down',
  ERR_SHARDING_UNKNOWN_INSTANCE: 'no instance has this index, or runs this shard or guild',
  ERR_SHARDING_SHUT_DOWN: 'the manager has shut down',
  ERR_SHARDING_RESHARD_REFUSED: 'a reshard was refused or failed; the running fleet is unchanged',
  ERR_SHARDING_SHARD_MOVE_FAILED:
    'a handover of shards between instances failed; they stay where they were',
  ERR_SHARDING_RESTRUCTURE_UNSUPPORTED: 'an instance has nothing that applies RESTRUCTURING',
  ERR_SHARDING_INVALID_RESTRUCTURE: 'a RESTRUCTURING payload is malformed',
  ERR_SHARDING_ILLEGAL_TRANSITION:
    'a supervisor bug: an instance state change that must not happen',
  // Discord
  ERR_SHARDING_TOKEN_INVALID: 'Discord refused the bot token',
  ERR_SHARDING_NO_TOKEN: 'Discord had to be asked, but no bot token was given',
  ERR_SHARDING_GATEWAY_UNAVAILABLE: "Discord's API kept failing",
  ERR_SHARDING_IDENTIFY_BUDGET: "Discord's daily IDENTIFY budget is used up",
  ERR_SHARDING_IDENTIFY_CANCELLED: 'a wait for an IDENTIFY slot was cancelled',
  ERR_SHARDING_INVALID_SESSION_UPDATE: 'an instance reported a gateway session that is not valid',
  ERR_SHARDING_BROADCAST_EVAL_DISABLED:
    'client.shard.broadcastEval() where it is off (the default)',
  ERR_SHARDING_SHARD_CLIENT_CALL:
    'a client.shard call of the discord.js compatibility layer could not be served',
  // The status page
  ERR_SHARDING_STATUS_PAGE_LISTEN: 'the status page could not listen on its host and port',
  // The runtime
  ERR_SHARDING_UNSUPPORTED_RUNTIME:
    'the package was loaded on a Node.js, or by a module loader, that it cannot run on',
  // Health checks
  ERR_SHARDING_INVALID_READINESS_RULE: 'a readiness rule of ShardingHealthIndicator is malformed',
  // Testing
  ERR_SHARDING_MISSING_PEER: 'an optional peer dependency a feature needs is not installed',
  // Several hosts
  ERR_SHARDING_NO_CLUSTER:
    'a cluster-wide call was made on a manager that is not in a cluster (yet)',
  ERR_SHARDING_CLUSTER_TARGET_GONE:
    'no live host holds the target of a cluster-wide request, or its host lost the lease meanwhile',
  // Snowflakes
  ERR_SHARDING_INVALID_SNOWFLAKE: 'a snowflake field or id is out of range or malformed',
} as const;

/** A code of {@link SHARDING_ERROR_CODES}. */
export type ShardingErrorCode = keyof typeof SHARDING_ERROR_CODES;
