/**
 * Why the manager asked this instance to stop (its DESTROYING), as shutdown steps see it.
 */
export interface InstanceShutdown {
  /** The cause the manager gave (free text: `manual restart`, `shutdown`, ...). */
  reason: string;
  /**
   * Whether a new generation of this instance takes its shards over (a restart, or a replacement
   * after a failure): then their gateway sessions are worth keeping resumable. False when the
   * fleet shuts down or this instance's place in it ends (a reshard retiring the old fleet), and
   * when the manager did not say (a manager of an earlier version).
   */
  replaced: boolean;
}

/**
 * A step of the instance's shutdown when the manager asked for it (DESTROYING): it runs after
 * the `@OnDispatch('DESTROYING')` handlers and before the application closes, so it sees every
 * provider still alive. Registered with `ShardingInstance.onShutdown()`; the `@discordjs/ws`
 * adapter's `attach(manager)` registers one.
 */
export type ShutdownStep = (shutdown: InstanceShutdown) => unknown;

/** Reads a DESTROYING payload (`{ reason, replaced }`); anything missing reads as not replaced. */
export function readShutdown(data: unknown): InstanceShutdown {
  const payload = (typeof data === 'object' && data !== null ? data : {}) as {
    reason?: unknown;
    replaced?: unknown;
  };
  return {
    reason: typeof payload.reason === 'string' ? payload.reason : 'unknown',
    replaced: payload.replaced === true,
  };
}
