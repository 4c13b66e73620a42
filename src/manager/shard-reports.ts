import type { ShardReport } from '../protocol/ipc-packet.types.js';
import type { InstanceState, InstanceStatus } from './instance-state.js';

/** The states in which an instance's last shard reports still hold. */
const LIVE_STATES: ReadonlySet<InstanceState> = new Set<InstanceState>(['identified', 'ready']);

/**
 * The shards of an instance as its last heartbeat reported them, one entry per shard it runs:
 * `disconnected` for every shard while the instance is not live (a shard whose instance is down is
 * down, whatever it said last), undefined for a shard it did not report.
 */
export function shardReportsOf(status: InstanceStatus): Array<ShardReport | undefined> {
  if (!LIVE_STATES.has(status.state)) {
    return status.shards.map((id): ShardReport => ({ id, state: 'disconnected' }));
  }
  const reports = new Map(
    (status.lastHeartbeat?.shards ?? []).map((report) => [report.id, report]),
  );
  return status.shards.map((id) => reports.get(id));
}
