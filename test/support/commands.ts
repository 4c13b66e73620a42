import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { defer } from './cleanup.js';

/** How a command ended, with its interleaved stdout and stderr. */
export interface CommandResult {
  code: number | null;
  signal: string | null;
  output: string;
}

/**
 * Runs a command in its own process group and resolves when it ends, whatever its exit code.
 * The group (the command and everything it started) is killed after the current test, and when
 * `timeout` ms pass first.
 */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number },
): Promise<CommandResult> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  // After the command ends its group may still hold processes it started; a group id is only
  // reused once all of them are gone, so killing it then is safe.
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // The group has ended.
    }
  };
  defer(killGroup);
  const timer = setTimeout(killGroup, options.timeout ?? 110_000);
  try {
    const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
    return { code, signal, output: Buffer.concat(chunks).toString('utf8') };
  } finally {
    clearTimeout(timer);
  }
}

/** The end of a command's output, for an assertion message. */
export function outputTail(result: CommandResult, lines = 40): string {
  return result.output.trimEnd().split('\n').slice(-lines).join('\n');
}
