// What the discord-roll and discord-failover sections share: a ws/discord.js bot fleet of
// `shards` shards against a fresh gateway emulator (max_concurrency 1, a short identify window),
// sized from the environment, and the session counts of a span read from the emulator's records.
import { GatewayEmulator } from '../../src/testing/index.js';
import { envInteger } from './report-format.js';

/** The emulator's bot token. */
export const EMULATOR_TOKEN = 'bench-emulator-token';
/** The `t` of the stream's events (stream-ticker.ts). */
export const STREAM_EVENT = 'BENCH_TICK';
/** Idle time before a measured step, and after the last one before the events seen are counted. */
export const SETTLE_MS = 500;
/** How long one manager process may take for its whole scenario. */
export const RUN_TIMEOUT_MS = 300_000;

/** A section's fleet and emulator sizes. */
export interface EmulatorFleet {
  shards: number;
  shardsPerInstance: number;
  /** The emulator's identify window, and the manager's margin over it, ms. */
  identifyWindow: number;
  identifyMargin: number;
  /** One stream event to every shard every `eventInterval` ms. */
  eventInterval: number;
}

/**
 * The sizes from `<prefix>_SHARDS` (16), `<prefix>_PER_INSTANCE` (4), `<prefix>_WINDOW`
 * (250 ms), `<prefix>_MARGIN` (25 ms) and `<prefix>_EVENT_INTERVAL` (50 ms).
 */
export function emulatorFleetFromEnv(prefix: string): EmulatorFleet {
  return {
    shards: envInteger(`${prefix}_SHARDS`, 16),
    shardsPerInstance: envInteger(`${prefix}_PER_INSTANCE`, 4),
    identifyWindow: envInteger(`${prefix}_WINDOW`, 250),
    identifyMargin: envInteger(`${prefix}_MARGIN`, 25),
    eventInterval: envInteger(`${prefix}_EVENT_INTERVAL`, 50),
  };
}

/** A fresh emulator for `fleet`, max_concurrency 1. */
export function startEmulator(fleet: EmulatorFleet): Promise<GatewayEmulator> {
  return GatewayEmulator.start({
    token: EMULATOR_TOKEN,
    shards: fleet.shards,
    maxConcurrency: 1,
    identifyWindow: fleet.identifyWindow,
  });
}

/** The sessions started and refused between `from` and `to` (epoch ms). */
export interface SessionCounts {
  /** Accepted IDENTIFYs and RESUMEs. */
  identified: number;
  resumed: number;
  /** IDENTIFYs answered with op 9, and RESUMEs refused. */
  rejectedOp9: number;
  rejectedResumes: number;
  /** Sessions taken from a connection still holding them (a handover resumed too early). */
  takeovers: number;
}

/** Counts the emulator's IDENTIFY, RESUME and takeover records between `from` and `to`. */
export function sessionCounts(emulator: GatewayEmulator, from: number, to: number): SessionCounts {
  const during = <T extends { at: number }>(records: readonly T[]) =>
    records.filter((record) => record.at >= from && record.at <= to);
  const identifies = during(emulator.identifies);
  const resumes = during(emulator.resumes);
  return {
    identified: identifies.filter((identify) => identify.accepted).length,
    resumed: resumes.filter((resume) => resume.accepted).length,
    rejectedOp9: identifies.filter((identify) => identify.rejection === 'rate-limited').length,
    rejectedResumes: resumes.filter((resume) => !resume.accepted).length,
    takeovers: during(emulator.takeovers).length,
  };
}
