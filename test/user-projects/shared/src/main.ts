import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { isShardingInstance, ShardingInstance, ShardingManager } from 'nestjs-sharding';
import { AppModule } from './app.module.js';

// One entry for both roles: run by hand it is the manager; the manager runs it as an instance.
async function bootstrap(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule);
  app.enableShutdownHooks();
  if (isShardingInstance()) {
    app.get(ShardingInstance).attach(app);
  } else {
    const manager = app.get(ShardingManager);
    await manager.whenReady();
    console.log(await manager.broadcastRequest('PING', 'from main'));
  }
}

void bootstrap();
