import type { ShardGatewayState, ShardReport } from '../protocol/ipc-packet.types.js';

/** What a gateway adapter knows about one shard; every field is optional and kept until changed. */
export interface ShardStatusUpdate {
  /** Its gateway connection's state. */
  state?: ShardGatewayState;
  /** The last gateway heartbeat round trip, in ms. */
  ping?: number;
  /** Guilds it serves. */
  guilds?: number;
}

interface BoardEntry {
  state: ShardGatewayState;
  ping?: number;
  guilds?: number;
  /** Dispatches since the previous sample. */
  events: number;
}

/**
 * The instance's board of its shards' gateway state, which its `IpcServer` samples into every
 * HEARTBEAT (`d.shards`) for the manager's `status()`, metrics and health checks. Gateway
 * adapters write to it (`shardingWebSocketOptions(...).attach`, `reportClientShards`); any other
 * client reports through `ShardingInstance.reportShard`. Until something is reported, heartbeats
 * carry no shard reports at all: an instance without a gateway client says nothing rather than
 * "idle".
 */
export class ShardStatusBoard {
  private readonly entries = new Map<number, BoardEntry>();
  private readonly probes = new Set<() => void>();
  private used = false;

  /** Records what is known of `shardId` (fields left out keep their value). */
  report(shardId: number, update: ShardStatusUpdate): void {
    this.used = true;
    const entry = this.entry(shardId);
    if (update.state !== undefined) entry.state = update.state;
    if (update.ping !== undefined) entry.ping = update.ping;
    if (update.guilds !== undefined) entry.guilds = update.guilds;
  }

  /** Counts `count` gateway dispatches received by `shardId` (reported per heartbeat, then reset). */
  countEvents(shardId: number, count = 1): void {
    this.used = true;
    this.entry(shardId).events += count;
  }

  /**
   * Registers a function run before each sample, for clients whose state is cheaper to read
   * than to follow (a discord.js `Client`'s shards). Returns a function that removes it.
   */
  addProbe(probe: () => void): () => void {
    this.used = true;
    this.probes.add(probe);
    return () => this.probes.delete(probe);
  }

  /**
   * One report per shard of `shards` (the instance's shards now; a shard never reported shows
   * `idle`), and resets the dispatch counts. Shards no longer run are forgotten, so that a shard
   * handed over is reported by its new owner only. `undefined` until anything was reported.
   */
  sample(shards: readonly number[]): ShardReport[] | undefined {
    if (!this.used) return undefined;
    for (const probe of this.probes) {
      try {
        probe();
      } catch {
        // A client torn down under the probe: its shards keep their last known state.
      }
    }
    const owned = new Set(shards);
    for (const shardId of this.entries.keys())
      if (!owned.has(shardId)) this.entries.delete(shardId);
    return shards.map((id) => {
      const entry = this.entry(id);
      const report: ShardReport = { id, state: entry.state, events: entry.events };
      if (entry.ping !== undefined) report.ping = entry.ping;
      if (entry.guilds !== undefined) report.guilds = entry.guilds;
      entry.events = 0;
      return report;
    });
  }

  private entry(shardId: number): BoardEntry {
    let entry = this.entries.get(shardId);
    if (entry === undefined) {
      entry = { state: 'idle', events: 0 };
      this.entries.set(shardId, entry);
    }
    return entry;
  }
}
