import type { DynamicModule, Provider } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { ShardingManager, ShardingModule } from 'nestjs-sharding';
import { GatewayEmulator } from 'nestjs-sharding/testing';

/** A manager running the compiled app as its instances, and the emulated Discord it asked. */
export interface Fleet {
  /** The manager's application. */
  app: TestingModule;
  manager: ShardingManager;
  emulator: GatewayEmulator;
  /** Closes the manager (its instances exit) and the emulator. */
  close(): Promise<void>;
}

/**
 * Starts a manager whose instances run `file`; the shard count comes from the emulator's
 * `GET /gateway/bot` (1 shard), so one instance starts. Resolves when it is ready.
 * `providers` and `imports` are added to the manager's application.
 */
export async function startFleet(
  file: string,
  providers: Provider[] = [],
  imports: DynamicModule[] = [],
): Promise<Fleet> {
  const emulator = await GatewayEmulator.start({ shards: 1 });
  const moduleRef = await Test.createTestingModule({
    imports: [
      ShardingModule.forRoot({
        file,
        totalShards: 'auto',
        token: emulator.token,
        api: `${emulator.apiBase}/v10`,
      }),
      ...imports,
    ],
    providers,
  }).compile();
  const close = async () => {
    await moduleRef.close();
    await emulator.close();
  };
  try {
    await moduleRef.init();
    const manager = moduleRef.get(ShardingManager);
    await manager.whenReady(60_000);
    return { app: moduleRef, manager, emulator, close };
  } catch (error) {
    await close();
    throw error;
  }
}
