import cluster from 'node:cluster';
import { isMainThread } from 'node:worker_threads';
import { describeValue } from '../common/describe-value.js';
import { NoInstanceContextError } from '../instance/instance.errors.js';
import type { ShardingInstance } from '../instance/sharding.instance.js';
import type { InstanceContext } from '../ipc/ipc.server.js';
import { RemoteHandlerError } from '../ipc/ipc.errors.js';
import type { ShardingMode } from '../options/sharding-options.interface.js';
import { LibraryEvent } from '../protocol/protocol.constants.js';
import {
  DiscordjsShardEvent,
  type BroadcastEvalPayload,
  type ShardClientReply,
} from './discordjs-shard.constants.js';
import { BroadcastEvalDisabledError, ShardClientCallError } from './discordjs-shard.errors.js';
import { propertyPathKeys } from './shard-client.responder.js';

/** Options of the discord.js compatibility layer (`DiscordjsShardCompat.install`). */
export interface ShardClientCompatOptions {
  /**
   * Let `client.shard.broadcastEval()` send a function's source to the instances and let this
   * instance evaluate the sources it receives. Off by default: evaluating code that arrives as
   * text is the broadest power in the fleet; an `@OnDispatch` handler does the same job as
   * reviewed code. Needed in every instance that should answer. Default `false`.
   */
  allowBroadcastEval?: boolean;
}

/** discord.js's `broadcastEval` options. */
export interface ShardClientEvalOptions {
  /** The shard whose instance runs the function; default: every instance. */
  shard?: number;
  /** The function's second argument, carried as JSON. */
  context?: unknown;
}

/**
 * What `client.shard` of a discord.js `Client` becomes in a sharding instance: the members of
 * discord.js 14's `ShardClientUtil`, served by the fleet.
 *
 * discord.js runs one shard per process, so its arrays hold one entry per shard. Here an
 * instance runs `shardsPerInstance` shards in one client, so the arrays of
 * {@link fetchClientValues} and {@link broadcastEval} hold ONE ENTRY PER INSTANCE, in instance
 * order: each is that instance's client's value, which already covers all its shards (summing
 * `guilds.cache.size` gives the bot's guild count, as before). With one shard per instance, the
 * arrays are exactly discord.js's. Like discord.js, a call rejects when any instance fails; for
 * partial results, use `ShardingInstance.request(event, data, { to: 'all' })`.
 *
 * Create it with `DiscordjsShardCompat.install(client)`.
 */
export class ShardClientCompat {
  /** How this instance was spawned: `'process'`, `'worker'` or `'cluster'`. */
  readonly mode: ShardingMode = currentMode();
  /**
   * Always `null`: messages go over the instance's socket, not a worker port (discord.js sets it
   * in worker mode).
   */
  readonly parentPort = null;

  constructor(
    /** The discord.js client whose `shard` this is. */
    readonly client: object,
    private readonly instance: ShardingInstance,
    private readonly options: ShardClientCompatOptions = {},
  ) {}

  /** The shard ids this instance runs (they follow RESTRUCTURING). */
  get ids(): number[] {
    return [...this.context().shards];
  }

  /** The bot's total shard count. */
  get count(): number {
    return this.context().totalShards;
  }

  /**
   * Sends `message` to the manager as a `MESSAGE` event: handle it there with
   * `@OnDispatch('MESSAGE', { role: 'manager' })` (discord.js: `shard.on('message')`). Resolves
   * once sent; rejects with the instance's typed error when it cannot be sent.
   */
  async send(message: unknown): Promise<void> {
    this.instance.send(LibraryEvent.MESSAGE, message);
  }

  /**
   * Reads a property path of the client (`'guilds.cache.size'`; no code runs, functions are not
   * called) in every instance, or in the instance of `shard`. Resolves with one value per
   * instance (see the class), or that instance's value alone when `shard` is given.
   */
  fetchClientValues(path: string): Promise<unknown[]>;
  fetchClientValues(path: string, shard: number): Promise<unknown>;
  async fetchClientValues(path: string, shard?: number): Promise<unknown> {
    propertyPathKeys(path);
    return this.ask(
      DiscordjsShardEvent.FETCH_CLIENT_VALUE,
      { path },
      this.target(shard),
      `client.shard.fetchClientValues('${path}')`,
    );
  }

  /**
   * Off by default: rejects with {@link BroadcastEvalDisabledError}, whose message shows the
   * `@OnDispatch` way. With `allowBroadcastEval`, runs `fn(client, options.context)` in every
   * instance (or the instance of `options.shard`) from the function's source, as discord.js
   * does, and resolves like {@link fetchClientValues}.
   */
  async broadcastEval(
    fn: (client: any, context: any) => unknown,
    options: ShardClientEvalOptions = {},
  ): Promise<unknown> {
    if (this.options.allowBroadcastEval !== true) throw new BroadcastEvalDisabledError();
    if (typeof fn !== 'function') {
      throw new ShardClientCallError(
        `broadcastEval() takes a function, called with the client and options.context, not ${describeValue(fn)}.`,
      );
    }
    const payload: BroadcastEvalPayload = { script: String(fn), context: options.context };
    return this.ask(
      DiscordjsShardEvent.BROADCAST_EVAL,
      payload,
      this.target(options.shard),
      'client.shard.broadcastEval()',
    );
  }

  /**
   * Asks the manager for a rolling restart: every instance (this one too) replaced by a new
   * generation started beside it, its shards kept online (`ShardingManager.rollingRestart()`).
   * Resolves when the manager has accepted (discord.js: when the message is sent). discord.js's
   * options (`shardDelay`, `respawnDelay`, `timeout`) are accepted and not used: the manager
   * paces IDENTIFY and waits for each new generation's readiness within `readyTimeout`.
   */
  async respawnAll(_options?: {
    shardDelay?: number;
    respawnDelay?: number;
    timeout?: number;
  }): Promise<void> {
    await this.instance.request(LibraryEvent.ROLLING_RESTART, null);
  }

  private context(): InstanceContext {
    const context = this.instance.context;
    if (context === undefined) throw new NoInstanceContextError('client.shard');
    return context;
  }

  /** `undefined` for every instance, else the checked shard id. */
  private target(shard: number | null | undefined): number | undefined {
    // discord.js treats anything but a number as "every shard".
    if (shard === undefined || shard === null) return undefined;
    const count = this.count;
    if (!Number.isSafeInteger(shard) || shard < 0 || shard >= count) {
      throw new ShardClientCallError(
        `There is no shard ${describeValue(shard)}: shard ids run from 0 to ${count - 1}.`,
      );
    }
    return shard;
  }

  private async ask(
    event: string,
    data: unknown,
    shard: number | undefined,
    call: string,
  ): Promise<unknown> {
    if (shard !== undefined) {
      const reply = await this.instance.request<ShardClientReply>(event, data, { to: { shard } });
      return unwrap(call, reply);
    }
    const results = await this.instance.request<ShardClientReply>(event, data, { to: 'all' });
    return results
      .toSorted((a, b) => a.instance - b.instance)
      .map((result) => {
        if (result.status === 'rejected') {
          throw new RemoteHandlerError(call, `instance ${result.instance}`, result.reason);
        }
        return unwrap(call, result.value);
      });
  }
}

function unwrap(call: string, reply: ShardClientReply): unknown {
  if ('error' in reply)
    throw new RemoteHandlerError(call, `instance ${reply.instance}`, reply.error);
  return reply.value;
}

function currentMode(): ShardingMode {
  if (!isMainThread) return 'worker';
  return cluster.isWorker ? 'cluster' : 'process';
}
