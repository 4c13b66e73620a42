import { Injectable, Logger } from '@nestjs/common';
import type { DispatchContext } from '../dispatch/dispatch-context.interface.js';
import { DispatchRegistry } from '../dispatch/dispatch.registry.js';
import { OnDispatch } from '../dispatch/on-dispatch.decorator.js';
import { NoInstanceContextError } from '../instance/instance.errors.js';
import { ShardingInstance } from '../instance/sharding.instance.js';
import { ShardingManager } from '../manager/sharding.manager.js';
import { DiscordjsShardEvent } from './discordjs-shard.constants.js';
import { ShardClientCompat, type ShardClientCompatOptions } from './shard-client.compat.js';
import { ShardClientResponder } from './shard-client.responder.js';

/**
 * The discord.js compatibility layer, for bots and libraries that call `client.shard` (`ids`,
 * `count`, `fetchClientValues`, `broadcastEval`, `respawnAll`, `send`) as under discord.js's
 * `ShardingManager`. List it among the providers of a module that BOTH roles load (the instance
 * answers the other instances' calls; the manager answers `respawnAll`), and call
 * {@link install} with the client in the instance.
 *
 * @example
 * ```ts
 * {
 *   provide: Client,
 *   inject: [ShardingInstance, SHARDING_INSTANCE_CONTEXT, DiscordjsShardCompat],
 *   useFactory: async (instance: ShardingInstance, context: InstanceContext, compat: DiscordjsShardCompat) => {
 *     const client = new Client({ intents: [GatewayIntentBits.Guilds], ...shardingClientOptions(context, instance) });
 *     compat.install(client); // client.shard works as under discord.js's ShardingManager
 *     client.once(Events.ClientReady, () => instance.ready());
 *     await client.login(process.env.DISCORD_TOKEN);
 *     return client;
 *   },
 * }
 * ```
 */
@Injectable()
export class DiscordjsShardCompat {
  private readonly logger = new Logger(DiscordjsShardCompat.name);
  private installed: ShardClientCompat | undefined;
  private respawning: Promise<void> | undefined;

  constructor(
    private readonly instance: ShardingInstance,
    private readonly manager: ShardingManager,
    private readonly registry: DispatchRegistry,
  ) {}

  /**
   * Sets `client.shard` to a {@link ShardClientCompat} and lets this instance answer the other
   * instances' `client.shard` calls with `client`. Call it in the instance, once the instance
   * context has resolved (inject `SHARDING_INSTANCE_CONTEXT`) and before the client logs in.
   * Like discord.js, one client per instance serves: installing another one logs a warning and
   * gives it the first client's `shard`. Throws `WrongRoleError` in the manager and
   * `NoInstanceContextError` before the manager's HELLO.
   *
   * @param client a discord.js (v14) `Client`.
   * @param options see {@link ShardClientCompatOptions}; `allowBroadcastEval` is off by default.
   */
  install(client: object, options: ShardClientCompatOptions = {}): ShardClientCompat {
    const context = this.instance.context;
    if (context === undefined) throw new NoInstanceContextError('DiscordjsShardCompat.install()');
    let compat = this.installed;
    if (compat === undefined) {
      compat = new ShardClientCompat(client, this.instance, options);
      this.installed = compat;
      const responder = new ShardClientResponder(
        client,
        context.instance,
        options.allowBroadcastEval === true,
      );
      const source = DiscordjsShardCompat.name;
      this.registry.register(
        DiscordjsShardEvent.FETCH_CLIENT_VALUE,
        (data) => responder.fetchClientValue(data),
        `${source}.fetchClientValues`,
        { role: 'instance' },
      );
      this.registry.register(
        DiscordjsShardEvent.BROADCAST_EVAL,
        (data) => responder.evaluate(data),
        `${source}.broadcastEval`,
        { role: 'instance' },
      );
    } else if (compat.client !== client) {
      this.logger.warn(
        'A second client was installed in this instance; client.shard of every client serves ' +
          'the first one, as in discord.js.',
      );
    }
    (client as { shard?: unknown }).shard = compat;
    return compat;
  }

  /**
   * Manager side of `client.shard.respawnAll()`: restarts every instance in index order, each
   * once the previous one is ready again; a failed restart stops the round (logged). Answers
   * at once with the instances it will restart; a call while a round runs joins that round.
   */
  @OnDispatch(DiscordjsShardEvent.RESPAWN_ALL, { role: 'manager' })
  respawnAllRequested(_data: unknown, context: DispatchContext): { instances: number[] } {
    const instances = this.manager.instances;
    if (this.respawning === undefined) {
      this.logger.log(
        `Instance ${String(context.from)} asked to respawn all ${instances.length} instance(s) ` +
          '(client.shard.respawnAll()): restarting them one at a time.',
      );
      // Start on the next turn of the event loop, so that the reply leaves before the asking
      // instance (restarted in this round too) is told to stop.
      this.respawning = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.restartInTurn(instances))
        .finally(() => {
          this.respawning = undefined;
        });
    }
    return { instances };
  }

  private async restartInTurn(instances: number[]): Promise<void> {
    for (const index of instances) {
      try {
        await this.manager.restart(index);
      } catch (error) {
        this.logger.error(
          `respawnAll stopped at instance ${index}: ${(error as Error).message}. Instances ` +
            'after it were not restarted.',
        );
        return;
      }
    }
    this.logger.log(`respawnAll restarted ${instances.length} instance(s).`);
  }
}
