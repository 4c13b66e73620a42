// The manager of the status-page section: a Nest application with ShardingModule and its status
// page on a free loopback port, running a fleet of the test app (test/fixtures/sharding-app) whose
// instances report their shards with each heartbeat. It reports its instances' pids, then the
// page's address (as `listening`), and runs until the runner goes away.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { fileURLToPath } from 'node:url';
import { ShardingManager, ShardingModule, StatusPageServer } from '../../src/index.js';
import { envInteger } from './report-format.js';
import { exitWithParent, fail, report } from './measurements.js';

exitWithParent();

const shards = envInteger('BENCH_STATUS_PAGE_SHARDS', 32);

@Module({
  imports: [
    ShardingModule.forRoot({
      file: fileURLToPath(new URL('../fixtures/sharding-app.fixture.js', import.meta.url)),
      totalShards: shards,
      shardsPerInstance: envInteger('BENCH_STATUS_PAGE_PER_INSTANCE', 4),
      // Busier than the default 5 s, so that the page has updates to send.
      heartbeatInterval: 1_000,
      helloTimeout: 60_000,
      statusPage: { port: 0 },
      // Every heartbeat carries its instance's shard reports, as a gateway client's would.
      env: { FIXTURE_REPORT_SHARDS: '1' },
    }),
  ],
})
class StatusPageBenchModule {}

try {
  const app = await NestFactory.createApplicationContext(StatusPageBenchModule, {
    logger: ['error'],
  });
  const manager = app.get(ShardingManager);
  await report({ type: 'pids', pids: manager.status().map((status) => status.pid!) });
  await manager.whenReady(120_000);
  // The runner's SIGTERM ends the fleet the way users' managers end: instances stopped first.
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
  await report({ type: 'listening', path: app.get(StatusPageServer).url! });
} catch (error) {
  await fail(error);
}
