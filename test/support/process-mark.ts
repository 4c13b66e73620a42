import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { defer } from './cleanup.js';
import { isAlive } from './processes.js';
import { waitUntil } from './wait.js';

const MARK = 'NESTJS_SHARDING_TEST_MARK';

/**
 * A mark for a process tree the test does not spawn itself (a manager's instances): an
 * environment variable that every process started with `env` inherits, found again in
 * `/proc/<pid>/environ` (Linux only). Whatever still carries it after the test is SIGKILLed.
 */
export function processMark() {
  const value = randomUUID();
  const needle = `${MARK}=${value}\0`;
  const pids = (): number[] => {
    if (process.platform !== 'linux') return [];
    const found: number[] = [];
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isSafeInteger(pid) || pid === process.pid) continue;
      try {
        if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(needle) && isAlive(pid)) {
          found.push(pid);
        }
      } catch {
        // Gone while we looked, or not ours to read.
      }
    }
    return found;
  };
  defer(async () => {
    for (const pid of pids()) process.kill(pid, 'SIGKILL');
    await waitUntil(() => pids().length === 0, 10_000, 'marked processes outlived SIGKILL');
  });
  return {
    /** The environment to start the marked tree with: this process's, plus the mark. */
    env: (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
      ...process.env,
      ...extra,
      [MARK]: value,
    }),
    /** The running processes that carry the mark. */
    pids,
  };
}
