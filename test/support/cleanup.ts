import { killAll } from './processes.js';

const tasks: Array<() => unknown> = [];

/** Registers a cleanup to run after the current test, pass or fail (last registered first). */
export function defer(task: () => unknown): void {
  tasks.push(task);
}

/** Runs the registered cleanups, then kills any child still alive. Use in `afterEach`. */
export async function cleanUp(): Promise<void> {
  while (tasks.length > 0) {
    const task = tasks.pop()!;
    try {
      await task();
    } catch (error) {
      console.error('cleanup failed:', error);
    }
  }
  await killAll();
}
