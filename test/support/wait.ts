import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls `condition` until it holds, for what has no event to await (another process's death
 * seen from outside its parent). Fails with `message` after `deadline` ms.
 */
export async function waitUntil(
  condition: () => boolean,
  deadline: number,
  message: string,
): Promise<void> {
  const end = Date.now() + deadline;
  while (!condition()) {
    if (Date.now() > end) throw new Error(message);
    await delay(20);
  }
}
