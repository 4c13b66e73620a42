import type { Logger } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import type { IdentifyBroker } from '../discord/identify.broker.js';
import { ShardingError } from '../errors/sharding.error.js';
import { LibraryEvent } from '../protocol/protocol.constants.js';
import type { RestructurePayload, RestructureReply } from '../protocol/restructure.types.js';
import type { ShardSession } from '../protocol/session-info.interface.js';
import type { InstanceSupervisor } from './instance.supervisor.js';
import { UnknownInstanceError } from './manager.errors.js';

/** One handover of shards (the items of `ShardingManager.restructure$`). */
export interface ShardMove {
  /** The shards handed over. */
  shards: number[];
  /** The instance each shard came from, by shard id. */
  from: Record<number, number>;
  /** The instance that runs them now (or was to run them). */
  to: number;
  /**
   * `moved`: the receiver runs them; `failed`: a step failed, and the shards are back with (or
   * still with) the instance `reason` names, restarted if it may have changed.
   */
  outcome: 'moved' | 'failed';
  /**
   * `move`: between two instances; `replace`: to a new generation of the same instance;
   * `failover`: from a dead instance to a warm spare.
   */
  kind: 'move' | 'replace' | 'failover';
  reason?: string;
  /** When it ended, in ms since the Unix epoch. */
  at: number;
}

/** Refusals of RESTRUCTURING that come before the instance changed anything. */
const UNCHANGED = new Set([
  'ERR_SHARDING_RESTRUCTURE_UNSUPPORTED',
  'ERR_SHARDING_INVALID_RESTRUCTURE',
]);

/** A handover of shards failed; the shards are with the instance the message names. */
export class ShardMoveError extends ShardingError {
  constructor(shards: readonly number[], owner: string, cause: unknown) {
    super(
      'ERR_SHARDING_SHARD_MOVE_FAILED',
      `Handing shard(s) ${shards.join(', ') || '(none)'} over failed ` +
        `(${(cause as Error)?.message ?? String(cause)}); they stay with ${owner}.`,
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
  /** Forgets the owner of each shard: no instance of this manager runs it any more. */
  unroute(shards: readonly number[]): void;
  totalShards(): number;
  /**
   * A request to the current generation of `supervisor`, once it is ready, within `timeout` ms
   * (default: the time an instance has to become ready).
   */
  request<T>(
    supervisor: InstanceSupervisor,
    event: string,
    data: unknown,
    timeout?: number,
  ): Promise<T>;
  broker: IdentifyBroker;
  logger: Pick<Logger, 'log' | 'warn'>;
}

/**
 * Hands running shards over without losing their sessions: the giving side releases them first
 * (RESTRUCTURING without them: their connections close resumably and it returns their last
 * sessions), the manager keeps those sessions, then the receiving side takes the shards
 * (RESTRUCTURING with them and their sessions) and RESUMEs: Discord replays what happened in
 * between, so no event is lost and no IDENTIFY is spent, and a shard never runs on two sides.
 * Handovers run one at a time. If a step fails, the shards go back to (or stay with) the giver,
 * restarted if it may have changed, so a shard is never run twice, nor by nobody.
 */
export class ShardHandover {
  private readonly moves = new Subject<ShardMove>();
  private queue: Promise<unknown> = Promise.resolve();

  /** Every handover, as it ends. */
  readonly move$: Observable<ShardMove> = this.moves.asObservable();

  constructor(private readonly fleet: HandoverFleet) {}

  /** Moves `shards` to instance `to`, one giving instance after the other. */
  move(shards: readonly number[], to: number): Promise<void> {
    return this.serialize(async () => {
      const from: Record<number, number> = {};
      for (const shard of new Set(shards)) from[shard] = this.fleet.ownerOf(shard);
      const moving = Object.keys(from)
        .map(Number)
        .filter((shard) => from[shard] !== to);
      const receiver = this.fleet.supervisor(to);
      // One giver at a time, each handover whole, so that a failure never leaves a shard
      // released by one instance and taken by none.
      for (const giver of new Set(moving.map((shard) => from[shard]!))) {
        const group = moving.filter((shard) => from[shard] === giver);
        await this.handOver(this.fleet.supervisor(giver), receiver, group, 'move', from);
        this.fleet.route(group, to);
      }
      if (moving.length > 0) this.ended('move', moving, from, to);
    });
  }

  /**
   * Hands every shard of `current` to `successor` (a new generation of the same instance, running
   * with no shards yet). On failure, `current` keeps or takes back its shards. The caller reports
   * success with {@link replaced} once the successor is the instance.
   */
  replace(current: InstanceSupervisor, successor: InstanceSupervisor): Promise<void> {
    return this.serialize(async () => {
      const shards = [...current.shards];
      const from = Object.fromEntries(shards.map((shard) => [shard, current.instance]));
      await this.handOver(current, successor, shards, 'replace', from);
    });
  }

  /**
   * Gives a dead instance's shards to a ready spare (no shards of its own): the spare takes them
   * with their last sessions and RESUMEs; the dead one's next generation comes back empty, as a
   * spare. The shard sets change at once (before the dead one's respawn); only the spare's
   * RESTRUCTURING waits its turn. If it fails, the spare is restarted: its HELLO carries the
   * shards, and it RESUMEs them.
   */
  failover(dead: InstanceSupervisor, spare: InstanceSupervisor): Promise<void> {
    const shards = [...dead.shards];
    const from = Object.fromEntries(shards.map((shard) => [shard, dead.instance]));
    dead.assignShards([]);
    return this.giveToSpare(
      spare,
      shards,
      () => this.sessionsOf(shards),
      (error) =>
        this.failed(
          'failover',
          shards,
          from,
          spare.instance,
          `instance ${spare.instance}`,
          error,
          () => spare.restart('failover failed'),
        ),
      () => {
        this.fleet.logger.log(
          `Instance ${dead.instance} died: spare instance ${spare.instance} took its shard(s) ${shards.join(', ')}.`,
        );
        this.moves.next({
          shards,
          from,
          to: spare.instance,
          outcome: 'moved',
          kind: 'failover',
          at: Date.now(),
        });
      },
    );
  }

  /**
   * Gives `shards` that no instance here runs (another host's, say) to a ready `spare`, with
   * `sessions` to RESUME. If it fails, the spare is restarted: its HELLO carries the shards.
   */
  adopt(
    spare: InstanceSupervisor,
    shards: readonly number[],
    sessions: Record<number, ShardSession | null>,
  ): Promise<void> {
    return this.giveToSpare(
      spare,
      shards,
      () => sessions,
      async (error) => {
        this.fleet.logger.warn(
          `Instance ${spare.instance} could not take shard(s) ${shards.join(', ')} ` +
            `(${(error as Error).message}); restarting it with them.`,
        );
        await spare.restart('taking shards failed').catch(() => undefined);
      },
      () => this.fleet.logger.log(`Instance ${spare.instance} took shard(s) ${shards.join(', ')}.`),
    );
  }

  /**
   * Stops running `shards` at once, resumably: each instance that runs some of them releases
   * them (RESTRUCTURING without them); one that cannot is restarted without them. Not
   * serialized behind other handovers: this is the step that must not wait. With `within` (ms),
   * the shards must be stopped by then (a lost lease): an instance that has not released them
   * by then, or is not ready, is SIGKILLed at once rather than asked to stop in stages.
   */
  async drop(shards: readonly number[], within?: number): Promise<void> {
    const owners = new Set<InstanceSupervisor>();
    for (const shard of shards) {
      try {
        owners.add(this.fleet.supervisor(this.fleet.ownerOf(shard)));
      } catch {
        // Not run here.
      }
    }
    this.fleet.unroute(shards);
    const cause = 'its shards were taken away';
    const replace = (owner: InstanceSupervisor) =>
      (within === undefined ? owner.restart(cause) : owner.kill(cause)).catch(() => undefined);
    await Promise.all(
      [...owners].map(async (owner) => {
        const keeps = owner.shards.filter((shard) => !shards.includes(shard));
        owner.assignShards(keeps);
        if (owner.state !== 'ready') {
          await replace(owner);
          return;
        }
        try {
          const reply = await this.fleet.request<RestructureReply>(
            owner,
            LibraryEvent.RESTRUCTURING,
            this.payload(keeps, {}),
            within,
          );
          for (const [shard, session] of Object.entries(reply?.released ?? {})) {
            this.fleet.broker.keepSession(Number(shard), session);
          }
        } catch {
          await replace(owner);
        }
      }),
    );
  }

  /**
   * Adds `shards` to `spare`'s set and to routing at once (its next generation would run them);
   * its RESTRUCTURING, with the sessions to RESUME, waits its turn behind other handovers.
   */
  private giveToSpare(
    spare: InstanceSupervisor,
    shards: readonly number[],
    sessions: () => Record<number, ShardSession | null>,
    onFailure: (error: unknown) => Promise<void>,
    onSuccess: () => void,
  ): Promise<void> {
    spare.assignShards([...spare.shards, ...shards]);
    this.fleet.route(shards, spare.instance);
    return this.serialize(async () => {
      try {
        await this.fleet.request<RestructureReply>(
          spare,
          LibraryEvent.RESTRUCTURING,
          this.payload(spare.shards, sessions()),
        );
      } catch (error) {
        return onFailure(error);
      }
      onSuccess();
    });
  }

  /** Completes `move$`. */
  close(): void {
    this.moves.complete();
  }

  private serialize(run: () => Promise<void>): Promise<void> {
    const next = this.queue.then(run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async handOver(
    giver: InstanceSupervisor,
    receiver: InstanceSupervisor,
    shards: number[],
    kind: ShardMove['kind'],
    from: Record<number, number>,
  ): Promise<void> {
    const fleet = this.fleet;
    const keeps = giver.shards.filter((shard) => !shards.includes(shard));
    const giverName = `instance ${giver.instance}`;
    // 1. The giver lets go first, so that no shard ever runs twice.
    try {
      const reply = await fleet.request<RestructureReply>(
        giver,
        LibraryEvent.RESTRUCTURING,
        this.payload(keeps, {}),
      );
      const released = reply?.released ?? {};
      // A session the giver does not report is the one the manager has (or none).
      for (const shard of shards) {
        if (Object.hasOwn(released, shard)) fleet.broker.keepSession(shard, released[shard]!);
      }
    } catch (error) {
      // It may have released part of them: restarted, it RESUMEs every shard it owns.
      const restart = !UNCHANGED.has((error as { remoteCode?: string })?.remoteCode ?? '');
      return this.failed(kind, shards, from, receiver.instance, giverName, error, () =>
        restart ? giver.restart('shard handover failed') : Promise.resolve(),
      );
    }
    // 2. The receiver takes them: from now on its next generation would RESUME them too.
    receiver.assignShards([...new Set([...receiver.shards, ...shards])]);
    giver.assignShards(keeps);
    try {
      await fleet.request<RestructureReply>(
        receiver,
        LibraryEvent.RESTRUCTURING,
        this.payload(receiver.shards, this.sessionsOf(shards)),
      );
    } catch (error) {
      // Given back: the giver takes them again (RESUME), or is restarted to.
      receiver.assignShards(receiver.shards.filter((shard) => !shards.includes(shard)));
      giver.assignShards([...keeps, ...shards]);
      return this.failed(kind, shards, from, receiver.instance, giverName, error, async () => {
        // The receiver may have started some of them: it lets go first (a new generation of a
        // moving receiver runs only its own shards; a successor is stopped).
        await (kind === 'move' ? receiver.restart('shard handover failed') : receiver.stop()).catch(
          () => undefined,
        );
        await fleet
          .request(
            giver,
            LibraryEvent.RESTRUCTURING,
            this.payload(giver.shards, this.sessionsOf(shards)),
          )
          .catch(() => giver.restart('shard handover failed'));
      });
    }
  }

  private sessionsOf(shards: readonly number[]): Record<number, ShardSession | null> {
    const kept = this.fleet.broker.sessions();
    return Object.fromEntries(shards.map((shard) => [shard, kept.get(shard) ?? null]));
  }

  private payload(
    shards: readonly number[],
    sessions: Record<number, ShardSession | null>,
  ): RestructurePayload {
    return { shards: [...shards], total_shards: this.fleet.totalShards(), sessions };
  }

  /**
   * Reports a new generation that took over an instance's shards: by {@link replace}, or by
   * IDENTIFYing them itself beside the running one (an overlap).
   */
  replaced(instance: number, shards: readonly number[]): void {
    const from = Object.fromEntries(shards.map((shard) => [shard, instance]));
    this.ended('replace', [...shards], from, instance);
  }

  private ended(
    kind: ShardMove['kind'],
    shards: number[],
    from: Record<number, number>,
    to: number,
  ): void {
    this.fleet.logger.log(
      kind === 'move'
        ? `Moved shard(s) ${shards.join(', ')} to instance ${to}.`
        : `Handed shard(s) ${shards.join(', ') || '(none)'} of instance ${to} to its new generation.`,
    );
    this.moves.next({ shards, from, to, outcome: 'moved', kind, at: Date.now() });
  }

  /** Reports a failed handover, brings the giver back to a defined state, then throws. */
  private async failed(
    kind: ShardMove['kind'],
    shards: number[],
    from: Record<number, number>,
    to: number,
    owner: string,
    cause: unknown,
    recover: () => Promise<unknown>,
  ): Promise<never> {
    const error = new ShardMoveError(shards, owner, cause);
    this.fleet.logger.warn(error.message);
    await recover().catch(() => undefined);
    this.moves.next({
      shards,
      from,
      to,
      outcome: 'failed',
      kind,
      reason: error.message,
      at: Date.now(),
    });
    throw error;
  }
}

/** Checks the shards of a move against the fleet; throws {@link UnknownInstanceError}. */
export function assertKnownShards(shards: readonly number[], known: (shard: number) => boolean) {
  for (const shard of shards) {
    if (!known(shard)) throw new UnknownInstanceError(`shard ${shard}`);
  }
}
