import type { Logger } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import type { IdentifyBroker } from '../discord/identify.broker.js';
import { ShardingError } from '../errors/sharding.error.js';
import type { RestructurePayload, RestructureReply } from '../protocol/restructure.types.js';
import type { ShardSession } from '../protocol/session-info.interface.js';
import { LibraryEvent } from '../protocol/protocol.constants.js';
import type { InstanceSupervisor } from './instance.supervisor.js';
import { UnknownInstanceError } from './manager.errors.js';

/** One handover of shards to an instance (the items of `ShardingManager.restructure$`). */
export interface ShardMove {
  /** The shards moved. */
  shards: number[];
  /** The instance each shard came from, by shard id. */
  from: Record<number, number>;
  /** The instance that runs them now (or was to run them). */
  to: number;
  /**
   * `moved`: the receiver runs them; `failed`: a step failed and the instances involved were
   * restarted with the shard sets in force (`reason` says which step and why).
   */
  outcome: 'moved' | 'failed';
  reason?: string;
  /** When it ended, in ms since the Unix epoch. */
  at: number;
}

/** Refusals of RESTRUCTURING that come before the instance changed anything. */
const UNCHANGED = new Set([
  'ERR_SHARDING_RESTRUCTURE_UNSUPPORTED',
  'ERR_SHARDING_INVALID_RESTRUCTURE',
]);

/** A handover of shards failed; the instances involved were restarted to a defined state. */
export class ShardMoveError extends ShardingError {
  constructor(shards: number[], owner: string, cause: unknown) {
    super(
      'ERR_SHARDING_SHARD_MOVE_FAILED',
      `Moving shard(s) ${shards.join(', ')} failed (${(cause as Error)?.message ?? String(cause)}); ` +
        `they stay with ${owner}, restarted to RESUME them unless it changed nothing.`,
      { cause },
    );
  }
}

/** What the handover needs from the manager. */
export interface HandoverFleet {
  supervisor(instance: number): InstanceSupervisor;
  /** The instance that runs `shardId` now. */
  ownerOf(shardId: number): number;
  /** Records the new owner of each shard, for routing. */
  route(shards: readonly number[], instance: number): void;
  totalShards(): number;
  request<T>(instance: number, event: string, data: unknown): Promise<T>;
  broker: IdentifyBroker;
  logger: Pick<Logger, 'log' | 'warn'>;
}

/**
 * Moves shards between running instances without losing their sessions: each giving instance
 * releases its shards (RESTRUCTURING without them; their connections close resumably and it
 * returns their last sessions), the manager keeps those sessions, and the receiving instance takes
 * the shards (RESTRUCTURING with them and their sessions) and RESUMEs them: Discord replays what
 * happened in between, so no event is lost and no IDENTIFY is spent. Never does a shard run on two
 * instances: the receiver starts only after the giver released. Moves run one at a time.
 */
export class ShardHandover {
  private readonly moves = new Subject<ShardMove>();
  private queue: Promise<unknown> = Promise.resolve();

  /** Every move, as it ends. */
  readonly move$: Observable<ShardMove> = this.moves.asObservable();

  constructor(private readonly fleet: HandoverFleet) {}

  /** Moves `shards` to instance `to`; resolves once it runs them. See {@link ShardHandover}. */
  move(shards: readonly number[], to: number): Promise<void> {
    const run = this.queue.then(() => this.moveNow([...new Set(shards)], to));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Completes `move$`. */
  close(): void {
    this.moves.complete();
  }

  private async moveNow(shards: number[], to: number): Promise<void> {
    const fleet = this.fleet;
    fleet.supervisor(to);
    const from: Record<number, number> = {};
    for (const shard of shards) from[shard] = fleet.ownerOf(shard);
    const moving = shards.filter((shard) => from[shard] !== to);
    // One giver at a time, each handover whole (release, then take), so that a failure never
    // leaves a shard released by one instance and taken by none.
    for (const giver of new Set(moving.map((shard) => from[shard]!))) {
      const group = moving.filter((shard) => from[shard] === giver);
      await this.handOver(group, giver, to, from);
    }
    if (moving.length === 0) return;
    fleet.logger.log(`Moved shard(s) ${moving.join(', ')} to instance ${to}.`);
    this.moves.next({ shards: moving, from, to, outcome: 'moved', at: Date.now() });
  }

  private async handOver(
    shards: number[],
    giver: number,
    to: number,
    from: Record<number, number>,
  ): Promise<void> {
    const fleet = this.fleet;
    const giving = fleet.supervisor(giver);
    const receiving = fleet.supervisor(to);
    const keeps = giving.shards.filter((shard) => !shards.includes(shard));
    // 1. The giver lets go first, so that no shard ever runs twice.
    const sessions: Record<number, ShardSession | null> = {};
    try {
      const reply = await fleet.request<RestructureReply>(
        giver,
        LibraryEvent.RESTRUCTURING,
        this.payload(keeps, {}),
      );
      const released = reply?.released ?? {};
      for (const shard of shards) {
        // A session the giver does not report is the one the manager has (or none).
        if (Object.hasOwn(released, shard)) fleet.broker.keepSession(shard, released[shard]!);
        sessions[shard] = fleet.broker.sessions().get(shard) ?? null;
      }
    } catch (error) {
      // It may have released part of them: restarted, it RESUMEs every shard it owns.
      return this.fail(shards, from, to, `instance ${giver}`, giver, error);
    }
    // 2. The receiver owns them from now on: if it dies now, its next generation RESUMEs them.
    giving.assignShards(keeps);
    receiving.assignShards([...new Set([...receiving.shards, ...shards])]);
    fleet.route(shards, to);
    try {
      await fleet.request<RestructureReply>(
        to,
        LibraryEvent.RESTRUCTURING,
        this.payload(receiving.shards, sessions),
      );
    } catch (error) {
      return this.fail(shards, from, to, `instance ${to}`, to, error);
    }
  }

  private payload(
    shards: readonly number[],
    sessions: Record<number, ShardSession | null>,
  ): RestructurePayload {
    return { shards: [...shards], total_shards: this.fleet.totalShards(), sessions };
  }

  /** Restarts the instance of a failed step to the shard set in force, then throws. */
  private async fail(
    shards: number[],
    from: Record<number, number>,
    to: number,
    owner: string,
    restart: number,
    cause: unknown,
  ): Promise<never> {
    const error = new ShardMoveError(shards, owner, cause);
    this.fleet.logger.warn(error.message);
    this.moves.next({ shards, from, to, outcome: 'failed', reason: error.message, at: Date.now() });
    // An instance that refused RESTRUCTURING before changing anything needs no restart.
    if (!UNCHANGED.has((cause as { remoteCode?: string })?.remoteCode ?? '')) {
      await this.fleet
        .supervisor(restart)
        .restart('shard move failed')
        .catch(() => undefined);
    }
    throw error;
  }
}

/** Checks the shards of a move against the fleet; throws {@link UnknownInstanceError}. */
export function assertKnownShards(shards: readonly number[], known: (shard: number) => boolean) {
  for (const shard of shards) {
    if (!known(shard)) throw new UnknownInstanceError(`shard ${shard}`);
  }
}
