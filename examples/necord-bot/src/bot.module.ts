import { Inject, Injectable, Module } from '@nestjs/common';
import { Client, IntentsBitField } from 'discord.js';
import { Context, NecordModule, On, Once, type ContextOf } from 'necord';
import {
  OnDispatch,
  SHARDING_INSTANCE_CONTEXT,
  ShardingInstance,
  ShardingModule,
  shardingClientOptions,
  type InstanceContext,
} from 'nestjs-sharding';

/** The bot's gateway handlers (necord) and its fleet handlers (nestjs-sharding). */
@Injectable()
export class BotHandlers {
  constructor(
    private readonly client: Client,
    private readonly sharding: ShardingInstance,
    @Inject(SHARDING_INSTANCE_CONTEXT) private readonly context: InstanceContext,
  ) {}

  /** The instance is ready when its discord.js client is. */
  @Once('clientReady')
  onReady(@Context() [client]: ContextOf<'clientReady'>) {
    console.log(
      `instance ${this.context.instance}: ${client.user.tag} ready on shards ${this.context.shards.join(', ')}`,
    );
    this.sharding.ready();
  }

  @On('messageCreate')
  onMessage(@Context() [message]: ContextOf<'messageCreate'>) {
    if (message.content === '!fleet') void this.reportFleet(message.channelId);
  }

  /** Answers the manager (or another instance) with this instance's guild count. */
  @OnDispatch('GUILD_COUNT', { role: 'instance' })
  guildCount() {
    return { instance: this.context.instance, guilds: this.client.guilds.cache.size };
  }

  /** Asks every instance, through the manager, for its guild count. */
  private async reportFleet(channelId: string) {
    const results = await this.sharding.request<
      Array<{ status: string; value?: { guilds: number } }>
    >('GUILD_COUNT', undefined, { to: 'all' });
    const total = results.reduce((sum, result) => sum + (result.value?.guilds ?? 0), 0);
    console.log(
      `instance ${this.context.instance}: the fleet has ${total} guilds (asked from ${channelId})`,
    );
  }
}

@Module({
  imports: [
    ShardingModule.forRoot({ readyWhen: 'manual', isGlobal: true }),
    NecordModule.forRootAsync({
      inject: [ShardingInstance, SHARDING_INSTANCE_CONTEXT],
      // The context is an argument of the adapter: it comes with the manager's HELLO.
      useFactory: (instance: ShardingInstance, context: InstanceContext) => ({
        token: process.env.DISCORD_TOKEN!,
        intents: [IntentsBitField.Flags.Guilds, IntentsBitField.Flags.GuildMessages],
        skipRegistration: true,
        ...(process.env.DISCORD_API ? { rest: { api: process.env.DISCORD_API } } : {}),
        ...shardingClientOptions(context, instance),
      }),
    }),
  ],
  providers: [BotHandlers],
})
export class BotModule {}
