import { describeValue } from '../common/describe-value.js';
import type { PacketRejection } from '../protocol/packet.decoder.js';
import type { ShardGatewayState, ShardReport } from '../protocol/ipc-packet.types.js';

/** Every state a shard report may carry. */
export const SHARD_GATEWAY_STATES: readonly ShardGatewayState[] = [
  'idle',
  'connecting',
  'identifying',
  'resuming',
  'ready',
  'disconnected',
];

const KNOWN_STATES = new Set<unknown>(SHARD_GATEWAY_STATES);

/** What {@link readShardReports} kept, and why it dropped the rest (one rejection per value). */
export interface ShardReportsRead {
  reports: ShardReport[];
  rejections: PacketRejection[];
}

const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
const isDuration = (value: unknown) =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0;

/** Returned when nothing was dropped (frozen: the caller only reads it). */
const NO_REJECTIONS = Object.freeze([]) as unknown as PacketRejection[];
/** Up to this many reports, a shard seen twice is found by a scan of the kept ones; then a set. */
const SCAN_LIMIT = 32;

/**
 * Checks the `shards` of a HEARTBEAT from an instance: each report must name a shard the
 * instance runs (`owns`), once, with a known state and finite, non-negative numbers. What passes
 * is copied field by field (nothing else a peer adds is kept); each report that fails is dropped
 * with its own rejection, so one bad report does not hide the instance's other shards.
 */
export function readShardReports(
  value: unknown,
  owns: (shardId: number) => boolean,
): ShardReportsRead {
  const reports: ShardReport[] = [];
  if (!Array.isArray(value)) {
    const rejection = bad('d.shards', `"d.shards" must be an array, got ${describeValue(value)}`);
    return { reports, rejections: [rejection] };
  }
  // Read with every heartbeat of every instance: nothing is allocated for what passes but the
  // copies (no field name per report, and no set for a few reports).
  let rejections: PacketRejection[] | undefined;
  const seen = value.length > SCAN_LIMIT ? new Set<number>() : undefined;
  for (let index = 0; index < value.length; index++) {
    const item: unknown = value[index];
    const problem = checkReport(item);
    if (problem !== undefined) {
      const field = `d.shards[${index}]`;
      (rejections ??= []).push(bad(field, `${field} ${problem}`));
      continue;
    }
    const report = item as ShardReport;
    const twice = seen === undefined ? reported(reports, report.id) : seen.has(report.id);
    if (twice || !owns(report.id)) {
      const field = `d.shards[${index}]`;
      (rejections ??= []).push({
        code: 'WRONG_SENDER',
        field,
        message: `${field} reports shard ${report.id}, which this instance does not run${twice ? ' twice' : ''}`,
      });
      continue;
    }
    seen?.add(report.id);
    const kept: ShardReport = { id: report.id, state: report.state };
    if (report.ping !== undefined) kept.ping = report.ping;
    if (report.guilds !== undefined) kept.guilds = report.guilds;
    if (report.events !== undefined) kept.events = report.events;
    reports.push(kept);
  }
  return { reports, rejections: rejections ?? NO_REJECTIONS };
}

/** Whether `reports` has shard `id`. */
function reported(reports: readonly ShardReport[], id: number): boolean {
  for (let index = 0; index < reports.length; index++) if (reports[index]!.id === id) return true;
  return false;
}

/** Why `item` is not a shard report, or undefined when it is one. */
function checkReport(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return `is ${describeValue(item)}, not an object`;
  }
  const { id, state, ping, guilds, events } = item as Record<string, unknown>;
  if (!isCount(id)) return `has the id ${describeValue(id)}`;
  if (!KNOWN_STATES.has(state)) return `has the unknown state ${describeValue(state)}`;
  if (ping !== undefined && !isDuration(ping)) return `has the ping ${describeValue(ping)}`;
  if (guilds !== undefined && !isCount(guilds))
    return `has the guild count ${describeValue(guilds)}`;
  if (events !== undefined && !isCount(events))
    return `has the event count ${describeValue(events)}`;
  return undefined;
}

function bad(field: string, message: string): PacketRejection {
  return { code: 'BAD_FIELD', field, message };
}
