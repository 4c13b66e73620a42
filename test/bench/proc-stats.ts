// Resident set sizes and CPU times of processes, from /proc (Linux).
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { median } from './stats.js';

/** What /proc/<pid>/status says about a process's memory, in bytes. */
export interface Memory {
  /** VmRSS: every resident page, shared ones (the node binary, libraries) included. */
  rss: number;
  /** RssAnon: resident anonymous pages (heaps, stacks): this process's own. */
  anon: number;
}

/** VmRSS and RssAnon of a process. */
export function readMemory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (match === null) throw new Error(`no ${name} for pid ${pid}`);
    return Number(match[1]) * 1024;
  };
  return { rss: field('VmRSS'), anon: field('RssAnon') };
}

/** The median of `samples` readings of each pid, 100 ms apart (each field on its own). */
export async function sampleMemory(pids: number[], samples: number): Promise<Memory[]> {
  const readings = pids.map((): Memory[] => []);
  for (let sample = 0; sample < samples; sample++) {
    if (sample > 0) await delay(100);
    pids.forEach((pid, index) => readings[index]!.push(readMemory(pid)));
  }
  return readings.map((values) => ({
    rss: median(values.map((value) => value.rss)),
    anon: median(values.map((value) => value.anon)),
  }));
}

/**
 * CPU time a process has run so far, all its threads together, in µs, from the scheduler's
 * nanosecond counters (`/proc/<pid>/task/<tid>/schedstat`); NaN where they are missing.
 */
export function processCpuTime(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    return ns / 1000;
  } catch {
    return Number.NaN;
  }
}
