import { Injectable, Module, type LoggerService } from '@nestjs/common';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  OnDispatch,
  ShardingManager,
  ShardingModule,
  type ShardingModuleOptions,
} from '../../src/index.js';
import { defer } from './cleanup.js';
import { fixturePath } from './processes.js';

@Injectable()
class ManagerHandlers {
  @OnDispatch('manager-echo')
  echo(data: unknown) {
    return { manager: true, data };
  }
}

/**
 * Boots a manager application in this process (4 shards, 2 per instance, fast heartbeats and
 * restarts) and waits for every instance to be ready. Closed after the test. `logger` replaces
 * the default (errors and warnings on the console) and receives every level.
 */
export async function startFleet(
  options: ShardingModuleOptions = {},
  settings: { waitReady?: boolean; logger?: LoggerService } = {},
): Promise<ShardingManager> {
  return (await startFleetApp(options, settings)).manager;
}

/** {@link startFleet}, with the manager's application (for its other providers). */
export async function startFleetApp(
  options: ShardingModuleOptions = {},
  { waitReady = true, logger }: { waitReady?: boolean; logger?: LoggerService } = {},
): Promise<{ app: INestApplicationContext; manager: ShardingManager }> {
  @Module({
    imports: [
      ShardingModule.forRoot({
        file: fixturePath('sharding-app.fixture'),
        totalShards: 4,
        shardsPerInstance: 2,
        heartbeatInterval: 500,
        killGrace: 1_000,
        restart: { initialDelay: 50, maxDelay: 200 },
        ...options,
      }),
    ],
    providers: [ManagerHandlers],
  })
  class ManagerModule {}

  const app = await NestFactory.createApplicationContext(ManagerModule, {
    logger: logger ?? ['error', 'warn'],
  });
  defer(() => app.close());
  const manager = app.get(ShardingManager);
  if (waitReady) await manager.whenReady(30_000);
  return { app, manager };
}
