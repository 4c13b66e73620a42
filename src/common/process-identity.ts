import { readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { withoutUndefined } from './without-undefined.js';

/**
 * What tells a process apart from every other, including a later one that reuses its pid. On
 * Linux it holds the process's start time, the boot and the pid namespace; elsewhere only the
 * pid and the host, and a live pid is then taken for the same process.
 */
export interface ProcessIdentity {
  pid: number;
  host: string;
  /** Linux: the boot's id (`/proc/sys/kernel/random/boot_id`). */
  boot?: string;
  /** Linux: the pid namespace (`/proc/self/ns/pid`); pids of another one cannot be checked. */
  pidNamespace?: string;
  /** Linux: the start time, in clock ticks after boot (field 22 of `/proc/<pid>/stat`). */
  start?: string;
}

// What identifies this process does not change while it runs: read it once.
let own: Promise<ProcessIdentity> | undefined;

/** The identity of this process (shared by its worker threads, which have its pid). */
export function currentProcessIdentity(): Promise<ProcessIdentity> {
  own ??= Promise.all([
    readFile('/proc/sys/kernel/random/boot_id', 'utf8').then((id) => id.trim(), absent),
    readlink('/proc/self/ns/pid').catch(absent),
    readProcStat(process.pid),
  ]).then(([boot, pidNamespace, stat]) =>
    withoutUndefined<ProcessIdentity>({
      pid: process.pid,
      host: hostname(),
      boot,
      pidNamespace,
      start: stat?.start,
    }),
  );
  return own;
}

/**
 * Whether the process of `identity` has certainly ended: its pid is gone, or reused by another
 * process (another start time), or it ran before the last boot, or it is a zombie. Anything this
 * process cannot check (another host or pid namespace, no `/proc`) counts as not ended.
 */
export async function hasEnded(identity: ProcessIdentity): Promise<boolean> {
  const current = await currentProcessIdentity();
  if (identity.host !== current.host || identity.pidNamespace !== current.pidNamespace) {
    return false;
  }
  if (identity.boot !== undefined && current.boot !== undefined && identity.boot !== current.boot) {
    return true;
  }
  try {
    process.kill(identity.pid, 0);
  } catch (error) {
    // EPERM: the pid runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  if (identity.start === undefined) return false;
  const stat = await readProcStat(identity.pid);
  if (stat === undefined) return false;
  return stat.state === 'Z' || stat.start !== identity.start;
}

/** A {@link ProcessIdentity} from its JSON text, or `undefined` if the text is not one. */
export function parseProcessIdentity(text: string): ProcessIdentity | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { pid, host, boot, pidNamespace, start } = parsed as Record<string, unknown>;
  if (!Number.isSafeInteger(pid) || (pid as number) < 1 || typeof host !== 'string') {
    return undefined;
  }
  if (![boot, pidNamespace, start].every(isOptionalString)) return undefined;
  return parsed as ProcessIdentity;
}

function isOptionalString(value: unknown): boolean {
  return value === undefined || typeof value === 'string';
}

/** Fields of `/proc/<pid>/stat`, or `undefined` where there is no such file. */
async function readProcStat(pid: number): Promise<{ state: string; start: string } | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(absent);
  if (stat === undefined) return undefined;
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  // The fields after it start at field 3 (state); the start time is field 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [state, start] = [fields[0], fields[22 - 3]];
  return state === undefined || start === undefined ? undefined : { state, start };
}

function absent(): undefined {
  return undefined;
}
