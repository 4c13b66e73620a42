// The `status-page` section of `npm run bench`: what the status page costs the manager. One
// manager process (status-page-manager.fixture.ts: 32 shards in 8 instances, heartbeats every
// second) runs with its page on; its CPU time (/proc, all its threads) is read over windows with
// no page open and with one page open (one client streaming /events, as a browser tab does),
// alternating, same fleet, same run. The figure: CPU per second with the page open over without.
//
// Environment (all optional): BENCH_STATUS_PAGE_SHARDS (32), BENCH_STATUS_PAGE_PER_INSTANCE (4),
// BENCH_STATUS_PAGE_WINDOW (10000 ms), BENCH_STATUS_PAGE_ROUNDS (3 of each).
import { get, type ClientRequest } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { forkBenchChild, nextMessage, stopChild } from './bench-processes.js';
import { processCpuTime } from './proc-stats.js';
import { envInteger, fixed, markdown, ratio, round2 } from './report-format.js';
import { median } from './stats.js';

/** The section's figures. */
export interface StatusPageBenchResult {
  shards: number;
  windowMs: number;
  rounds: number;
  /** Manager CPU, in ms per second of wall time (median of the rounds). */
  closedCpuMsPerSecond: number;
  openCpuMsPerSecond: number;
  /** open / closed. */
  ratio: number;
  /** What the open page received, in bytes per second (median). */
  streamBytesPerSecond: number;
}

/** Measures one window: the manager's CPU ms per wall second, and the bytes a page received. */
async function window(
  pid: number,
  url: string | undefined,
  ms: number,
): Promise<{ cpu: number; bytes: number }> {
  let bytes = 0;
  let request: ClientRequest | undefined;
  if (url !== undefined) {
    request = get(new URL('events', url));
    await new Promise<void>((resolve, reject) => {
      request!.once('error', reject);
      request!.once('response', (response) => {
        response.on('data', (chunk: Buffer) => (bytes += chunk.length));
        // The snapshot is the page's opening cost: wait for it before the window starts.
        response.once('data', () => resolve());
      });
    });
    bytes = 0;
  }
  const cpuStart = processCpuTime(pid);
  const start = performance.now();
  await delay(ms);
  const elapsed = performance.now() - start;
  const cpu = (processCpuTime(pid) - cpuStart) / 1000 / (elapsed / 1000);
  request?.destroy();
  return { cpu, bytes: bytes / (elapsed / 1000) };
}

/** Runs the section and prints its table. */
export async function runStatusPageSection(): Promise<StatusPageBenchResult> {
  const shards = envInteger('BENCH_STATUS_PAGE_SHARDS', 32);
  const windowMs = envInteger('BENCH_STATUS_PAGE_WINDOW', 10_000);
  const rounds = envInteger('BENCH_STATUS_PAGE_ROUNDS', 3);
  const child = forkBenchChild('status-page-manager.fixture', {});
  try {
    const { path: url } = await nextMessage(child, 'listening', 180_000);
    console.error(`status page at ${url}; settling`);
    await delay(3_000);
    const closed: number[] = [];
    const open: number[] = [];
    const streamed: number[] = [];
    for (let round = 0; round < rounds; round++) {
      closed.push((await window(child.pid!, undefined, windowMs)).cpu);
      const withPage = await window(child.pid!, url, windowMs);
      open.push(withPage.cpu);
      streamed.push(withPage.bytes);
      console.error(
        `round ${round + 1}: closed ${fixed(closed.at(-1)!)} ms/s, open ${fixed(withPage.cpu)} ms/s`,
      );
    }
    const result: StatusPageBenchResult = {
      shards,
      windowMs,
      rounds,
      closedCpuMsPerSecond: round2(median(closed)),
      openCpuMsPerSecond: round2(median(open)),
      ratio: round2(median(open) / median(closed)),
      streamBytesPerSecond: Math.round(median(streamed)),
    };
    console.log(
      `\nManager CPU with the status page closed and open (one client on /events), ${shards} ` +
        `shards, heartbeats every second, ${rounds} alternating windows of ${windowMs / 1000} s:\n`,
    );
    console.log(
      markdown(
        ['page', 'manager CPU (ms per s)', 'streamed (KiB/s)', 'vs closed'],
        [
          ['closed', fixed(result.closedCpuMsPerSecond), '–', ratio(1)],
          [
            'open',
            fixed(result.openCpuMsPerSecond),
            fixed(result.streamBytesPerSecond / 1024),
            ratio(result.ratio),
          ],
        ],
      ),
    );
    return result;
  } finally {
    child.kill('SIGTERM');
    await stopChild(child, 5_000);
  }
}
