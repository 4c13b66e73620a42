// The bot each sharding instance runs: an @discordjs/ws WebSocketManager (the gateway layer of
// discord.js) wired to the fleet. Its shards come from the instance context, IDENTIFY is paced
// by the manager, sessions are kept by the manager so that a restarted instance RESUMEs, and
// the instance reports each shard's state and every event count to the manager.
import { Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { REST } from '@discordjs/rest';
import { WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import {
  SHARDING_INSTANCE_CONTEXT,
  ShardingInstance,
  ShardingModule,
  shardingWebSocketOptions,
  type InstanceContext,
} from '../../src/index.js';

/** What an instance tells the manager about one of its shards. */
export interface ShardReport {
  shardId: number;
  state?: 'connecting' | 'ready' | 'resumed' | 'closed';
  events?: number;
  latency?: number;
}

@Injectable()
class Gateway implements OnApplicationShutdown {
  constructor(readonly manager: WebSocketManager) {}

  async onApplicationShutdown(): Promise<void> {
    await this.manager.destroy();
  }
}

async function connectGateway(
  instance: ShardingInstance,
  context: InstanceContext,
): Promise<WebSocketManager> {
  const token = process.env.DISCORD_TOKEN!;
  const rest = new REST(process.env.DISCORD_API ? { api: process.env.DISCORD_API } : {}).setToken(
    token,
  );
  const options = shardingWebSocketOptions(context, instance);
  // The manager already asked Discord for /gateway/bot: the instance takes its answer; and shards
  // handed over to or from this instance are applied to the gateway.
  const gateway = options.attach(new WebSocketManager({ token, intents: 0, rest, ...options }));
  const report = (shard: ShardReport) => {
    // While the instance shuts down its link is already closed; those last reports are dropped.
    if (instance.server.state === 'identified') instance.send('SHARD_REPORT', shard);
  };
  const up = new Set<number>();
  const shardUp = (shardId: number, state: 'ready' | 'resumed') => {
    report({ shardId, state });
    up.add(shardId);
    if (up.size === context.shards.length) instance.ready();
  };
  // Event counts are sent at most every 250 ms per shard, not once per event.
  const counts = new Map<number, number>();
  const flush = setInterval(() => {
    for (const [shardId, events] of counts) report({ shardId, events });
    counts.clear();
  }, 250);
  flush.unref();
  gateway.on(WebSocketShardEvents.Ready, (_data, shardId) => shardUp(shardId, 'ready'));
  gateway.on(WebSocketShardEvents.Resumed, (shardId) => shardUp(shardId, 'resumed'));
  gateway.on(WebSocketShardEvents.Closed, (_code, shardId) => report({ shardId, state: 'closed' }));
  gateway.on(WebSocketShardEvents.HeartbeatComplete, ({ latency }, shardId) =>
    report({ shardId, latency }),
  );
  gateway.on(WebSocketShardEvents.Dispatch, (_payload, shardId) =>
    counts.set(shardId, (counts.get(shardId) ?? 0) + 1),
  );
  for (const shardId of context.shards) report({ shardId, state: 'connecting' });
  await gateway.connect();
  return gateway;
}

@Module({
  imports: [ShardingModule.forRoot({ readyWhen: 'manual' })],
  providers: [
    Gateway,
    {
      provide: WebSocketManager,
      inject: [ShardingInstance, SHARDING_INSTANCE_CONTEXT],
      useFactory: connectGateway,
    },
  ],
})
export class BotModule {}
