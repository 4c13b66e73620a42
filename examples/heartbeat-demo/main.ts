// The heartbeat demo: one entry file that is both the manager and, when the manager spawns it,
// each sharding instance (ShardingModule tells the roles apart). The manager spawns two instance
// processes, completes the HELLO/IDENTIFY handshake with each, prints their heartbeats with
// round-trip times for a few seconds, then shuts down and checks that nothing is left behind.
import 'reflect-metadata';
import { Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { access } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import {
  isShardingInstance,
  OnDispatch,
  SHARDING_INSTANCE_CONTEXT,
  ShardingInstance,
  ShardingManager,
  ShardingModule,
  type InstanceContext,
} from '../../src/index.js';

const RUN_FOR_MS = Number(process.env.DEMO_DURATION_MS ?? 4000);

@Injectable()
class PingHandler {
  constructor(
    @Inject(SHARDING_INSTANCE_CONTEXT) private readonly context: InstanceContext | null,
  ) {}

  @OnDispatch('ping', { role: 'instance' })
  ping(data: { at: number }) {
    return { pong: data.at, instance: this.context?.instance, pid: process.pid };
  }
}

@Module({
  imports: [
    ShardingModule.forRoot({
      totalShards: 4,
      shardsPerInstance: 2,
      heartbeatInterval: 500,
      // Spawn after subscribing to the streams below, to show every transition.
      spawnOnBootstrap: false,
    }),
  ],
  providers: [PingHandler],
})
class DemoModule {}

const app = await NestFactory.createApplicationContext(DemoModule, { logger: ['error', 'warn'] });
if (isShardingInstance()) {
  // Instance role: close the app gracefully when the manager says DESTROYING.
  const instance = app.get(ShardingInstance);
  instance.attach(app);
  const { instance: index, shards, totalShards } = instance.context!;
  console.log(
    `  instance ${index} (pid ${process.pid}) runs shards ${shards.join(', ')} of ${totalShards}`,
  );
} else {
  const manager = app.get(ShardingManager);
  console.log(`manager ${manager.id} (pid ${process.pid})`);
  manager.status$.subscribe((change) =>
    console.log(
      `  instance ${change.instance}: ${change.from} → ${change.to}${change.reason ? ` (${change.reason})` : ''}`,
    ),
  );
  manager.heartbeat$.subscribe((beat) => {
    const roundTrip =
      beat.roundTrip === undefined ? '  (first)' : `${beat.roundTrip.toFixed(3).padStart(6)} ms`;
    const rss = ((beat.rss ?? 0) / 1024 / 1024).toFixed(1);
    console.log(
      `  heartbeat  instance ${beat.instance}  #${String(beat.seq).padEnd(3)} round trip ${roundTrip}  rss ${rss} MiB  loop lag ${beat.eventLoopLag?.toFixed(2)} ms`,
    );
  });
  await manager.spawn();
  await manager.whenReady();
  for (const result of await manager.broadcastRequest('ping', { at: Date.now() })) {
    console.log(
      `  ping → instance ${result.instance}: ${result.status === 'fulfilled' ? JSON.stringify(result.value) : result.reason.message}`,
    );
  }
  await delay(RUN_FOR_MS);

  console.log('shutting down');
  const pids = manager.status().map((status) => status.pid!);
  const socketRoot = manager.socketDirectory!;
  await app.close();
  const alive = pids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  const socketsLeft = await access(socketRoot).then(
    () => true,
    () => false,
  );
  console.log(
    `done: ${pids.length - alive.length}/${pids.length} instances exited, socket directory ${socketsLeft ? 'LEFT BEHIND' : 'removed'}`,
  );
  if (alive.length > 0 || socketsLeft) process.exitCode = 1;
}
