// Reads V8 CPU profiles (as written by `BENCH_CPU_PROF=1 npm run bench`) and prints where the time
// went: self and inclusive time per function (file:line function), and self time per module.
//
// Usage: node build/test/bench/profile-summary.js [--top N] [--window FROM:TO] <file.cpuprofile>...
// --window keeps the samples taken between two monotonic clock readings in µs (the profile's own
// clock, and `process.hrtime` in µs), such as the `timedWindow` of a fan-out result in
// build/bench-results.json: the timed rounds only, without the boot.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Time per key, in microseconds. */
type Tally = Map<string, number>;

/** What one profile spent, by function and by module. */
export interface ProfileSummary {
  /** All sampled time, µs. */
  totalUs: number;
  /** Time outside `(idle)`, µs. */
  busyUs: number;
  self: Tally;
  inclusive: Tally;
  modules: Tally;
}

const ROOT_URL = pathToFileURL(new URL('../../../', import.meta.url).pathname).href;

/** Summarizes one CPU profile; with `window` (µs, the profile's clock), only the samples in it. */
export function summarizeProfile(
  profile: CpuProfile,
  window?: { from: number; to: number },
): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  const self: Tally = new Map();
  const inclusive: Tally = new Map();
  const modules: Tally = new Map();
  let totalUs = 0;
  let busyUs = 0;
  const { samples, timeDeltas } = profile;
  let at = profile.startTime;
  for (let index = 0; index < samples.length; index++) {
    at += timeDeltas[index]!;
    if (window !== undefined && (at < window.from || at > window.to)) continue;
    // A sample lasts until the next one (DevTools' convention); the last until the profile's end.
    const duration =
      index + 1 < samples.length
        ? timeDeltas[index + 1]!
        : Math.max(0, profile.endTime - (profile.startTime + sum(timeDeltas)));
    const node = byId.get(samples[index]!)!;
    const key = keyOf(node);
    totalUs += duration;
    if (node.callFrame.functionName !== '(idle)') busyUs += duration;
    add(self, key, duration);
    add(modules, moduleOf(node), duration);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parentOf.get(id)) {
      const ancestor = keyOf(byId.get(id)!);
      if (seen.has(ancestor)) continue; // recursion counts once
      seen.add(ancestor);
      add(inclusive, ancestor, duration);
    }
  }
  return { totalUs, busyUs, self, inclusive, modules };
}

function keyOf(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '') return name;
  return `${shortUrl(url)}:${lineNumber + 1} ${name}`;
}

function moduleOf(node: ProfileNode): string {
  const url = node.callFrame.url;
  if (url === '') return node.callFrame.functionName; // (garbage collector), (program), (idle)
  if (url.startsWith('node:')) return 'node: (core)';
  const short = shortUrl(url);
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(short);
  if (packageMatch) return `node_modules/${packageMatch[1]}`;
  return short;
}

function shortUrl(url: string): string {
  return url.startsWith(ROOT_URL) ? url.slice(ROOT_URL.length) : url;
}

function add(tally: Tally, key: string, value: number): void {
  tally.set(key, (tally.get(key) ?? 0) + value);
}

function sum(values: number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

function ms(us: number): string {
  return (us / 1000).toFixed(1).padStart(8);
}

/** Prints the `top` entries of a summary's tallies, as ms and % of busy time. */
export function printSummary(name: string, summary: ProfileSummary, top: number): void {
  const pct = (us: number) => `${((us / summary.busyUs) * 100).toFixed(1).padStart(5)}%`;
  const print = (title: string, tally: Tally) => {
    console.log(`  ${title}`);
    const sorted = [...tally].toSorted((a, b) => b[1] - a[1]).slice(0, top);
    for (const [key, us] of sorted) console.log(`  ${ms(us)} ms ${pct(us)}  ${key}`);
  };
  console.log(
    `\n== ${name}: ${(summary.totalUs / 1000).toFixed(0)} ms sampled, ${(summary.busyUs / 1000).toFixed(0)} ms busy`,
  );
  print('self time by module', summary.modules);
  print('self time by function', summary.self);
  print('inclusive time by function', summary.inclusive);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let top = 25;
  let window: { from: number; to: number } | undefined;
  const files: string[] = [];
  for (let index = 0; index < args.length; index++) {
    if (args[index] === '--top') top = Number(args[++index]);
    else if (args[index] === '--window') {
      const [from, to] = args[++index]!.split(':').map(Number);
      window = { from: from!, to: to! };
    } else files.push(args[index]!);
  }
  if (files.length === 0) {
    console.error('usage: profile-summary.js [--top N] [--window FROM:TO] <file.cpuprofile>...');
    process.exitCode = 2;
    return;
  }
  for (const file of files) {
    const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    printSummary(basename(file), summarizeProfile(profile, window), top);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
