import type { InstanceHeartbeat } from '../ipc/ipc.client.js';
import type { InstanceExit } from './spawn/instance-handle.interface.js';

/**
 * The life of one instance, as its supervisor sees it (the transitions are exactly
 * {@link INSTANCE_TRANSITIONS}):
 * - `idle` → `spawning` (start or `restart()`), or → `exited` (stopped before it started);
 * - `spawning` → `connecting` (HELLO until IDENTIFY) → `identified` → `ready` (it sent CONNECTED);
 * - from `spawning`, `connecting`, `identified` or `ready` → `stopping` on death, `restart()` or
 *   `stop()` (the staged kill) → `exited` once the exit is known;
 * - `exited` → `restarting` (backoff) → `spawning`; or `exited` → `gave-up` when the restart limit
 *   is reached; or `exited` → `spawning` at once for `restart()`;
 * - `restarting` and `gave-up` → `spawning` for `restart()`, or → `exited` for `stop()`.
 *
 * `exited` is also the end after `stop()` (the manager's `shutdown()`).
 */
export type InstanceState =
  | 'idle'
  | 'spawning'
  | 'connecting'
  | 'identified'
  | 'ready'
  | 'stopping'
  | 'exited'
  | 'restarting'
  | 'gave-up';

/**
 * The allowed transitions of {@link InstanceState}: the supervisor refuses any other (a bug,
 * reported with `IllegalTransitionError`).
 */
export const INSTANCE_TRANSITIONS: Readonly<Record<InstanceState, readonly InstanceState[]>> = {
  idle: ['spawning', 'exited'],
  spawning: ['connecting', 'stopping'],
  connecting: ['identified', 'stopping'],
  identified: ['ready', 'stopping'],
  ready: ['stopping'],
  stopping: ['exited'],
  exited: ['restarting', 'gave-up', 'spawning'],
  restarting: ['spawning', 'exited'],
  'gave-up': ['spawning', 'exited'],
};

/** One state transition of one instance (the items of `ShardingManager.status$`). */
export interface InstanceStatusChange {
  instance: number;
  /** The spawn generation the transition belongs to (from 1). */
  generation: number;
  from: InstanceState;
  to: InstanceState;
  /**
   * Why. On `exited`, `restarting` and `gave-up`: how the generation ended, e.g.
   * `exited (signal SIGKILL)` or `exited (code 1)`; on `stopping` (the exit is not known yet): the
   * {@link cause}.
   */
  reason?: string;
  /**
   * The first thing noticed that ended the generation: `socket-closed`, `heartbeat-timeout`,
   * `protocol-error`, `handshake failed: …`, `not ready within … ms`, the exit itself, or
   * `manual restart` / `shutdown`. Set on `stopping`, `exited`, `restarting` and `gave-up`.
   */
  cause?: string;
  /** The exit code and signal, on `exited`, `restarting` and `gave-up` after a generation ended. */
  exit?: InstanceExit;
  /** When, in ms since the Unix epoch. */
  at: number;
}

/** A restart about to happen (the items of `ShardingManager.restart$`). */
export interface InstanceRestart {
  instance: number;
  /** The generation that died. */
  generation: number;
  /** How the generation ended: `exited (signal SIGKILL)`, `exited (code 1)`. */
  reason: string;
  /** The first thing noticed: `socket-closed`, `heartbeat-timeout`, `handshake failed: …`, the exit. */
  cause: string;
  /** The exit code and signal. */
  exit: InstanceExit;
  /** Restarts within the current window, this one included. */
  attempt: number;
  /** Backoff before the respawn, in ms. */
  delay: number;
}

/** A snapshot of one instance (the items of `ShardingManager.status()`). */
export interface InstanceStatus {
  instance: number;
  state: InstanceState;
  generation: number;
  /** The shard ids it runs. */
  shards: number[];
  /** The host it runs on (`coordination.hostId`); absent without `coordination`. */
  hostId?: string;
  /** Its pid (in worker mode, the manager's). */
  pid?: number;
  /** Its snowflake (socket name) in the current generation. */
  instanceId?: string;
  /** The latest heartbeat. */
  lastHeartbeat?: InstanceHeartbeat & { at: number };
  /** How the previous generation ended: the exit, described (`reason`), and the first `cause` noticed. */
  lastExit?: InstanceExit & { reason: string; cause: string };
  /** Restarts within the current window. */
  restarts: number;
}
