// The failover part of the multi-host section: two host managers (test/fixtures/host-manager,
// separate processes) run a 4-shard bot against the gateway emulator, one shard per lease block;
// the first host dies at once (SIGKILL, its instances too), and the second host's warm spares take
// its blocks once the leases ran out and RESUME them. Measured: from the kill to the last of its
// shards RESUMEd, against the lease TTL (the design's bound: TTL + a third of it for the survey +
// one RESUME).
import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { hostFixtureEnv, startHostFleetEmulator } from '../support/host-fleet.js';
import { nextMessage } from '../support/processes.js';
import { forkBenchChild } from './bench-processes.js';

/** One failover: the lease TTL, how long the dead host's shards took to come back, and how. */
export interface HostFailoverResult {
  leaseTtlMs: number;
  failoverMs: number;
  /** `failoverMs / leaseTtlMs`. */
  vsLeaseTtl: number;
  /** The dead host's shards that came back by RESUME (the rest IDENTIFYed again). */
  resumed: number;
  /** Its shards in all. */
  shards: number;
}

/** Runs one failover with leases of `leaseTtl` ms on the Redis at `socket`. */
export async function measureHostFailover(
  socket: string,
  leaseTtl: number,
): Promise<HostFailoverResult> {
  const emulator = await startHostFleetEmulator(4);
  const client = new Redis({ path: socket });
  const hosts: ChildProcess[] = [];
  try {
    const cluster = `failover-${leaseTtl}`;
    const host = (hostId: string, shards: number[], spares: number) => {
      const child = forkBenchChild(
        '../fixtures/host-manager.fixture',
        hostFixtureEnv(emulator, socket, cluster, hostId, shards, {
          LEASE_TTL: String(leaseTtl),
          SPARES: String(spares),
        }),
      );
      hosts.push(child);
      return child;
    };
    const doomed = host('host-a', [0, 1], 0);
    const { pids } = await nextMessage<{ type: string; pids: number[] }>(doomed, 'ready');
    await nextMessage(host('host-b', [2, 3], 2), 'ready');
    // Sessions reach Redis a turn after their manager: nothing to await but Redis.
    while ((await client.hlen(`nestjs-sharding:{${cluster}}:sessions`)) < 4) await delay(20);

    const back = new Map<number, 'resumed' | 'identified'>();
    let killedAt = 0;
    const bothBack = new Promise<number>((resolve) => {
      const seen = (shardId: number | undefined, how: 'resumed' | 'identified') => {
        if ((shardId !== 0 && shardId !== 1) || back.has(shardId)) return;
        back.set(shardId, how);
        if (back.size === 2) resolve(performance.now());
      };
      emulator.on('resume', (record) => {
        if (record.accepted) seen(record.shardId, 'resumed');
      });
      emulator.on('ready', (record) => seen(record.shardId, 'identified'));
    });
    doomed.kill('SIGSTOP');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    killedAt = performance.now();
    doomed.kill('SIGKILL');
    const failoverMs = Math.round((await bothBack) - killedAt);
    return {
      leaseTtlMs: leaseTtl,
      failoverMs,
      vsLeaseTtl: Math.round((failoverMs / leaseTtl) * 100) / 100,
      resumed: [...back.values()].filter((how) => how === 'resumed').length,
      shards: 2,
    };
  } finally {
    for (const child of hosts) child.kill('SIGKILL');
    client.disconnect();
    await emulator.close();
  }
}
