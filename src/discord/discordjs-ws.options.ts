import type { SessionInfo } from '@discordjs/ws';
import { NoInstanceContextError } from '../instance/instance.errors.js';
import type { ShardingInstance } from '../instance/sharding.instance.js';
import type { InstanceContext } from '../ipc/ipc.server.js';
import type { ShardSession } from '../protocol/session-info.interface.js';
import type { GatewayBotInfo } from './gateway-bot.fetcher.js';
import { InstanceGatewayLink } from './instance-gateway.link.js';
import { ShardingIdentifyThrottler } from './sharding-identify.throttler.js';

/** `A`, and a build error unless `A` is assignable to `B`. */
type AssignableTo<A extends B, B> = A;

/**
 * A {@link ShardSession}, checked both ways against `@discordjs/ws`'s `SessionInfo`: the build
 * fails if either drifts.
 */
type CheckedSession = AssignableTo<ShardSession, SessionInfo> &
  AssignableTo<SessionInfo, ShardSession>;

/** The `@discordjs/ws` `WebSocketManager` options that {@link shardingWebSocketOptions} sets. */
export interface ShardingWebSocketOptions {
  shardIds: number[];
  shardCount: number;
  buildIdentifyThrottler: () => ShardingIdentifyThrottler;
  retrieveSessionInfo: (shardId: number) => Promise<CheckedSession | null>;
  updateSessionInfo: (shardId: number, session: CheckedSession | null) => void;
  /**
   * The fleet's `GET /gateway/bot` facts from the manager, in the shape of
   * `WebSocketManager.fetchGatewayInformation()`. `@discordjs/ws` 1.x and 2.x have no option for
   * it (they always ask Discord through `rest`): install it on the manager with
   * `manager.fetchGatewayInformation = options.fetchGatewayInformation`.
   */
  fetchGatewayInformation: (force?: boolean) => Promise<GatewayBotInfo>;
}

/**
 * Options for an `@discordjs/ws` `WebSocketManager` in a sharding instance: its shards and the
 * shard count from the instance context, IDENTIFY paced by the manager's queue, sessions kept by
 * the manager so that a restarted instance RESUMEs, and the manager's `/gateway/bot` facts.
 * `context` is the resolved `SHARDING_INSTANCE_CONTEXT`; inject it next to `ShardingInstance`.
 * Throws {@link NoInstanceContextError} without a context (in the manager role, say).
 *
 * @example
 * ```ts
 * const options = shardingWebSocketOptions(context, instance);
 * const manager = new WebSocketManager({ token, intents, rest, ...options });
 * manager.fetchGatewayInformation = options.fetchGatewayInformation;
 * ```
 */
export function shardingWebSocketOptions(
  context: InstanceContext,
  instance: ShardingInstance,
): ShardingWebSocketOptions {
  if (context === undefined || context === null) {
    throw new NoInstanceContextError('shardingWebSocketOptions()');
  }
  const link = new InstanceGatewayLink(instance);
  // Within one life of the instance, its own latest session is fresher than the manager's copy.
  const local = new Map<number, ShardSession | null>();
  return {
    shardIds: [...context.shards],
    shardCount: context.totalShards,
    buildIdentifyThrottler: () => new ShardingIdentifyThrottler(link),
    retrieveSessionInfo: async (shardId) =>
      local.has(shardId) ? local.get(shardId)! : link.retrieveSession(shardId),
    updateSessionInfo: (shardId, session) => {
      local.set(shardId, session);
      link.updateSession(shardId, session);
    },
    fetchGatewayInformation: () => link.fetchGatewayInformation(),
  };
}
