import { Injectable, Logger } from '@nestjs/common';
import { DispatchRegistry } from '../dispatch/dispatch.registry.js';
import { NoInstanceContextError } from '../instance/instance.errors.js';
import { ShardingInstance } from '../instance/sharding.instance.js';
import { reportClientShards } from './discordjs-client.reporter.js';
import { DiscordjsShardEvent } from './discordjs-shard.constants.js';
import { ShardClientCompat, type ShardClientCompatOptions } from './shard-client.compat.js';
import { ShardClientResponder } from './shard-client.responder.js';

/**
 * The discord.js compatibility layer, for bots and libraries that call `client.shard` (`ids`,
 * `count`, `fetchClientValues`, `broadcastEval`, `respawnAll`, `send`) as under discord.js's
 * `ShardingManager`. List it among the providers of the instance's bot module (next to the
 * `Client` provider) and call {@link install} with the client; `respawnAll` asks the manager for
 * a rolling restart, which the manager answers by itself.
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

  constructor(
    private readonly instance: ShardingInstance,
    private readonly registry: DispatchRegistry,
  ) {}

  /**
   * Sets `client.shard` to a {@link ShardClientCompat} and lets this instance answer the other
   * instances' `client.shard` calls with `client`. Call it in the instance, once the instance
   * context has resolved (inject `SHARDING_INSTANCE_CONTEXT`) and before the client logs in.
   * Like discord.js, one client per instance serves: installing another one logs a warning and
   * gives it the first client's `shard`. The first client's shards are also reported to the
   * manager with each heartbeat (see `reportClientShards`). Throws `WrongRoleError` in the manager and
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
      reportClientShards(client, this.instance);
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
}
