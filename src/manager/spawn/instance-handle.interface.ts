/** How an instance ended. */
export interface InstanceExit {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: string | null;
}

/** A running instance, whatever the mode. */
export interface InstanceHandle {
  /** The instance's pid (in worker mode, the manager's own). */
  readonly pid: number | undefined;
  /** Resolves once, when the instance has exited (or failed to start). */
  readonly exited: Promise<InstanceExit>;
  /** Asks the instance to stop (`SIGTERM`) or ends it (`SIGKILL`); a worker thread is terminated. */
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
}

/** What a spawner needs to start one instance. */
export interface SpawnRequest {
  /** The entry file. */
  file: string;
  /** Extra environment variables. */
  env: Record<string, string>;
  /** Extra Node options. */
  execArgv: string[];
  /** The manager's variables for this instance (SHARDING_*). */
  launch: Record<string, string>;
}

/** Starts one instance in some mode. */
export type InstanceSpawner = (request: SpawnRequest) => InstanceHandle;
