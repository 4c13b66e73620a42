// What each piece of an instance adds to a bare node process: this process imports the pieces
// named in BENCH_IMPORT_STEPS one after the other and reads its memory after a full GC following
// each (it runs with --expose-gc), so that the differences are each piece's share. Nothing but
// node's own modules is imported before the first reading.
import { exitWithParent, fail, report } from './measurements.js';

exitWithParent();

/** The pieces, in the order they are listed. */
export const IMPORT_STEPS = {
  /** reflect-metadata, @nestjs/common, @nestjs/core (rxjs with them). */
  nest: async () => {
    await import('reflect-metadata');
    await import('@nestjs/common');
    await import('@nestjs/core');
  },
  /** An empty Nest application context, created (the modules are loaded by now). */
  'nest-context': async () => {
    // Imported here, not at the top: the first reading is of a bare node.
    const { Module } = await import('@nestjs/common');
    const { NestFactory } = await import('@nestjs/core');
    class EmptyModule {}
    Module({})(EmptyModule);
    contexts.push(await NestFactory.createApplicationContext(EmptyModule, { logger: false }));
  },
  /** This library's main entry (node-ipc with it). */
  'nestjs-sharding': async () => {
    await import('../../src/index.js');
  },
  'discord.js': async () => {
    await import('discord.js');
  },
  'discord-hybrid-sharding': async () => {
    await import('discord-hybrid-sharding');
  },
} as const;

/** One reading: after the step named, bytes. */
export interface ImportCostReading {
  step: 'node' | keyof typeof IMPORT_STEPS;
  rss: number;
  heapUsed: number;
}

const contexts: unknown[] = [];

function read(step: ImportCostReading['step']): ImportCostReading {
  globalThis.gc?.();
  globalThis.gc?.();
  const memory = process.memoryUsage();
  return { step, rss: memory.rss, heapUsed: memory.heapUsed };
}

try {
  const steps = process.env.BENCH_IMPORT_STEPS!.split(',') as Array<keyof typeof IMPORT_STEPS>;
  const readings = [read('node')];
  for (const step of steps) {
    await IMPORT_STEPS[step]();
    readings.push(read(step));
  }
  await report({ type: 'measured', result: readings });
  process.exit(0);
} catch (error) {
  await fail(error);
}
