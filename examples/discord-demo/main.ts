// The demo: a gateway emulator, a manager with 16 shards in 4 instances running a Discord bot, and
// a live view of the fleet, in the terminal and as the status page in a browser. Midway it kills one instance with SIGKILL and shows it come back with
// RESUME, then rolls every instance to a new generation with its shards kept online. With
// DISCORD_TOKEN set it runs the same bot against the real Discord.
//
// In a terminal it runs until Ctrl+C. Elsewhere (CI=true, or output piped) it plays the same
// script, prints what happens, and exits 0 by itself with every process it started gone.
//
// This one file is both the manager and, when the manager spawns it, each instance.
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { fileURLToPath } from 'node:url';
import { filter, firstValueFrom, Subject } from 'rxjs';
import {
  fetchGatewayBot,
  isShardingInstance,
  OnDispatch,
  ShardingInstance,
  ShardingManager,
  ShardingModule,
  StatusPageServer,
  type DispatchContext,
} from '../../src/index.js';
import { GatewayEmulator } from '../../src/testing/index.js';
import { BotModule, type ShardReport } from './bot.module.js';
import { FleetView } from './fleet-view.js';

const TOTAL_SHARDS = 16;
const SHARDS_PER_INSTANCE = 4;
const VICTIM = 1;

if (isShardingInstance()) {
  const app = await NestFactory.createApplicationContext(BotModule, { logger: ['error', 'warn'] });
  app.get(ShardingInstance).attach(app);
} else {
  await runManager();
}

async function runManager(): Promise<void> {
  const interactive = process.stdout.isTTY === true && process.env.CI !== 'true';
  const realToken = process.env.DISCORD_TOKEN;
  const emulator =
    realToken === undefined
      ? await GatewayEmulator.start({
          shards: TOTAL_SHARDS,
          maxConcurrency: 4,
          identifyWindow: 5_000,
          heartbeatInterval: 5_000,
          guildsPerShard: 2,
        })
      : undefined;
  const token = realToken ?? emulator!.token;
  const maxConcurrency =
    emulator === undefined
      ? (await fetchGatewayBot({ api: 'https://discord.com/api/v10', token })).session_start_limit
          .max_concurrency
      : 4;
  emulator?.startEventStream({ interval: 40, event: 'DEMO_EVENT' });

  const reports = new Subject<{ instance: number; report: ShardReport }>();

  @Injectable()
  class ShardReports {
    @OnDispatch('SHARD_REPORT', { role: 'manager' })
    onReport(report: ShardReport, context: DispatchContext): void {
      reports.next({ instance: context.from as number, report });
    }
  }

  @Module({
    imports: [
      ShardingModule.forRoot({
        file: fileURLToPath(import.meta.url),
        totalShards: TOTAL_SHARDS,
        shardsPerInstance: SHARDS_PER_INSTANCE,
        maxConcurrency,
        // The manager asks /gateway/bot once for the whole fleet; instances take its answer.
        token,
        ...(emulator === undefined ? {} : { api: `${emulator.apiBase}/v10` }),
        heartbeatInterval: 1_000,
        spawnOnBootstrap: false,
        // The live status page, on this machine only (STATUS_PAGE_PORT, else any free port).
        statusPage: { port: Number(process.env.STATUS_PAGE_PORT ?? 0) },
        env: {
          DISCORD_TOKEN: token,
          ...(emulator === undefined ? {} : { DISCORD_API: emulator.apiBase }),
        },
      }),
    ],
    providers: [ShardReports],
  })
  class DemoManagerModule {}

  const app = await NestFactory.createApplicationContext(DemoManagerModule, {
    logger: ['error', 'warn'],
  });
  const manager = app.get(ShardingManager);
  const view = new FleetView(
    manager,
    TOTAL_SHARDS,
    interactive,
    emulator === undefined ? 'Discord' : `the gateway emulator (${emulator.url})`,
  );
  reports.subscribe(({ instance, report }) => view.onReport(instance, report));
  manager.status$.subscribe((change) => view.onStatus(change));
  manager.restart$.subscribe((restart) => view.onRestart(restart));
  manager.identify$.subscribe((grant) => view.onIdentify(grant));
  const frames = interactive ? setInterval(() => view.render(), 200) : undefined;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(frames);
      if (interactive) view.render();
      const pids = manager.status().map((status) => status.pid!);
      await app.close();
      await emulator?.close();
      const left = pids.filter(isRunning);
      console.log(
        left.length === 0
          ? `done: ${pids.length} instances stopped, nothing left behind`
          : `LEFT BEHIND: ${left.join(', ')}`,
      );
      if (left.length > 0) process.exitCode = 1;
    })());
  process.once('SIGINT', () => void stop());

  view.statusPage = app.get(StatusPageServer).url;
  view.note(`status page: ${view.statusPage}`);
  view.note(`manager ${manager.id}: spawning ${TOTAL_SHARDS / SHARDS_PER_INSTANCE} instances`);
  await manager.spawn();
  await manager.whenReady(10 * 60_000);
  view.note(`all ${TOTAL_SHARDS} shards are up`);

  await delay(3_000);
  const victim = manager.status()[VICTIM]!;
  view.note(`killing instance ${VICTIM} (pid ${victim.pid}) with SIGKILL, to show it RESUME`);
  const victimShards = new Set(victim.shards);
  const resumedShards = new Set<number>();
  const allResumed = firstValueFrom(
    reports.pipe(
      filter(({ report }) => {
        if (report.state === 'resumed' && victimShards.has(report.shardId))
          resumedShards.add(report.shardId);
        return resumedShards.size === victimShards.size;
      }),
    ),
  );
  process.kill(victim.pid!, 'SIGKILL');
  await allResumed;
  view.note(
    `instance ${VICTIM} is back (generation ${manager.status()[VICTIM]!.generation}); its shards RESUMEd` +
      (emulator === undefined ? '' : `, ${emulator.identifies.length} IDENTIFYs in all`),
  );

  await delay(2_000);
  view.note('rolling restart: each instance handed to a new generation, its shards kept online');
  const identifiesBefore = emulator?.identifies.length ?? 0;
  const rolled = await manager.rollingRestart();
  const failed = rolled.filter((result) => result.status === 'rejected');
  const identified = (emulator?.identifies.length ?? 0) - identifiesBefore;
  const takeovers = emulator?.takeovers.length ?? 0;
  view.note(
    `rolling restart done: ${rolled.length - failed.length}/${rolled.length} instances on a new ` +
      `generation` +
      (emulator === undefined
        ? ''
        : `, ${identified} new IDENTIFYs, ${takeovers} sessions taken before they were let go`),
  );
  // The scripted run checks its own counts: a roll spends no IDENTIFY and never runs a shard twice.
  if (!interactive && (failed.length > 0 || identified > 0 || takeovers > 0)) {
    console.log('UNEXPECTED: the rolling restart failed an instance, IDENTIFYed, or overlapped');
    process.exitCode = 1;
  }

  if (interactive) return; // runs until Ctrl+C
  await delay(2_000);
  await stop();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
