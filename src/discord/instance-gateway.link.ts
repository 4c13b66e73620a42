import { Logger } from '@nestjs/common';
import type { ShardingInstance } from '../instance/sharding.instance.js';
import type { ShardStatusUpdate } from '../ipc/shard-status.board.js';
import { RequestTimeoutError } from '../ipc/ipc.errors.js';
import { LibraryEvent } from '../protocol/protocol.constants.js';
import type { ShardSession } from '../protocol/session-info.interface.js';
import type { GatewayBotInfo } from './gateway-bot.fetcher.js';

/**
 * Longest wait for an IDENTIFY slot in one request, in ms: a fleet of thousands of shards at one
 * IDENTIFY per 5 s takes hours to start, and each request must still end some day (then the
 * shard asks again).
 */
const IDENTIFY_WAIT_LIMIT = 6 * 60 * 60 * 1000;

/**
 * The instance's side of Discord brokerage: it asks the manager for IDENTIFY slots, for the last
 * session of a shard and for the fleet's `/gateway/bot` facts, and reports session changes. The
 * adapters (`shardingWebSocketOptions`, `shardingClientOptions`, `ShardingIdentifyThrottler`)
 * build one; use it directly only for a gateway library they do not cover.
 *
 * @example
 * ```ts
 * const link = new InstanceGatewayLink(instance);
 * await link.waitForIdentify(shardId, signal);
 * ```
 */
export class InstanceGatewayLink {
  private readonly logger = new Logger(InstanceGatewayLink.name);
  private readonly sessionUpdates = new Map<number, ShardSession | null>();
  private sessionFlushScheduled = false;

  constructor(private readonly instance: ShardingInstance) {}

  /**
   * Resolves when the manager grants `shardId` an IDENTIFY slot (one per bucket per window
   * across the whole fleet), and otherwise rejects only with an `AbortError`.
   *
   * With `signal`, it rejects only once `signal` aborts (and the manager drops the request). A
   * wait that fails for another reason (the manager cancelled it, the manager is lost, the daily
   * budget is gone) is logged and then holds until `signal` aborts: `@discordjs/ws` (1.x and 2.x)
   * treats any rejection before its own signal aborts as a glitch and IDENTIFYs anyway, unpaced.
   * A request that merely timed out asks again. Without `signal`, such a failure rejects at once
   * with an `AbortError` whose `cause` is the failure.
   *
   * Once it resolved, the caller is expected to send the IDENTIFY in the same event-loop turn
   * (as `@discordjs/ws` does): the link then tells the manager the IDENTIFY went, on the next
   * turn, and the manager times the bucket's next window from that report.
   */
  async waitForIdentify(shardId: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw identifyAborted(shardId, signal.reason);
    if (signal === undefined) {
      await this.requestSlot(shardId).catch((error: unknown) => {
        throw identifyAborted(shardId, error);
      });
      this.reportSent(shardId);
      return;
    }
    return new Promise<void>((resolve, reject) => {
      let failed = false;
      const onAbort = () => {
        // Tell the manager, unless it already dropped the wait (or is gone).
        if (!failed) this.trySend(LibraryEvent.IDENTIFY_CANCEL, { shardId });
        reject(identifyAborted(shardId, signal.reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.requestSlot(shardId, signal).then(
        () => {
          if (signal.aborted) return;
          signal.removeEventListener('abort', onAbort);
          resolve();
          this.reportSent(shardId);
        },
        (error: unknown) => {
          failed = true;
          if (signal.aborted) return;
          this.logger.warn(
            `The wait to IDENTIFY shard ${shardId} failed (${(error as Error).message}). ` +
              'The shard does not IDENTIFY until its connection is replaced.',
          );
        },
      );
    });
  }

  /** The last gateway session the manager knows for `shardId` (null when none), for RESUME. */
  async retrieveSession(shardId: number): Promise<ShardSession | null> {
    return this.instance.request<ShardSession | null>(LibraryEvent.SESSION_GET, { shardId });
  }

  /**
   * Tells the manager a shard's session changed (null: it ended), so a restarted instance can
   * RESUME. Updates are coalesced per shard within one event-loop turn.
   */
  updateSession(shardId: number, session: ShardSession | null): void {
    this.sessionUpdates.set(shardId, session);
    if (this.sessionFlushScheduled) return;
    this.sessionFlushScheduled = true;
    setImmediate(() => {
      this.sessionFlushScheduled = false;
      const updates = [...this.sessionUpdates];
      this.sessionUpdates.clear();
      // Shutting down (or the manager is gone): the manager keeps what it had; a RESUME of an
      // ended session is refused by Discord and the client IDENTIFYs instead.
      if (this.instance.server.state !== 'identified') return;
      for (const [id, update] of updates) {
        try {
          this.instance.send(LibraryEvent.SESSION_UPDATE, { shardId: id, session: update });
        } catch (error) {
          this.logger.warn(
            `Could not report the session of shard ${id}: ${(error as Error).message}`,
          );
        }
      }
    });
  }

  /**
   * The fleet's `GET /gateway/bot` facts from the manager (which asked Discord once for the whole
   * fleet): the gateway URL, the shard count in force and the IDENTIFY budget as the manager's
   * queue counts it.
   */
  async fetchGatewayInformation(): Promise<GatewayBotInfo> {
    return this.instance.request<GatewayBotInfo>(LibraryEvent.GATEWAY_INFO, null);
  }

  /**
   * Tells the manager that Discord closed `shardId` with 4011 (sharding required): the bot has
   * outgrown its shard count. Under `autoReshard` the manager reshards; otherwise it logs what to
   * do. The `@discordjs/ws` adapter's `attach` reports it by itself; a discord.js `Client` can,
   * from its `shardDisconnect` event.
   */
  reportShardingRequired(shardId: number): void {
    try {
      this.instance.send(LibraryEvent.SHARDING_REQUIRED, { shardId });
    } catch {
      // No manager right now: the shard stays closed, and the next instance to IDENTIFY says so.
    }
  }

  /**
   * Reports a shard's gateway state (connection state, ping, guilds) to the manager with the next
   * heartbeat; see `ShardingInstance.reportShard`.
   */
  reportShard(shardId: number, update: ShardStatusUpdate): void {
    this.instance.reportShard(shardId, update);
  }

  /** Asks for a slot; a request that timed out (the queue is hours long) asks again. */
  private async requestSlot(shardId: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      try {
        await this.instance.request(
          LibraryEvent.IDENTIFY_SLOT,
          { shardId },
          { timeout: IDENTIFY_WAIT_LIMIT },
        );
        return;
      } catch (error) {
        if (!(error instanceof RequestTimeoutError) || signal?.aborted) throw error;
      }
    }
  }

  /**
   * Reports the IDENTIFY of `shardId` as sent, one event-loop turn after the grant resolved: the
   * caller's continuation (which sends it) has run by then, however long it kept the loop busy,
   * so the report can only be late, never early.
   */
  private reportSent(shardId: number): void {
    setImmediate(() => this.trySend(LibraryEvent.IDENTIFY_SENT, { shardId }));
  }

  private trySend(event: string, data: unknown): void {
    try {
      this.instance.send(event, data);
    } catch {
      // No manager: nothing waits there either.
    }
  }
}

/** The `AbortError` a failed or aborted identify wait rejects with (`cause`: why). */
function identifyAborted(shardId: number, cause: unknown): Error {
  if (cause instanceof Error && cause.name === 'AbortError') return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new DOMException(`The wait to IDENTIFY shard ${shardId} ended: ${reason}`, {
    name: 'AbortError',
    cause,
  });
}
