// One entry file for both roles. Started by you it is the manager: it spawns the instances (this
// same file, with the manager's variables) and prints the fleet's state. Started by the manager
// it is an instance: a necord bot on the shards the manager gave it.
//
//   DISCORD_TOKEN=… npm start                 the real Discord
//   npm start                                  the gateway emulator from nestjs-sharding/testing
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { fileURLToPath } from 'node:url';
import {
  isShardingInstance,
  ShardingInstance,
  ShardingManager,
  ShardingModule,
} from 'nestjs-sharding';
import { GatewayEmulator } from 'nestjs-sharding/testing';
import { BotModule } from './bot.module.js';

if (isShardingInstance()) {
  const app = await NestFactory.createApplicationContext(BotModule, { logger: ['error', 'warn'] });
  app.get(ShardingInstance).attach(app);
} else {
  const emulator = process.env.DISCORD_TOKEN
    ? undefined
    : await GatewayEmulator.start({ shards: 4, identifyWindow: 1_000 });
  const token = process.env.DISCORD_TOKEN ?? emulator!.token;

  @Module({
    imports: [
      ShardingModule.forRoot({
        file: fileURLToPath(import.meta.url),
        totalShards: 'auto',
        token,
        ...(emulator ? { api: `${emulator.apiBase}/v10`, identifyWindow: 1_000 } : {}),
        shardsPerInstance: 2,
        env: { DISCORD_TOKEN: token, ...(emulator ? { DISCORD_API: emulator.apiBase } : {}) },
      }),
    ],
  })
  class ManagerModule {}

  const app = await NestFactory.createApplicationContext(ManagerModule, {
    logger: ['error', 'warn', 'log'],
  });
  app.enableShutdownHooks();
  const manager = app.get(ShardingManager);
  await manager.whenReady();
  const counts = await manager.broadcastRequest<{ instance: number; guilds: number }>(
    'GUILD_COUNT',
  );
  console.log(
    'guilds per instance:',
    counts.map((result) => (result.status === 'fulfilled' ? result.value : result.reason.message)),
  );
  if (process.env.CI === 'true' || !process.stdout.isTTY) {
    await app.close();
    await emulator?.close();
  }
}
