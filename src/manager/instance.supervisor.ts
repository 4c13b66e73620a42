import type { Logger } from '@nestjs/common';
import type { Subject, Subscription } from 'rxjs';
import type { DispatchHandler } from '../dispatch/dispatch-context.interface.js';
import { IdentifyCancelledError } from '../discord/identify.queue.js';
import { IpcClient, type InstanceHeartbeat } from '../ipc/ipc.client.js';
import type { ResolvedShardingOptions } from '../options/resolve-options.js';
import { LibraryEvent } from '../protocol/protocol.constants.js';
import { SHARDING_ENV } from '../sharding.constants.js';
import type { SnowflakeService } from '../snowflake/snowflake.service.js';
import type {
  InstanceRestart,
  InstanceState,
  InstanceStatus,
  InstanceStatusChange,
} from './instance-state.js';
import { InstanceNotReadyError, InstanceUnavailableError } from './manager.errors.js';
import { RestartPolicy } from './restart-policy.js';
import type {
  InstanceExit,
  InstanceHandle,
  InstanceSpawner,
} from './spawn/instance-handle.interface.js';

/** What a supervisor shares with its manager. */
export interface SupervisorContext {
  managerId: string;
  socketRoot: string;
  totalShards: number;
  options: ResolvedShardingOptions;
  spawner: InstanceSpawner;
  snowflakes: SnowflakeService;
  logger: Logger;
  /** Handles the instance's dispatches other than CONNECTED. */
  dispatchHandler: (instance: number) => DispatchHandler;
  heartbeats: Subject<InstanceHeartbeat>;
  restarts: Subject<InstanceRestart>;
  statuses: Subject<InstanceStatusChange>;
}

/** One generation: a spawned instance and the link to it. */
interface Generation {
  number: number;
  instanceId: string;
  handle: InstanceHandle;
  client: IpcClient;
  subscriptions: Subscription[];
  readyTimer?: NodeJS.Timeout;
  /** Set once this generation failed or is being stopped: its later signals are ignored. */
  ending: boolean;
  /** The staged kill of this generation, once started. */
  ended?: Promise<void>;
  /**
   * Set when CONNECTED came. It can arrive in the same read as IDENTIFY, before the handshake
   * promise has settled, so it is remembered rather than checked against the state.
   */
  connected?: boolean;
  exit?: InstanceExit;
}

/**
 * Supervises one instance index across generations: spawns it, connects, waits for ready,
 * watches it, and on its death kills it in stages, waits for the exit and restarts it under the
 * restart policy. Signals of an old generation never act on a new one.
 */
export class InstanceSupervisor {
  private stateValue: InstanceState = 'idle';
  private current: Generation | undefined;
  private generationCount = 0;
  private readonly policy: RestartPolicy;
  private restartTimer: NodeJS.Timeout | undefined;
  private cycle: Promise<void> | undefined;
  private stopped = false;
  private lastHeartbeat: (InstanceHeartbeat & { at: number }) | undefined;
  private lastExit: (InstanceExit & { reason: string }) | undefined;
  private restartsInWindow = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly instance: number,
    readonly shards: number[],
    private readonly context: SupervisorContext,
  ) {
    this.policy = new RestartPolicy(context.options.restart);
  }

  /** The current state. */
  get state(): InstanceState {
    return this.stateValue;
  }

  /** The link to the current generation, once spawned. */
  get client(): IpcClient | undefined {
    return this.current?.client;
  }

  /** A snapshot of this instance. */
  status(): InstanceStatus {
    const status: InstanceStatus = {
      instance: this.instance,
      state: this.stateValue,
      generation: this.generationCount,
      shards: [...this.shards],
      restarts: this.restartsInWindow,
    };
    if (this.current !== undefined) {
      status.instanceId = this.current.instanceId;
      if (this.current.handle.pid !== undefined) status.pid = this.current.handle.pid;
    }
    if (this.lastHeartbeat !== undefined) status.lastHeartbeat = this.lastHeartbeat;
    if (this.lastExit !== undefined) status.lastExit = this.lastExit;
    return status;
  }

  /** Spawns the first generation. */
  start(): void {
    if (this.stateValue !== 'idle') return;
    this.spawn();
  }

  /**
   * Replaces the instance now (staged kill, then respawn without backoff). Idempotent: while a
   * replacement is under way, the same promise is returned. Resolves when the new generation is
   * spawned; use {@link whenReady} to wait for it to be ready.
   */
  restart(reason = 'manual restart'): Promise<void> {
    if (this.stopped)
      return Promise.reject(new InstanceUnavailableError(this.instance, this.stateValue));
    if (this.cycle !== undefined) return this.cycle;
    this.policy.reset();
    this.restartsInWindow = 0;
    this.cycle = (async () => {
      clearTimeout(this.restartTimer);
      // If the generation is already being ended (it failed), wait for that same end: the
      // replacement never starts while its predecessor may still run.
      if (this.current !== undefined) await this.endGeneration(this.current, reason, true);
      if (!this.stopped) this.spawn();
    })().finally(() => {
      this.cycle = undefined;
    });
    return this.cycle;
  }

  /** Stops the instance for good (staged kill); no restart follows. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    if (this.current !== undefined) await this.endGeneration(this.current, 'shutdown', true);
    this.transition('exited', 'shutdown');
    this.wakeWaiters();
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

  private spawn(): void {
    const { options, snowflakes, managerId, socketRoot } = this.context;
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
    const client = new IpcClient({
      managerId,
      instanceId,
      instance: this.instance,
      shards: this.shards,
      totalShards: this.context.totalShards,
      socketRoot,
      helloInterval: options.helloInterval,
      helloTimeout: options.helloTimeout,
      heartbeatInterval: options.heartbeatInterval,
      missedHeartbeats: options.missedHeartbeats,
      requestTimeout: options.requestTimeout,
      logger: this.context.logger,
      // Defined below, with the generation it needs; called only after connect().
      dispatchHandler: (data, dispatch) => dispatchHandler(data, dispatch),
    });
    const generation: Generation = {
      number,
      instanceId,
      handle,
      client,
      subscriptions: [],
      ending: false,
    };
    this.current = generation;
    const forward = this.context.dispatchHandler(this.instance);
    const dispatchHandler: DispatchHandler = (data, dispatch) => {
      // A generation being ended gets no IDENTIFY slot: one granted to it would be burnt, or let
      // a zombie IDENTIFY beside its replacement.
      if (generation.ending && dispatch.event === LibraryEvent.IDENTIFY_SLOT) {
        throw new IdentifyCancelledError((data as { shardId?: number } | null)?.shardId ?? -1);
      }
      // CONNECTED marks the instance ready, and still reaches @OnDispatch('CONNECTED') handlers.
      if (dispatch.event === LibraryEvent.CONNECTED) this.onConnected(generation);
      return forward(data, dispatch);
    };
    generation.subscriptions.push(
      client.heartbeat$.subscribe((heartbeat) => {
        this.lastHeartbeat = { ...heartbeat, at: Date.now() };
        this.context.heartbeats.next(heartbeat);
      }),
      client.lost$.subscribe(
        ({ reason }) => void this.fail(generation, reason, reason !== 'heartbeat-timeout'),
      ),
    );
    void handle.exited.then((exit) => {
      generation.exit = exit;
      void this.fail(generation, describeExit(exit), false);
    });
    this.transition('connecting');
    client.connect().then(
      () => this.onIdentified(generation),
      (error: Error) => void this.fail(generation, `handshake failed: ${error.message}`, false),
    );
  }

  private onIdentified(generation: Generation): void {
    if (generation !== this.current || generation.ending) return;
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
          true,
        ),
      this.context.options.readyTimeout,
    );
  }

  private onConnected(generation: Generation): void {
    if (generation !== this.current || generation.ending || generation.connected === true) return;
    generation.connected = true;
    clearTimeout(generation.readyTimer);
    if (this.stateValue === 'identified') this.transition('ready');
  }

  /** A generation died or misbehaved: end it, then restart under the policy. */
  private async fail(generation: Generation, reason: string, graceful: boolean): Promise<void> {
    if (
      generation !== this.current ||
      generation.ending ||
      this.stopped ||
      this.cycle !== undefined
    ) {
      return;
    }
    this.context.logger.warn(
      `Instance ${this.instance} (generation ${generation.number}) failed: ${reason}`,
    );
    await this.endGeneration(generation, reason, graceful);
    // A manual restart or a stop took over meanwhile: it decides what comes next.
    if (this.stopped || this.cycle !== undefined || generation !== this.current) return;
    const decision = this.policy.next();
    this.restartsInWindow = decision.attempt;
    if (decision.giveUp) {
      this.context.logger.error(
        `Instance ${this.instance} gave up: more than ${this.context.options.restart.maxRestarts} restarts ` +
          `within ${this.context.options.restart.window} ms. Last failure: ${reason}`,
      );
      this.transition('gave-up', reason);
      return;
    }
    this.context.restarts.next({
      instance: this.instance,
      generation: generation.number,
      reason,
      attempt: decision.attempt,
      delay: decision.delay,
    });
    this.transition('restarting', reason);
    this.restartTimer = setTimeout(() => {
      if (!this.stopped && this.cycle === undefined) this.spawn();
    }, decision.delay);
  }

  /**
   * Staged kill of a generation: DESTROYING (when `graceful` and the link is up), SIGTERM,
   * SIGKILL, each stage waiting up to `killGrace` for the exit; then closes its link. Runs once
   * per generation: later calls get the same promise.
   */
  private endGeneration(generation: Generation, reason: string, graceful: boolean): Promise<void> {
    generation.ended ??= this.killInStages(generation, reason, graceful);
    return generation.ended;
  }

  private async killInStages(
    generation: Generation,
    reason: string,
    graceful: boolean,
  ): Promise<void> {
    generation.ending = true;
    clearTimeout(generation.readyTimer);
    this.transition('stopping', reason);
    const grace = this.context.options.killGrace;
    const { client, handle } = generation;
    const destroying = graceful && client.state === 'identified';
    if (destroying) {
      client.request(LibraryEvent.DESTROYING, { reason }, { timeout: grace }).catch(() => {
        // The exit (or the next stage) is what counts.
      });
    }
    if (!(await exitsWithin(handle, destroying ? grace : 0))) {
      handle.kill('SIGTERM');
      if (!(await exitsWithin(handle, grace))) {
        handle.kill('SIGKILL');
        await handle.exited;
      }
    }
    for (const subscription of generation.subscriptions) subscription.unsubscribe();
    await client.close();
    const exit = await handle.exited;
    this.lastExit = { ...exit, reason };
    this.transition('exited', reason);
  }

  private transition(to: InstanceState, reason?: string): void {
    const from = this.stateValue;
    if (from === to) return;
    this.stateValue = to;
    const change: InstanceStatusChange = {
      instance: this.instance,
      generation: this.generationCount,
      from,
      to,
      at: Date.now(),
    };
    if (reason !== undefined) change.reason = reason;
    this.context.statuses.next(change);
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
