import type { Logger } from '@nestjs/common';
import { Subject, type Observable, type Subscription } from 'rxjs';
import type { DispatchContext, DispatchHandler } from '../dispatch/dispatch-context.interface.js';
import { IdentifyCancelledError } from '../errors/identify.errors.js';
import type { InstanceHeartbeat, IpcClient } from '../ipc/ipc.client.js';
import type { ResolvedShardingOptions } from '../options/resolve-options.js';
import { LibraryEvent } from '../protocol/protocol.constants.js';
import { SHARDING_ENV } from '../sharding.constants.js';
import type { SnowflakeService } from '../snowflake/snowflake.service.js';
import { IllegalTransitionError } from './illegal-transition.error.js';
import {
  INSTANCE_TRANSITIONS,
  type InstanceRestart,
  type InstanceState,
  type InstanceStatus,
  type InstanceStatusChange,
} from './instance-state.js';
import { InstanceNotReadyError, InstanceUnavailableError } from './manager.errors.js';
import { RestartPolicy } from './restart-policy.js';
import type {
  InstanceExit,
  InstanceHandle,
  InstanceSpawner,
} from './spawn/instance-handle.interface.js';
import type { LinkConnector, SupervisedLink } from './spawn/supervised-link.interface.js';

/** What the manager's dispatch handling reads of the supervisor an instance's dispatch came through. */
export interface SupervisedInstance {
  readonly instance: number;
  /** The shards it runs now: library events about other shards are refused. */
  readonly shards: readonly number[];
}

/** What a supervisor shares with its manager. */
export interface SupervisorContext<Link extends SupervisedLink = IpcClient> {
  managerId: string;
  socketRoot: string;
  totalShards: number;
  options: Pick<
    ResolvedShardingOptions,
    'file' | 'env' | 'execArgv' | 'readyTimeout' | 'killGrace' | 'restart'
  >;
  /** Starts a generation's process, thread or cluster worker. */
  spawner: InstanceSpawner;
  /** Makes the link to a generation (an `IpcClient`, or a fake in unit tests). */
  connect: LinkConnector<Link>;
  snowflakes: Pick<SnowflakeService, 'generate'>;
  logger: Pick<Logger, 'warn' | 'error'>;
  /**
   * Handles the instance's dispatches other than CONNECTED; told which supervisor asks, since two
   * of one instance index run side by side while one replaces the other.
   */
  dispatchHandler: (supervisor: SupervisedInstance) => DispatchHandler;
}

/**
 * How a generation is ended: `graceful` asks it first (DESTROYING), then SIGTERM, then SIGKILL;
 * `terminate` starts at SIGTERM; `kill` sends SIGKILL at once, for an instance that cannot act on
 * anything else (missed heartbeats: it is stopped or its event loop is stuck).
 */
type KillMode = 'graceful' | 'terminate' | 'kill';

/** The end of one generation, and who decides what follows it. */
interface Ending {
  /**
   * `failure`: the restart policy; `restart`: a `restart()` call (it spawns at once); `stop`:
   * nothing follows. A `restart()` or `stop()` during a failure's kill takes the decision over.
   */
  by: 'failure' | 'restart' | 'stop';
  /** The staged kill, settled once the generation has exited and its link is closed. */
  done: Promise<EndReport>;
}

/** How a generation ended, as `restart$`, `status$` and the logs report it. */
interface EndReport {
  /** The exit, described: `exited (signal SIGKILL)`, `exited (code 1)`. */
  reason: string;
  /** The first thing noticed (a link loss, a failed handshake, the exit itself, a restart). */
  cause: string;
  exit: InstanceExit;
}

/** One generation: a spawned instance and the link to it. */
interface Generation<Link extends SupervisedLink> {
  number: number;
  instanceId: string;
  handle: InstanceHandle;
  link: Link;
  subscriptions: Subscription[];
  readyTimer?: NodeJS.Timeout;
  /** Set once this generation failed or is being stopped: its later signals are ignored. */
  ending?: Ending;
  /**
   * Set when CONNECTED came. It can arrive in the same read as IDENTIFY, before the handshake
   * promise has settled, so it is remembered rather than checked against the state.
   */
  connected?: boolean;
  /** Whether it said, with CONNECTED, that it applies RESTRUCTURING. */
  restructurable?: boolean;
}

/**
 * Supervises one instance index across generations: spawns it, connects, waits for ready,
 * watches it, and on its death kills it in stages, waits for the exit and restarts it under the
 * restart policy. Signals of an old generation never act on a new one.
 */
export class InstanceSupervisor<Link extends SupervisedLink = IpcClient> {
  private stateValue: InstanceState = 'idle';
  private current: Generation<Link> | undefined;
  private generationCount = 0;
  private readonly policy: RestartPolicy;
  private restartTimer: NodeJS.Timeout | undefined;
  private cycle: Promise<void> | undefined;
  private stopped = false;
  private lastHeartbeat: InstanceHeartbeat | undefined;
  /** When {@link lastHeartbeat} came (ms since the Unix epoch). */
  private lastHeartbeatAt = 0;
  private lastExit: InstanceStatus['lastExit'];
  private restartsInWindow = 0;
  private readonly waiters = new Set<() => void>();
  private readonly heartbeats = new Subject<InstanceHeartbeat>();
  private readonly restarts = new Subject<InstanceRestart>();
  private readonly statuses = new Subject<InstanceStatusChange>();

  /** Every heartbeat of this instance; completes on {@link stop}. */
  readonly heartbeat$: Observable<InstanceHeartbeat> = this.heartbeats.asObservable();
  /** Every restart about to happen; completes on {@link stop}. */
  readonly restart$: Observable<InstanceRestart> = this.restarts.asObservable();
  /** Every state transition; completes on {@link stop}. */
  readonly status$: Observable<InstanceStatusChange> = this.statuses.asObservable();

  /**
   * @param generationsBefore generations of this instance index that ran before this supervisor
   *   (under one it replaces): its first generation is numbered after them.
   */
  constructor(
    readonly instance: number,
    private shardSet: number[],
    private readonly context: SupervisorContext<Link>,
    generationsBefore = 0,
  ) {
    this.policy = new RestartPolicy(context.options.restart);
    this.generationCount = generationsBefore;
  }

  /** The shard ids this instance runs (the next generation's HELLO carries them). */
  get shards(): readonly number[] {
    return this.shardSet;
  }

  /**
   * Records a new shard set (after RESTRUCTURING, or to hand the next generation other shards).
   * The running generation is not told: the manager sends it RESTRUCTURING itself.
   */
  assignShards(shards: readonly number[]): void {
    this.shardSet = shards.toSorted((a, b) => a - b);
  }

  /**
   * Whether the current generation applies RESTRUCTURING (it said so when ready): its shards can
   * be handed over with their sessions. False before it is ready.
   */
  get restructurable(): boolean {
    return this.current?.restructurable === true;
  }

  /** The current state. */
  get state(): InstanceState {
    return this.stateValue;
  }

  /** The link to the current generation, once spawned. */
  get client(): Link | undefined {
    return this.current?.link;
  }

  /** A snapshot of this instance. */
  status(): InstanceStatus {
    const status: InstanceStatus = {
      instance: this.instance,
      state: this.stateValue,
      generation: this.generationCount,
      shards: [...this.shardSet],
      restarts: this.restartsInWindow,
    };
    if (this.current !== undefined) {
      status.instanceId = this.current.instanceId;
      if (this.current.handle.pid !== undefined) status.pid = this.current.handle.pid;
    }
    if (this.lastHeartbeat !== undefined)
      status.lastHeartbeat = { ...this.lastHeartbeat, at: this.lastHeartbeatAt };
    if (this.lastExit !== undefined) status.lastExit = this.lastExit;
    return status;
  }

  /** Spawns the first generation. */
  start(): void {
    if (this.stateValue !== 'idle') return;
    this.spawn();
  }

  /**
   * Replaces the instance now (staged kill, then respawn without backoff) and resolves when the
   * new generation is ready. Rejects with {@link InstanceUnavailableError} if it is given up or
   * stopped meanwhile, or {@link InstanceNotReadyError} if it is not ready within `readyTimeout`
   * of its spawn. Idempotent: while a replacement is under way, the same promise is returned.
   */
  restart(cause = 'manual restart'): Promise<void> {
    if (this.stopped)
      return Promise.reject(new InstanceUnavailableError(this.instance, this.stateValue));
    this.cycle ??= this.replace(cause).finally(() => {
      this.cycle = undefined;
    });
    return this.cycle;
  }

  /**
   * Like {@link restart}, but ends the current generation with SIGKILL at once, even one whose
   * staged kill is already under way: for shards that must stop by a deadline (a lost lease),
   * where waiting out `killGrace` could let them run past it.
   */
  kill(cause: string): Promise<void> {
    const generation = this.current;
    if (generation !== undefined && generation.ending === undefined) {
      void this.endGeneration(generation, cause, 'kill', 'restart');
    } else {
      generation?.handle.kill('SIGKILL');
    }
    return this.restart(cause);
  }

  /** Stops the instance for good (staged kill); no restart follows. Completes the streams. */
  async stop(cause = 'shutdown'): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    if (this.current !== undefined)
      await this.endGeneration(this.current, cause, 'graceful', 'stop');
    this.transition('exited', { reason: cause, cause });
    this.wakeWaiters();
    this.heartbeats.complete();
    this.restarts.complete();
    this.statuses.complete();
  }

  /**
   * Resolves when the instance is ready. Rejects with {@link InstanceNotReadyError} after
   * `timeout` ms, or {@link InstanceUnavailableError} if it is given up or stopped meanwhile.
   */
  whenReady(timeout: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.stateValue === 'ready') {
          resolve();
          return true;
        }
        if (this.stateValue === 'gave-up' || this.stopped) {
          reject(new InstanceUnavailableError(this.instance, this.stateValue));
          return true;
        }
        return false;
      };
      if (check()) return;
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new InstanceNotReadyError(this.instance, this.stateValue, timeout));
      }, timeout);
      this.waiters.add(waiter);
    });
  }

  private async replace(cause: string): Promise<void> {
    this.policy.reset();
    this.restartsInWindow = 0;
    clearTimeout(this.restartTimer);
    // If the generation is already being ended (it failed), wait for that same end: the
    // replacement never starts while its predecessor may still run.
    if (this.current !== undefined)
      await this.endGeneration(this.current, cause, 'graceful', 'restart');
    if (this.stopped) throw new InstanceUnavailableError(this.instance, this.stateValue);
    this.spawn();
    // Should the new generation fail, the restart policy takes it from there; this waits for
    // whichever generation gets ready, or for the instance to be given up or stopped.
    await this.whenReady(this.context.options.readyTimeout);
  }

  /**
   * Whether signals of `generation` may still act: it is the current one and nothing (a
   * failure, `restart()` or `stop()`) is ending it.
   */
  private acts(generation: Generation<Link>): boolean {
    return generation === this.current && generation.ending === undefined;
  }

  private spawn(): void {
    const { options, snowflakes, managerId, socketRoot, totalShards } = this.context;
    const number = ++this.generationCount;
    const instanceId = snowflakes.generate(this.instance);
    this.transition('spawning');
    const handle = this.context.spawner({
      file: options.file,
      env: options.env,
      execArgv: options.execArgv,
      launch: {
        [SHARDING_ENV.MANAGER_ID]: managerId,
        [SHARDING_ENV.INSTANCE_ID]: instanceId,
        [SHARDING_ENV.INSTANCE]: String(this.instance),
        [SHARDING_ENV.SOCKET_ROOT]: socketRoot,
      },
    });
    const forward = this.context.dispatchHandler(this);
    const link = this.context.connect({
      managerId,
      instanceId,
      instance: this.instance,
      shards: [...this.shardSet],
      totalShards,
      socketRoot,
      // Shards handed over change hands while the link lives: its heartbeats are checked against
      // the set in force.
      ownsShard: (shardId) => this.shardSet.includes(shardId),
      dispatchHandler: (data, dispatch) => this.onDispatch(generation, forward, data, dispatch),
    });
    const generation: Generation<Link> = { number, instanceId, handle, link, subscriptions: [] };
    this.current = generation;
    generation.subscriptions.push(
      link.heartbeat$.subscribe((heartbeat) => {
        // Kept as it came, with its arrival time beside it: status() makes the copy, not each heartbeat.
        this.lastHeartbeat = heartbeat;
        this.lastHeartbeatAt = Date.now();
        this.heartbeats.next(heartbeat);
      }),
      link.lost$.subscribe(
        ({ reason }) =>
          void this.fail(generation, reason, reason === 'heartbeat-timeout' ? 'kill' : 'graceful'),
      ),
    );
    void handle.exited.then((exit) => void this.fail(generation, describeExit(exit), 'terminate'));
    this.transition('connecting');
    link.connect().then(
      () => this.onIdentified(generation),
      (error: Error) =>
        void this.fail(generation, `handshake failed: ${error.message}`, 'terminate'),
    );
  }

  private onDispatch(
    generation: Generation<Link>,
    forward: DispatchHandler,
    data: unknown,
    dispatch: DispatchContext,
  ): unknown {
    // A generation being ended gets no IDENTIFY slot: one granted to it would be burnt, or let
    // a zombie IDENTIFY beside its replacement.
    if (generation.ending !== undefined && dispatch.event === LibraryEvent.IDENTIFY_SLOT) {
      throw new IdentifyCancelledError((data as { shardId?: number } | null)?.shardId ?? -1);
    }
    // CONNECTED marks the instance ready, and still reaches @OnDispatch('CONNECTED') handlers.
    if (dispatch.event === LibraryEvent.CONNECTED) this.onConnected(generation, data);
    return forward(data, dispatch);
  }

  private onIdentified(generation: Generation<Link>): void {
    if (!this.acts(generation)) return;
    this.transition('identified');
    if (generation.connected === true) {
      this.transition('ready');
      return;
    }
    generation.readyTimer = setTimeout(
      () =>
        void this.fail(
          generation,
          `not ready within ${this.context.options.readyTimeout} ms`,
          'graceful',
        ),
      this.context.options.readyTimeout,
    );
  }

  private onConnected(generation: Generation<Link>, data: unknown): void {
    if (!this.acts(generation) || generation.connected === true) return;
    generation.connected = true;
    generation.restructurable = (data as { restructure?: unknown } | null)?.restructure === true;
    clearTimeout(generation.readyTimer);
    if (this.stateValue === 'identified') this.transition('ready');
  }

  /**
   * A generation died or misbehaved (`cause` is what was noticed first): end it, then restart
   * under the policy. The report names the exit, known by then, and the cause.
   */
  private async fail(generation: Generation<Link>, cause: string, mode: KillMode): Promise<void> {
    if (!this.acts(generation)) return;
    const end = await this.endGeneration(generation, cause, mode, 'failure');
    // A restart() or stop() took over meanwhile: it decides what comes next.
    if (generation.ending?.by !== 'failure') return;
    const decision = this.policy.next();
    this.restartsInWindow = decision.attempt;
    const what =
      end.cause === end.reason ? end.reason : `${end.reason} (first noticed: ${end.cause})`;
    if (decision.giveUp) {
      this.context.logger.error(
        `Instance ${this.instance} gave up: more than ${this.context.options.restart.maxRestarts} restarts ` +
          `within ${this.context.options.restart.window} ms. Last failure: generation ${generation.number} ${what}.`,
      );
      this.transition('gave-up', end);
      return;
    }
    this.context.logger.warn(
      `Instance ${this.instance} (generation ${generation.number}) ${what}; ` +
        `restart ${decision.attempt} in ${decision.delay} ms.`,
    );
    this.restarts.next({
      instance: this.instance,
      generation: generation.number,
      ...end,
      attempt: decision.attempt,
      delay: decision.delay,
    });
    this.transition('restarting', end);
    this.restartTimer = setTimeout(() => {
      if (this.stateValue === 'restarting') this.spawn();
    }, decision.delay);
  }

  /**
   * Staged kill of a generation (see {@link KillMode}), each stage waiting up to `killGrace` for
   * the exit; then closes its link. Runs once per generation: later calls get the same promise,
   * and a `restart()` or `stop()` takes over the decision of what follows.
   */
  private endGeneration(
    generation: Generation<Link>,
    cause: string,
    mode: KillMode,
    by: Ending['by'],
  ): Promise<EndReport> {
    if (generation.ending !== undefined) {
      if (by === 'stop' || (by === 'restart' && generation.ending.by === 'failure'))
        generation.ending.by = by;
      return generation.ending.done;
    }
    // Marked before the kill starts: the `stopping` transition below already reaches listeners.
    const ending = { by } as Ending;
    generation.ending = ending;
    ending.done = this.killInStages(generation, cause, mode);
    return ending.done;
  }

  private async killInStages(
    generation: Generation<Link>,
    cause: string,
    mode: KillMode,
  ): Promise<EndReport> {
    clearTimeout(generation.readyTimer);
    this.transition('stopping', { reason: cause, cause });
    const grace = this.context.options.killGrace;
    const { link, handle } = generation;
    const destroying = mode === 'graceful' && link.state === 'identified';
    if (destroying) {
      // `replaced`: a new generation takes the shards over, so the instance may keep their
      // gateway sessions resumable (the @discordjs/ws adapter closes them with 4200 then).
      const replaced = generation.ending?.by !== 'stop';
      const data = { reason: cause, replaced };
      link.request(LibraryEvent.DESTROYING, data, { timeout: grace }).catch(() => {
        // The exit (or the next stage) is what counts.
      });
    }
    if (mode === 'kill') {
      // Waiting for a hung instance's cooperation would only delay its replacement by killGrace.
      handle.kill('SIGKILL');
      await handle.exited;
    } else if (!(await exitsWithin(handle, destroying ? grace : 0))) {
      handle.kill('SIGTERM');
      if (!(await exitsWithin(handle, grace))) {
        handle.kill('SIGKILL');
        await handle.exited;
      }
    }
    for (const subscription of generation.subscriptions) subscription.unsubscribe();
    await link.close();
    const exit = await handle.exited;
    const end: EndReport = { reason: describeExit(exit), cause, exit };
    this.lastExit = { ...exit, reason: end.reason, cause };
    this.transition('exited', end);
    return end;
  }

  /** Moves to `to` if {@link INSTANCE_TRANSITIONS} allows it; anything else is a bug and throws. */
  private transition(
    to: InstanceState,
    why: Pick<InstanceStatusChange, 'reason' | 'cause' | 'exit'> = {},
  ): void {
    const from = this.stateValue;
    if (from === to) return;
    if (!INSTANCE_TRANSITIONS[from].includes(to))
      throw new IllegalTransitionError(this.instance, from, to);
    this.stateValue = to;
    const change: InstanceStatusChange = {
      instance: this.instance,
      generation: this.generationCount,
      from,
      to,
      at: Date.now(),
    };
    if (why.reason !== undefined) change.reason = why.reason;
    if (why.cause !== undefined) change.cause = why.cause;
    if (why.exit !== undefined) change.exit = why.exit;
    this.statuses.next(change);
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    for (const waiter of Array.from(this.waiters)) waiter();
  }
}

/** Whether the instance exits within `ms`. */
function exitsWithin(handle: InstanceHandle, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void handle.exited.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function describeExit(exit: InstanceExit): string {
  return exit.signal !== null ? `exited (signal ${exit.signal})` : `exited (code ${exit.code})`;
}
