import type { SessionInfo, WebSocketManager } from '@discordjs/ws';
import { NoInstanceContextError } from '../instance/instance.errors.js';
import type { ShardingInstance } from '../instance/sharding.instance.js';
import type { InstanceContext } from '../ipc/ipc.server.js';
import { LibraryEvent } from '../protocol/protocol.constants.js';
import type { ShardSession } from '../protocol/session-info.interface.js';
import type { GatewayBotInfo } from './gateway-bot.fetcher.js';
import { InstanceGatewayLink } from './instance-gateway.link.js';
import { ShardingIdentifyThrottler } from './sharding-identify.throttler.js';
import { reportWebSocketShards } from './ws-shard.reporter.js';

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
   * it (they always ask Discord through `rest`): {@link attach} installs it on the manager.
   */
  fetchGatewayInformation: (force?: boolean) => Promise<GatewayBotInfo>;
  /**
   * Installs on the `WebSocketManager` what options cannot: `fetchGatewayInformation` above, the
   * application of RESTRUCTURING (a new shard set from the manager, when shards are handed over
   * between instances), and the report of a shard closed with 4011 (sharding required) to the
   * manager, and each shard's gateway state, ping and guild count with the instance's heartbeats
   * (`status()[i].lastHeartbeat.shards` in the manager). It also keeps the sessions resumable
   * when the manager restarts the instance: the shards are closed with 4200 (not 1000, which ends
   * a Discord session) after their sessions reached the manager, so the next generation RESUMEs
   * them; a `destroy()` of your own afterwards finds nothing open. On a shutdown of the fleet (or
   * a reshard retiring the instance) nothing will resume them, and your `destroy()` ends them.
   * Call it once, right after creating the manager; returns it.
   */
  attach: (manager: WebSocketManager) => WebSocketManager;
}

/**
 * The close code of connections stopped for a handover: not 1000 or 1001, so Discord keeps their
 * sessions resumable (the code `@discordjs/ws` itself uses when it closes to RESUME).
 */
const HANDOVER_CLOSE_CODE = 4200;

/** How long the sessions' report to the manager may take on a restart, in ms. */
const SESSION_REPORT_TIMEOUT = 2_000;

/** Discord's close code for a bot that needs more shards. */
const SHARDING_REQUIRED_CLOSE_CODE = 4011;

/** The `closed` event of a `WebSocketManager`: a shard's connection closed with `code`. */
interface ClosedEvents {
  on(event: 'closed', listener: (code: number, shardId: number) => void): unknown;
}

/**
 * Options for an `@discordjs/ws` `WebSocketManager` in a sharding instance: its shards and the
 * shard count from the instance context, IDENTIFY paced by the manager's queue, sessions kept by
 * the manager so that a restarted instance RESUMEs, the manager's `/gateway/bot` facts, and
 * RESTRUCTURING (shards handed over between instances) applied by `attach(manager)`.
 * `context` is the resolved `SHARDING_INSTANCE_CONTEXT`; inject it next to `ShardingInstance`.
 * Throws {@link NoInstanceContextError} without a context (in the manager role, say).
 *
 * @example
 * ```ts
 * const options = shardingWebSocketOptions(context, instance);
 * const manager = options.attach(new WebSocketManager({ token, intents, rest, ...options }));
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
  // While connections close for a handover, @discordjs/ws reports their sessions as ended; they
  // are not: they are handed over, or RESUMEd right after.
  let handingOver = false;
  const resuming = new Set<number>();
  const options: ShardingWebSocketOptions = {
    shardIds: [...context.shards],
    shardCount: context.totalShards,
    buildIdentifyThrottler: () => new ShardingIdentifyThrottler(link),
    retrieveSessionInfo: async (shardId) => {
      const session = local.has(shardId)
        ? local.get(shardId)!
        : await link.retrieveSession(shardId);
      // Asked right before a connection opens: what it does after HELLO, for the shard reports.
      if (session === null) resuming.delete(shardId);
      else resuming.add(shardId);
      return session;
    },
    updateSessionInfo: (shardId, session) => {
      if (session === null && handingOver) return;
      local.set(shardId, session);
      link.updateSession(shardId, session);
    },
    fetchGatewayInformation: () => link.fetchGatewayInformation(),
    attach: (manager) => {
      manager.fetchGatewayInformation = options.fetchGatewayInformation;
      // 4011: Discord wants more shards; @discordjs/ws only closes the shard. The event name is
      // WebSocketShardEvents.Closed, spelt out: @discordjs/ws is an optional peer, types only here.
      (manager as unknown as ClosedEvents).on('closed', (code, shardId) => {
        if (code === SHARDING_REQUIRED_CLOSE_CODE) link.reportShardingRequired(shardId);
      });
      reportWebSocketShards(manager, instance.server.shardStatus, (shardId) =>
        resuming.has(shardId),
      );
      instance.onRestructure(async (plan) => {
        const released = new Map<number, ShardSession | null>();
        for (const shardId of plan.previousShards) {
          // A shard it knows no session of is left out: the manager keeps what it has.
          if (!plan.shards.includes(shardId) && local.has(shardId)) {
            released.set(shardId, local.get(shardId)!);
          }
        }
        // @discordjs/ws changes its shard set only as a whole: every connection closes
        // resumably; the kept shards RESUME their own sessions, the gained ones those handed in.
        handingOver = true;
        try {
          await manager.destroy({ code: HANDOVER_CLOSE_CODE, reason: 'Handing shards over' });
        } finally {
          handingOver = false;
        }
        for (const shardId of released.keys()) local.delete(shardId);
        for (const [shardId, session] of plan.sessions) local.set(shardId, session);
        manager.options.shardIds = [...plan.shards];
        manager.options.shardCount = plan.totalShards;
        if (plan.shards.length > 0) await manager.connect();
        return released;
      });
      instance.onShutdown(async ({ replaced }) => {
        if (!replaced) return;
        // The next generation RESUMEs: close resumably, with the sessions (their last sequence)
        // in the manager first. @discordjs/ws reports each closed session as ended: it is not.
        handingOver = true;
        await manager.destroy({ code: HANDOVER_CLOSE_CODE, reason: 'Instance restarting' });
        await Promise.all(
          [...local].map(
            ([shardId, session]) =>
              instance
                .request(
                  LibraryEvent.SESSION_UPDATE,
                  { shardId, session },
                  { timeout: SESSION_REPORT_TIMEOUT },
                )
                .catch(() => undefined), // the manager keeps the copy it had
          ),
        );
      });
      return manager;
    },
  };
  return options;
}
