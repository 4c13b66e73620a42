import type { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Subscription } from 'rxjs';
import { RemoteHandlerError, RequestTimeoutError } from '../ipc/ipc.errors.js';
import type { SerializedError } from '../protocol/ipc-packet.types.js';
import type { ClusterHost, ClusterHostsView } from './cluster-hosts.view.js';
import { ClusterTargetGoneError } from './coordination.errors.js';
import type { HostPlacement } from './host-placement.js';
import type { RedisConnection } from './redis.connection.js';

/** The result of a cluster-wide broadcast for one instance of one host. */
export type ClusterInstanceResult<T> =
  | { hostId: string; instance: number; status: 'fulfilled'; value: T }
  | { hostId: string; instance: number; status: 'rejected'; reason: Error };

/** One instance's outcome of a local broadcast, as hosts send it to each other. */
type WireResult =
  | { instance: number; ok: true; value: unknown }
  | { instance: number; ok: false; error: SerializedError };

/** What a host asks of its own fleet on behalf of another host. */
export interface LocalMessaging {
  /** Asks the instance of this host that runs `shardId`. */
  requestShard(shardId: number, event: string, data: unknown, timeout: number): Promise<unknown>;
  /** Asks every instance of this host; settles per instance. */
  broadcast(
    event: string,
    data: unknown,
    timeout: number,
  ): Promise<
    Array<{ instance: number; status: 'fulfilled' | 'rejected'; value?: unknown; reason?: Error }>
  >;
}

/** A message between hosts on the cluster's channels (JSON). */
type ClusterMessage =
  | {
      k: 'q';
      id: string;
      from: string;
      event: string;
      data: unknown;
      timeout: number;
      /** A request to the instance that runs this shard, at this epoch of its block's lease. */
      shard?: number;
      epoch?: number;
    }
  | { k: 'r'; id: string; from: string; ok: true; value: unknown }
  | { k: 'r'; id: string; from: string; ok: false; error: SerializedError }
  | { k: 'b'; id: string; from: string; results: WireResult[] };

/** A subscriber connection's part of ioredis' API. */
interface Subscriber {
  subscribe(...channels: string[]): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  disconnect(): void;
}

interface PendingRequest {
  host: string;
  event: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

interface PendingBroadcast {
  expected: number;
  answered: Set<string>;
  results: ClusterInstanceResult<unknown>[];
  event: string;
  finish(): void;
  timer: NodeJS.Timeout;
}

const GONE_CODE = 'ERR_SHARDING_CLUSTER_TARGET_GONE';

/**
 * Requests between the hosts of a cluster, through Redis pub/sub: each host listens on its own
 * inbox channel and on the cluster's broadcast channel. A request to a shard goes to the host
 * that holds its block's lease, with the lease's epoch; that host answers only while it still
 * holds the block at that epoch (before and after asking its instance), so no answer comes from
 * a fenced generation. Every request settles: with the answer, on timeout, or at once when the
 * target's host is not listening (PUBLISH reached nobody) or leaves the cluster's view.
 */
export class ClusterMessenger {
  private readonly pending = new Map<string, PendingRequest>();
  private readonly broadcasts = new Map<string, PendingBroadcast>();
  private readonly hostWatch: Subscription;
  private dropped = 0;

  private constructor(
    private readonly connection: RedisConnection,
    private readonly subscriber: Subscriber,
    private readonly placement: HostPlacement,
    view: ClusterHostsView,
    private readonly local: LocalMessaging,
    private readonly hostId: string,
    private readonly logger: Logger,
  ) {
    subscriber.on('message', (_channel, message) => this.receive(message));
    this.hostWatch = view.hosts$.subscribe((hosts) => this.onHosts(hosts));
  }

  /** Subscribes this host's inbox and the broadcast channel on a connection of its own. */
  static async open(
    connection: RedisConnection,
    placement: HostPlacement,
    view: ClusterHostsView,
    local: LocalMessaging,
    logger: Logger,
  ): Promise<ClusterMessenger> {
    const hostId = connection.options.hostId;
    // Pub/sub takes a connection over: a second one, like the first.
    const subscriber = (connection.client as { duplicate?: () => Subscriber }).duplicate?.();
    if (subscriber === undefined) {
      throw new TypeError('Cluster-wide messaging needs an ioredis client (duplicate()).');
    }
    const messenger = new ClusterMessenger(
      connection,
      subscriber,
      placement,
      view,
      local,
      hostId,
      logger,
    );
    await subscriber.subscribe(connection.key('inbox', hostId), connection.key('all'));
    return messenger;
  }

  /** Messages from other hosts dropped as malformed. */
  get droppedMessages(): number {
    return this.dropped;
  }

  /** The host that holds `shardId`'s block now, and the lease's epoch. */
  async locate(shardId: number): Promise<{ hostId: string; shard: number; epoch: number }> {
    const holder = await this.placement.holderOfShard(shardId);
    if (holder === undefined) {
      throw new ClusterTargetGoneError(`shard ${shardId}`, 'no host holds its block now');
    }
    return { hostId: holder.host, shard: shardId, epoch: holder.epoch };
  }

  /** Asks the instance that runs `shardId`, on whichever host holds it. */
  async request<T>(shardId: number, event: string, data: unknown, timeout: number): Promise<T> {
    const { hostId, epoch } = await this.locate(shardId);
    if (hostId === this.hostId && this.placement.epochOfShard(shardId) === epoch) {
      return (await this.local.requestShard(shardId, event, data, timeout)) as T;
    }
    const id = randomUUID();
    const answer = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestTimeoutError(event, timeout, `host "${hostId}"`));
      }, timeout);
      this.pending.set(id, {
        host: hostId,
        event,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer,
      });
    });
    const message: ClusterMessage = {
      k: 'q',
      id,
      from: this.hostId,
      event,
      data,
      timeout,
      shard: shardId,
      epoch,
    };
    const reached = await this.publish(this.connection.key('inbox', hostId), message).catch(
      (error: Error) => {
        this.settle(id, undefined, error);
        return 1;
      },
    );
    if (reached === 0) {
      this.settle(
        id,
        undefined,
        new ClusterTargetGoneError(`shard ${shardId}`, `host "${hostId}" is not listening`),
      );
    }
    return answer;
  }

  /** Asks every instance of every host; settles per instance (partial results are normal). */
  async broadcast<T>(
    event: string,
    data: unknown,
    timeout: number,
  ): Promise<ClusterInstanceResult<T>[]> {
    const id = randomUUID();
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const pending: PendingBroadcast = {
      expected: Number.POSITIVE_INFINITY,
      answered: new Set(),
      results: [],
      event,
      finish,
      timer: setTimeout(finish, timeout),
    };
    this.broadcasts.set(id, pending);
    try {
      const message: ClusterMessage = { k: 'q', id, from: this.hostId, event, data, timeout };
      pending.expected = await this.publish(this.connection.key('all'), message);
      if (pending.answered.size >= pending.expected) finish();
      await done;
    } finally {
      clearTimeout(pending.timer);
      this.broadcasts.delete(id);
    }
    const silent = pending.expected - pending.answered.size;
    if (silent > 0) {
      pending.results.push({
        hostId: '',
        instance: -1,
        status: 'rejected',
        reason: new RequestTimeoutError(event, timeout, `${silent} host(s)`),
      });
    }
    return pending.results as ClusterInstanceResult<T>[];
  }

  /** Stops listening; pending requests reject. */
  close(error: Error): void {
    this.hostWatch.unsubscribe();
    this.subscriber.disconnect();
    for (const id of this.pending.keys()) this.settle(id, undefined, error);
    for (const broadcast of this.broadcasts.values()) broadcast.finish();
  }

  private async publish(channel: string, message: ClusterMessage): Promise<number> {
    return Number(await this.connection.client.call('PUBLISH', channel, JSON.stringify(message)));
  }

  private settle(id: string, value: unknown, error?: Error): void {
    const request = this.pending.get(id);
    if (request === undefined) return;
    this.pending.delete(id);
    clearTimeout(request.timer);
    if (error === undefined) request.resolve(value);
    else request.reject(error);
  }

  /** A host that left the cluster's view answers nothing more: its requests settle now. */
  private onHosts(hosts: readonly ClusterHost[]): void {
    const live = new Set(hosts.map((host) => host.hostId));
    for (const [id, request] of this.pending) {
      if (live.has(request.host)) continue;
      this.settle(
        id,
        undefined,
        new ClusterTargetGoneError(
          `the target of "${request.event}"`,
          `host "${request.host}" left the cluster`,
        ),
      );
    }
  }

  private receive(raw: string): void {
    let message: ClusterMessage;
    try {
      message = JSON.parse(raw) as ClusterMessage;
      if (typeof message?.id !== 'string' || typeof message.from !== 'string')
        throw new Error('no id');
    } catch {
      this.dropped++;
      this.logger.debug?.('Dropped a malformed message from the cluster.');
      return;
    }
    if (message.k === 'q') void this.answer(message);
    else if (message.k === 'r') {
      const request = this.pending.get(message.id);
      if (request === undefined || request.host !== message.from) return;
      if (message.ok) this.settle(message.id, message.value);
      else {
        const error =
          message.error.code === GONE_CODE
            ? new ClusterTargetGoneError(`the target of "${request.event}"`, message.error.message)
            : new RemoteHandlerError(request.event, `host "${message.from}"`, message.error);
        this.settle(message.id, undefined, error);
      }
    } else if (message.k === 'b') {
      const broadcast = this.broadcasts.get(message.id);
      if (broadcast === undefined || broadcast.answered.has(message.from)) return;
      broadcast.answered.add(message.from);
      for (const result of message.results) {
        broadcast.results.push(
          result.ok
            ? {
                hostId: message.from,
                instance: result.instance,
                status: 'fulfilled',
                value: result.value,
              }
            : {
                hostId: message.from,
                instance: result.instance,
                status: 'rejected',
                reason: new RemoteHandlerError(
                  broadcast.event,
                  `host "${message.from}"`,
                  result.error,
                ),
              },
        );
      }
      if (broadcast.answered.size >= broadcast.expected) broadcast.finish();
    } else {
      this.dropped++;
    }
  }

  private async answer(message: Extract<ClusterMessage, { k: 'q' }>): Promise<void> {
    const inbox = this.connection.key('inbox', message.from);
    if (message.shard === undefined) {
      const settled = await this.local.broadcast(message.event, message.data, message.timeout);
      const results: WireResult[] = settled.map((result) =>
        result.status === 'fulfilled'
          ? { instance: result.instance, ok: true, value: result.value }
          : { instance: result.instance, ok: false, error: serialize(result.reason!) },
      );
      await this.publish(inbox, { k: 'b', id: message.id, from: this.hostId, results }).catch(
        () => undefined,
      );
      return;
    }
    const shard = message.shard;
    const holds = () => this.placement.epochOfShard(shard) === message.epoch;
    let reply: ClusterMessage;
    if (!holds()) {
      reply = {
        k: 'r',
        id: message.id,
        from: this.hostId,
        ok: false,
        error: gone(
          `host "${this.hostId}" no longer holds shard ${shard} at epoch ${message.epoch}`,
        ),
      };
    } else {
      try {
        const value = await this.local.requestShard(
          shard,
          message.event,
          message.data,
          message.timeout,
        );
        // Its lease may have gone while the instance answered: then the answer is a fenced one.
        reply = holds()
          ? { k: 'r', id: message.id, from: this.hostId, ok: true, value }
          : {
              k: 'r',
              id: message.id,
              from: this.hostId,
              ok: false,
              error: gone(`host "${this.hostId}" lost shard ${shard} while answering`),
            };
      } catch (error) {
        reply = {
          k: 'r',
          id: message.id,
          from: this.hostId,
          ok: false,
          error: serialize(error as Error),
        };
      }
    }
    await this.publish(inbox, reply).catch(() => undefined);
  }
}

function serialize(error: Error): SerializedError {
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(typeof code === 'string' && { code }) };
}

function gone(message: string): SerializedError {
  return { name: 'ClusterTargetGoneError', message, code: GONE_CODE };
}
