import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import type { ClusterPacing } from '../coordination/cluster.coordination.js';
import { LibraryEvent } from '../protocol/protocol.constants.js';
import type { ShardSession } from '../protocol/session-info.interface.js';
import { GatewayUnavailableError, InvalidSessionUpdateError } from './discord.errors.js';
import { fetchGatewayBot, type GatewayBotInfo } from './gateway-bot.fetcher.js';
import type { IdentifyCluster } from './identify-cluster.interface.js';
import { IdentifyProgressReporter } from './identify-progress.reporter.js';
import { IdentifyQueue, type IdentifyGrant, type IdentifyQueueProgress } from './identify.queue.js';
import { IdentifyCancelledError } from '../errors/identify.errors.js';

const DAY = 24 * 60 * 60 * 1000;

/** What the manager knows about the fleet when it starts the broker. */
export interface IdentifyBrokerFleet {
  /** The fleet's total shard count. */
  totalShards: number;
  /** The shards this manager runs, for the start-up progress lines. Default `totalShards`. */
  shards?: number;
  /** Discord's `/gateway/bot` answer, when the manager asked for one (`totalShards: 'auto'`). */
  gateway?: GatewayBotInfo;
  /** IDENTIFYs per window; overrides Discord's `max_concurrency`. Default: Discord's, else 1. */
  maxConcurrency?: number;
  /** The window of one IDENTIFY per bucket, margin included, in ms. */
  window: number;
  /** Where to ask `/gateway/bot` when an instance wants it and `gateway` was not given. */
  api: string;
  /** The bot token for that call. */
  token: string | undefined;
}

/** The library events the broker answers (instance → manager). */
const BROKERED_EVENTS: ReadonlySet<string> = new Set([
  LibraryEvent.IDENTIFY_SLOT,
  LibraryEvent.IDENTIFY_CANCEL,
  LibraryEvent.IDENTIFY_SENT,
  LibraryEvent.SESSION_UPDATE,
  LibraryEvent.SESSION_GET,
  LibraryEvent.GATEWAY_INFO,
]);

/**
 * The manager's side of Discord brokerage (the README's "Identify pacing and sessions"): one identify queue for the whole
 * fleet, the gateway session of every shard, and the fleet's `/gateway/bot` facts, answered to
 * instances over the library events `IDENTIFY_SLOT`, `IDENTIFY_CANCEL`, `IDENTIFY_SENT`, `SESSION_UPDATE`,
 * `SESSION_GET` and `GATEWAY_INFO`. The manager routes those events here after checking that the
 * shard belongs to the sending instance.
 */
@Injectable()
export class IdentifyBroker implements OnApplicationShutdown {
  private readonly logger = new Logger(IdentifyBroker.name);
  private readonly grants = new Subject<IdentifyGrant>();
  private readonly sessionStore = new Map<number, ShardSession>();
  private queue: IdentifyQueue | undefined;
  private fleet: IdentifyBrokerFleet | undefined;
  private gateway: Promise<GatewayBotInfo> | undefined;
  private resumes = 0;
  /** Per shard, the session last handed out for RESUME (`sessionId:sequence`), counted once. */
  private readonly handedOut = new Map<number, string>();
  /** Ends a `/gateway/bot` call still under way when the fleet shuts down. */
  private readonly closing = new AbortController();
  /** The gate and sessions of the cluster this manager joined (`coordination`), once joined. */
  private cluster: IdentifyCluster | undefined;
  /** The waits at the cluster's identify gate, by shard. */
  private readonly clusterWaits = new Map<number, AbortController>();

  /** Every IDENTIFY slot granted to a shard, in order. */
  readonly identify$: Observable<IdentifyGrant> = this.grants.asObservable();

  /**
   * How many times a starting shard was given a kept session to RESUME with (a RESUME that
   * Discord refuses is followed by an IDENTIFY, which the identify queue counts as granted).
   */
  get resumedSessions(): number {
    return this.resumes;
  }

  /** IDENTIFYs left in Discord's daily budget, as the queue counts them (undefined: unknown). */
  remainingBudget(): number | undefined {
    return this.queue?.budget.remaining;
  }

  /** The fleet's total shard count changed (a reshard): `GATEWAY_INFO` answers say so. */
  resize(totalShards: number): void {
    if (this.fleet !== undefined) this.fleet = { ...this.fleet, totalShards };
  }

  /** Creates the identify queue, once the fleet's gateway facts are known. Runs once. */
  start(fleet: IdentifyBrokerFleet): void {
    if (this.queue !== undefined) return;
    const limits = fleet.gateway?.session_start_limit;
    this.fleet = fleet;
    if (fleet.gateway !== undefined) this.gateway = Promise.resolve(fleet.gateway);
    const maxConcurrency = fleet.maxConcurrency ?? limits?.max_concurrency ?? 1;
    this.queue = new IdentifyQueue({
      maxConcurrency,
      window: fleet.window,
      // A bucket's window runs from the instance's report that it sent the IDENTIFY; a report
      // that never comes holds the bucket one more window at most.
      sentReportGrace: fleet.window,
      remaining: limits?.remaining,
      resetAfter: limits?.reset_after,
      total: limits?.total,
    });
    const progress = new IdentifyProgressReporter({
      shards: fleet.shards ?? fleet.totalShards,
      maxConcurrency,
      window: fleet.window,
      logger: this.logger,
    });
    this.queue.grant$.subscribe((grant) => progress.record(grant));
    this.queue.grant$.subscribe(this.grants);
  }

  /**
   * This host's pacing, for joining a cluster (`ClusterMembership`); undefined before
   * {@link start}.
   */
  clusterPacing(): ClusterPacing | undefined {
    const queue = this.queue;
    if (queue === undefined) return undefined;
    const progress = queue.progress;
    return {
      maxConcurrency: progress.maxConcurrency,
      window: progress.window,
      // The cluster's count starts from this host's own count, as it stands now, when Redis
      // has none (the first host to IDENTIFY, or Redis lost it mid-day): Discord's answer at
      // start-up less the IDENTIFYs this host granted since; after its reset, the whole budget.
      // The local grants still waiting at the cluster's gate (this one among them) are added
      // back: the cluster counts them as they pass.
      budgetSeed: () => {
        const { total, remaining, resetAfter } = queue.budget;
        if (remaining === undefined || resetAfter === undefined) return undefined;
        return resetAfter > 0
          ? { remaining: remaining + this.clusterWaits.size, resetAfter }
          : { remaining: total ?? remaining, resetAfter: DAY };
      },
    };
  }

  /**
   * From now on, a shard IDENTIFYs only once `cluster`'s gate for its bucket lets it too, and
   * sessions are kept in `cluster`'s store as well; undefined: this host left the cluster.
   */
  useCluster(cluster: IdentifyCluster | undefined): void {
    this.cluster = cluster;
  }

  /** IDENTIFYs granted so far, waiting now, and the pacing in force (once started). */
  progress(): IdentifyQueueProgress | undefined {
    return this.queue?.progress;
  }

  /** The last gateway session each shard reported, by shard id. */
  sessions(): Map<number, ShardSession> {
    return new Map(this.sessionStore);
  }

  /** True for the library events this broker answers. */
  handles(event: string): boolean {
    return BROKERED_EVENTS.has(event);
  }

  /**
   * Answers a brokered library event. `ownShard` reads the event's `shardId` and checks that it
   * belongs to the sending instance (it throws otherwise).
   */
  handle(event: string, data: unknown, ownShard: (data: unknown) => number): unknown {
    switch (event) {
      case LibraryEvent.IDENTIFY_SLOT:
        return this.grant(ownShard(data));
      case LibraryEvent.IDENTIFY_CANCEL:
        this.cancelWaits([ownShard(data)]);
        return true;
      case LibraryEvent.IDENTIFY_SENT:
        return this.sent(ownShard(data));
      case LibraryEvent.SESSION_UPDATE:
        return this.store(ownShard(data), (data as { session?: unknown }).session);
      case LibraryEvent.SESSION_GET: {
        const shardId = ownShard(data);
        return this.cluster === undefined
          ? this.keptSession(shardId)
          : this.clusterSession(shardId);
      }
      case LibraryEvent.GATEWAY_INFO:
        return this.gatewayInfo();
      default:
        throw new TypeError(`IdentifyBroker does not answer "${event}".`);
    }
  }

  /**
   * Keeps `session` as the last one of `shardId` (null: none), for the shard's next owner: what a
   * releasing instance reported when it handed the shard over.
   */
  keepSession(shardId: number, session: ShardSession | null): void {
    this.store(shardId, session);
  }

  /** Drops the identify waits of a stopping instance: a slot granted to the dead would be burnt. */
  cancelWaits(shards: readonly number[]): void {
    for (const shardId of shards) {
      this.queue?.cancel(shardId);
      this.clusterWaits.get(shardId)?.abort();
    }
  }

  /** Refuses every wait from now on (the fleet is shutting down). */
  close(): void {
    this.closing.abort();
    this.queue?.close();
    for (const wait of this.clusterWaits.values()) wait.abort();
  }

  /** Closes the queue and completes `identify$`. */
  onApplicationShutdown(): void {
    this.close();
    this.grants.complete();
  }

  private keptSession(shardId: number): ShardSession | null {
    return this.countHandedOut(shardId, this.sessionStore.get(shardId) ?? null);
  }

  /**
   * Counts a session handed out for RESUME. A client may ask twice for one connection
   * (@discordjs/ws does: for the URL, then to decide after HELLO); a session is counted once,
   * until the shard reports a newer one.
   */
  private countHandedOut(shardId: number, session: ShardSession | null): ShardSession | null {
    if (session === null) return null;
    const key = `${session.sessionId}:${session.sequence}`;
    if (this.handedOut.get(shardId) !== key) {
      this.handedOut.set(shardId, key);
      this.resumes++;
    }
    return session;
  }

  private async grant(shardId: number): Promise<true> {
    if (this.queue === undefined) throw new IdentifyCancelledError(shardId);
    // A shard asks again only when its earlier wait no longer matters (its connection was
    // replaced): that wait must not take a slot as well.
    this.cancelWaits([shardId]);
    await this.queue.acquire(shardId);
    if (this.cluster !== undefined) {
      const wait = new AbortController();
      this.clusterWaits.set(shardId, wait);
      try {
        await this.cluster.gate.acquire(shardId, wait.signal);
      } finally {
        if (this.clusterWaits.get(shardId) === wait) this.clusterWaits.delete(shardId);
      }
    }
    return true;
  }

  private sent(shardId: number): true {
    this.queue?.sent(shardId);
    void this.cluster?.gate.sent(shardId);
    return true;
  }

  /** The last session of `shardId`: the cluster's when Redis answers, else this host's. */
  private async clusterSession(shardId: number): Promise<ShardSession | null> {
    const local = this.sessionStore.get(shardId) ?? null;
    return this.countHandedOut(shardId, (await this.cluster?.sessions.read(shardId)) ?? local);
  }

  private store(shardId: number, session: unknown): true {
    if (session === null || session === undefined) {
      this.sessionStore.delete(shardId);
      this.cluster?.sessions.write(shardId, null);
      return true;
    }
    const candidate = session as Partial<ShardSession>;
    if (
      typeof candidate.sessionId !== 'string' ||
      typeof candidate.resumeURL !== 'string' ||
      !Number.isSafeInteger(candidate.sequence) ||
      !Number.isSafeInteger(candidate.shardCount)
    ) {
      throw new InvalidSessionUpdateError(shardId);
    }
    this.sessionStore.set(shardId, {
      shardId,
      shardCount: candidate.shardCount!,
      sessionId: candidate.sessionId,
      sequence: candidate.sequence!,
      resumeURL: candidate.resumeURL,
    });
    this.cluster?.sessions.write(shardId, this.sessionStore.get(shardId)!);
    return true;
  }

  /**
   * The fleet's `/gateway/bot` facts: the manager's answer from Discord (asked once, here, when
   * the shard count was static), with the shard count in force and the budget as the queue
   * counts it now.
   */
  private async gatewayInfo(): Promise<GatewayBotInfo> {
    const fleet = this.fleet;
    if (fleet === undefined) {
      throw new GatewayUnavailableError(
        'GATEWAY_INFO',
        0,
        new Error('the fleet is not planned yet'),
      );
    }
    this.gateway ??= fetchGatewayBot({
      api: fleet.api,
      token: fleet.token,
      signal: this.closing.signal,
    });
    const pending = this.gateway;
    // A failed call is not kept: the next instance that asks tries again.
    const info = await pending.catch((error: unknown) => {
      if (this.gateway === pending) this.gateway = undefined;
      throw error;
    });
    const budget = this.queue!.budget;
    const progress = this.queue!.progress;
    return {
      url: info.url,
      shards: fleet.totalShards,
      session_start_limit: {
        total: budget.total ?? info.session_start_limit.total,
        remaining: budget.remaining ?? info.session_start_limit.remaining,
        reset_after: budget.resetAfter ?? info.session_start_limit.reset_after,
        max_concurrency: progress.maxConcurrency,
      },
    };
  }
}
