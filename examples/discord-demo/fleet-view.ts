// The demo's view of the fleet: a live terminal table when it runs in a terminal, a plain log of
// what happens otherwise. It only reads the manager's streams and the instances' shard reports.
import type {
  IdentifyGrant,
  InstanceRestart,
  InstanceStatusChange,
  ShardingManager,
} from '../../src/index.js';
import type { ShardReport } from './bot.module.js';

interface ShardView {
  state: string;
  events: number;
  latency?: number;
  identifiedAt?: number;
}

const ESC = '\x1b[';
const color = (code: number, text: string, on: boolean) =>
  on ? `${ESC}${code}m${text}${ESC}0m` : text;
const STATE_COLORS: Record<string, number> = {
  ready: 32,
  resumed: 36,
  connecting: 33,
  closed: 31,
  waiting: 90,
};

/** Collects what the demo shows, and renders it. */
export class FleetView {
  private readonly shards = new Map<number, ShardView>();
  private readonly log: string[] = [];
  private readonly restarts = new Map<number, number>();
  private readonly startedAt = Date.now();
  /** The status page's address, shown under the title. */
  statusPage: string | undefined;

  constructor(
    private readonly manager: ShardingManager,
    private readonly totalShards: number,
    private readonly interactive: boolean,
    private readonly target: string,
  ) {
    for (let shardId = 0; shardId < totalShards; shardId++) {
      this.shards.set(shardId, { state: 'waiting', events: 0 });
    }
  }

  /** How many shards are in `state` (or any of `states`). */
  count(...states: string[]): number {
    return [...this.shards.values()].filter((shard) => states.includes(shard.state)).length;
  }

  /** The state of one shard. */
  stateOf(shardId: number): string | undefined {
    return this.shards.get(shardId)?.state;
  }

  onReport(instance: number, report: ShardReport): void {
    const shard = this.shards.get(report.shardId);
    if (shard === undefined) return;
    if (report.events !== undefined) shard.events += report.events;
    if (report.latency !== undefined) shard.latency = report.latency;
    if (report.state !== undefined && report.state !== shard.state) {
      shard.state = report.state;
      if (report.state === 'resumed' || report.state === 'ready') {
        this.note(`shard ${report.shardId} (instance ${instance}) ${report.state.toUpperCase()}`);
      }
    }
  }

  onStatus(change: InstanceStatusChange): void {
    const reason = change.reason === undefined ? '' : ` (${change.reason})`;
    this.note(
      `instance ${change.instance} gen ${change.generation}: ${change.from} → ${change.to}${reason}`,
    );
  }

  onRestart(restart: InstanceRestart): void {
    this.restarts.set(restart.instance, restart.attempt);
    this.note(
      `instance ${restart.instance} restarts in ${restart.delay} ms (attempt ${restart.attempt}): ${restart.reason}`,
    );
  }

  onIdentify(grant: IdentifyGrant): void {
    const shard = this.shards.get(grant.shardId);
    if (shard !== undefined) shard.identifiedAt = grant.at;
    this.note(
      `IDENTIFY granted to shard ${grant.shardId} (bucket ${grant.bucket}, waited ${grant.waited} ms)`,
    );
  }

  /** Adds a line to the log (printed at once when not interactive). */
  note(line: string): void {
    const stamped = `${((Date.now() - this.startedAt) / 1000).toFixed(1).padStart(5)}s  ${line}`;
    this.log.push(stamped);
    if (this.log.length > 8) this.log.shift();
    if (!this.interactive) console.log(stamped);
  }

  /** Redraws the whole view (interactive mode). */
  render(): void {
    const on = this.interactive;
    const lines: string[] = [];
    lines.push(
      color(1, `nestjs-sharding demo: ${this.totalShards} shards against ${this.target}`, on),
    );
    if (this.statusPage !== undefined) lines.push(`status page: ${this.statusPage}`);
    const progress = this.manager.identifyProgress();
    if (progress !== undefined) {
      const identified = [...this.shards.values()].filter(
        (shard) => shard.identifiedAt !== undefined,
      ).length;
      const left = this.totalShards - identified;
      const eta = Math.ceil(left / progress.maxConcurrency) * progress.window;
      lines.push(
        `identify queue: ${identified}/${this.totalShards} granted, ${progress.waiting} waiting, ` +
          `max_concurrency ${progress.maxConcurrency}, ${progress.window} ms per bucket` +
          (left > 0 ? `, about ${(eta / 1000).toFixed(0)} s left` : ''),
      );
    }
    lines.push('');
    lines.push('instance  state        gen  pid      rtt ms   restarts  shards');
    for (const status of this.manager.status()) {
      const rtt = status.lastHeartbeat?.roundTrip;
      const shards = status.shards
        .map((shardId) => {
          const shard = this.shards.get(shardId)!;
          return color(
            STATE_COLORS[shard.state] ?? 0,
            `${shardId}:${shard.state}(${shard.events})`,
            on,
          );
        })
        .join(' ');
      lines.push(
        `${String(status.instance).padEnd(10)}${status.state.padEnd(13)}${String(status.generation).padEnd(5)}` +
          `${String(status.pid ?? '-').padEnd(9)}${(rtt === undefined ? '-' : rtt.toFixed(2)).padEnd(9)}` +
          `${String(this.restarts.get(status.instance) ?? 0).padEnd(10)}${shards}`,
      );
    }
    lines.push('', 'shard:state(events received)   Ctrl+C stops the demo', '');
    lines.push(...this.log);
    process.stdout.write(`${ESC}H${ESC}2J${lines.join('\n')}\n`);
  }
}
