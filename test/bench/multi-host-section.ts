// The `multi-host` section of `npm run bench`: what coordination through Redis costs per step,
// against a bare Redis round trip (PING) on the same connection, measured in turn, against a
// private redis-server on a Unix socket:
// - the cluster identify gate's grant (one Lua script: bucket free, budget counted);
// - its IDENTIFY-sent report (one Lua script);
// - one renewal of 64 block leases (one Lua script);
// - failover: a SIGKILLed host's shards back on another host, against the lease TTL
//   (host-failover.ts).
// Environment (optional): BENCH_MULTI_HOST_ROUNDS (500), BENCH_FAILOVER_TTLS (2000,4000).
import { Logger } from '@nestjs/common';
import { ClusterCoordination } from '../../src/coordination/cluster.coordination.js';
import { BlockLeaseStore, type HeldLease } from '../../src/coordination/block-lease.store.js';
import { resolveCoordination } from '../../src/coordination/coordination.defaults.js';
import { launchRedis, missingRedis } from '../support/redis-server.js';
import { measureHostFailover, type HostFailoverResult } from './host-failover.js';
import { envInteger, fixed, markdown, ratio, round2 } from './report-format.js';
import { percentile } from './stats.js';

const rounds = envInteger('BENCH_MULTI_HOST_ROUNDS', 500);
const BLOCKS = 64;
const failoverTtls = (process.env.BENCH_FAILOVER_TTLS ?? '2000,4000').split(',').map(Number);

/** A quiet logger. */
class QuietLogger extends Logger {
  override log() {}
  override warn() {}
  override debug() {}
}

/** One step's round trips: p50 and p99 in ms, and the p50 against PING's. */
interface StepResult {
  p50Ms: number;
  p99Ms: number;
  vsPing: number;
}

/** The section's results (the JSON file's `multiHost`). */
export interface MultiHostResult {
  rounds: number;
  ping: StepResult;
  gateGrant: StepResult;
  gateSent: StepResult;
  renew64Leases: StepResult;
  /** A killed host's shards back on another host, per lease TTL. */
  failover: HostFailoverResult[];
}

/** Times `step` `rounds` times in a row; sorted ms. */
async function time(step: (round: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    await step(round);
    samples.push(performance.now() - start);
  }
  return samples.toSorted((a, b) => a - b);
}

/** Runs the section; undefined (with a notice) when redis-server is not installed. */
export async function runMultiHostSection(): Promise<MultiHostResult | undefined> {
  const missing = missingRedis();
  if (missing !== undefined) {
    console.log(`\n(skipped: ${missing})`);
    return undefined;
  }
  const redis = await launchRedis();
  try {
    const options = resolveCoordination({ redis: redis.socket, cluster: 'bench', hostId: 'bench' });
    // One bucket per round: every grant finds its bucket free, so each is one script.
    const coordination = await ClusterCoordination.open(
      options,
      {
        maxConcurrency: rounds,
        window: 60_000,
        budgetSeed: () => ({ remaining: 1e9, resetAfter: 1e8 }),
      },
      new QuietLogger(),
    );
    try {
      const { gate, connection } = coordination;
      const signal = new AbortController().signal;
      const leases = new BlockLeaseStore(connection, 'bench');
      const held: HeldLease[] = [];
      for (let block = 0; block < BLOCKS; block++) {
        const claimed = await leases.claim(block, 60_000);
        if (claimed.held) held.push({ block, epoch: claimed.epoch });
      }
      // Warm-up: the connection and the scripts' first compilations.
      await time(() => connection.client.call('PING'));
      const ping = await time(() => connection.client.call('PING'));
      const grant = await time((round) => gate.acquire(round, signal));
      const sent = await time((round) => gate.sent(round));
      const renew = await time(() => leases.renew(held, 60_000));
      const step = (samples: number[]): StepResult => ({
        p50Ms: round2(percentile(samples, 50) * 1000) / 1000,
        p99Ms: round2(percentile(samples, 99) * 1000) / 1000,
        vsPing: round2(percentile(samples, 50) / percentile(ping, 50)),
      });
      const failover: HostFailoverResult[] = [];
      for (const ttl of failoverTtls) failover.push(await measureHostFailover(redis.socket, ttl));
      const result: MultiHostResult = {
        rounds,
        ping: step(ping),
        gateGrant: step(grant),
        gateSent: step(sent),
        renew64Leases: step(renew),
        failover,
      };
      const row = (name: string, value: StepResult): string[] => [
        name,
        fixed(value.p50Ms * 1000, 0),
        fixed(value.p99Ms * 1000, 0),
        ratio(value.vsPing),
      ];
      console.log(
        `\n${rounds} rounds each, one after the other, on one connection to a local redis-server (Unix socket).\n\n` +
          markdown(
            ['step', 'p50 µs', 'p99 µs', 'p50 vs PING'],
            [
              row('PING (baseline)', result.ping),
              row('identify gate: grant', result.gateGrant),
              row('identify gate: IDENTIFY sent', result.gateSent),
              row(`renew ${BLOCKS} block leases`, result.renew64Leases),
            ],
          ) +
          '\n\nFailover: two hosts, 4 shards (one per block, max_concurrency 1); the first host and ' +
          'its instances SIGKILLed; the second host has 2 warm spares. From the kill to the last ' +
          'of its shards back (the bound: TTL + TTL / 3 for the survey + one RESUME).\n\n' +
          markdown(
            ['lease TTL ms', 'failover ms', 'failover / TTL', 'back by RESUME'],
            failover.map((run) => [
              String(run.leaseTtlMs),
              String(run.failoverMs),
              ratio(run.vsLeaseTtl),
              `${run.resumed}/${run.shards}`,
            ]),
          ),
      );
      return result;
    } finally {
      await coordination.close();
    }
  } finally {
    await redis.remove();
  }
}
