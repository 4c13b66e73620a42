import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import cluster from 'node:cluster';
import { Subject, type Observable } from 'rxjs';
import { DispatchRegistry } from '../dispatch/dispatch.registry.js';
import type { LinkLossReason } from '../ipc/ipc.errors.js';
import { NoHelloError } from './instance.errors.js';
import { ManagerLeaseWatch } from './manager-lease.watch.js';
import type { ShardStatusUpdate } from '../ipc/shard-status.board.js';
import { instanceLogContext } from '../runtime/instance-log-context.js';
import { readShutdown, type ShutdownStep } from './instance-shutdown.js';
import { IpcServer, type InstanceContext } from '../ipc/ipc.server.js';
import type { RelayOptions, RequestOptions } from '../ipc/packet-channel.js';
import type { ResolvedShardingOptions } from '../options/resolve-options.js';
import { readInstanceLaunch } from '../runtime/process-role.js';
import { LibraryEvent } from '../protocol/protocol.constants.js';
import type { RelayedInstanceResult } from '../protocol/relayed-result.types.js';
import type { RestructureReply } from '../protocol/restructure.types.js';
import type { DispatchContext } from '../dispatch/dispatch-context.interface.js';
import {
  readRestructure,
  RestructureUnsupportedError,
  type InstanceRestructure,
  type RestructureApplier,
} from './instance-restructure.js';
import { RESOLVED_SHARDING_OPTIONS } from '../options/options.constants.js';

/** Something that can be closed gracefully: a Nest application or application context. */
export interface ClosableApplication {
  close(): Promise<void>;
}

/**
 * The instance's side of the fleet: its context (shards, total, ids), messaging with the manager
 * and, through it, other instances, readiness, and the exit when the manager says DESTROYING or
 * is lost. Provided by `ShardingModule` in the instance role (in the manager, using it throws
 * `WrongRoleError`).
 */
@Injectable()
export class ShardingInstance implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** The IPC server of this instance. */
  readonly server: IpcServer;

  private readonly logger: Logger;
  private starting: Promise<InstanceContext> | undefined;
  private application: ClosableApplication | undefined;
  private readied = false;
  private exiting = false;
  private applier: RestructureApplier | undefined;
  /** RESTRUCTURINGs run one after the other. */
  private restructuring: Promise<unknown> = Promise.resolve();
  private readonly restructures = new Subject<InstanceRestructure>();
  private readonly shutdownSteps = new Set<ShutdownStep>();
  /** With `coordination`: whether the manager's leases may have run out. */
  private readonly leaseWatch: ManagerLeaseWatch;
  /** Set while this instance's shards are closed for want of its manager (coordination). */
  private suspended = false;

  /** Emits the reason each time the manager is lost. */
  readonly managerLost$: Observable<LinkLossReason>;
  /** Every new shard set this instance has applied (RESTRUCTURING), once applied. */
  readonly restructure$: Observable<InstanceRestructure> = this.restructures.asObservable();

  constructor(
    @Inject(RESOLVED_SHARDING_OPTIONS) private readonly options: ResolvedShardingOptions,
    private readonly registry: DispatchRegistry,
  ) {
    const launch = readInstanceLaunch();
    this.logger = new Logger(instanceLogContext(ShardingInstance.name));
    // In a cluster worker whose primary died, Node's own cluster messages (sent when a server
    // closes) fail with EPIPE on the worker object; the loss itself is handled as manager lost.
    cluster.worker?.on('error', (error: Error) =>
      this.logger.debug(`Cluster channel error after the manager was lost: ${error.message}`),
    );
    this.server = new IpcServer({
      ...launch,
      missedHeartbeats: options.missedHeartbeats,
      requestTimeout: options.requestTimeout,
      logger: new Logger(instanceLogContext(IpcServer.name)),
      dispatchHandler: (data, context) => {
        if (context.event === LibraryEvent.DESTROYING) {
          // Answer at once, so the manager knows it was heard; let @OnDispatch('DESTROYING')
          // handlers clean up (the manager's killGrace bounds them), then stop.
          const cleanUp = this.registry.has(LibraryEvent.DESTROYING)
            ? this.registry.handle(data, { ...context, isRequest: false })
            : Promise.resolve();
          void Promise.resolve(cleanUp)
            .catch(() => undefined) // the registry has logged it
            .then(() => this.runShutdownSteps(data))
            .then(() => this.exit());
          return true;
        }
        if (context.event === LibraryEvent.RESTRUCTURING) return this.restructure(data, context);
        return this.registry.run(data, context);
      },
    });
    // The server only reports the loss; this instance owns the decision, and the process exit.
    this.server.managerLost$.subscribe((reason) => {
      // With coordination another host may take these shards soon: they close resumably first,
      // whatever becomes of the process.
      void this.suspendShards(`lost the manager (${reason})`).then(() => {
        if (options.onManagerLost === 'continue') {
          this.logger.warn(`Lost the manager (${reason}); running on autonomously, as configured.`);
          return;
        }
        this.logger.warn(`Lost the manager (${reason}); exiting, as configured.`);
        void this.exit();
      });
    });
    this.leaseWatch = new ManagerLeaseWatch(this.server, {
      lapse: () => void this.suspendShards('no word from the manager within its lease bound'),
      // Its shards are closed but the manager still counts them as running here: a new
      // generation of this instance, started by the manager, runs them again if it still
      // holds them (a manager that lost them has restructured this instance already).
      back: () => {
        if (!this.suspended) return;
        this.logger.warn('The manager is back; exiting so that it restarts this instance.');
        void this.exit();
      },
    });
    void this.server.whenIdentified().then((context) => {
      if (context.leaseTtl !== undefined) this.leaseWatch.start(context.leaseTtl);
    });
    this.managerLost$ = this.server.managerLost$;
  }

  /** The instance context, once the manager's HELLO came (undefined before). */
  get context(): InstanceContext | undefined {
    return this.server.context;
  }

  /**
   * Serves the instance's socket and resolves with the context when the manager's HELLO comes.
   * Runs once; `ShardingModule` calls it while the application initialises.
   */
  async start(): Promise<InstanceContext> {
    const server = this.server;
    this.starting ??= server.listen().then(
      () =>
        new Promise<InstanceContext>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new NoHelloError(this.options.helloTimeout)),
            this.options.helloTimeout,
          );
          void server.whenIdentified().then((context) => {
            clearTimeout(timer);
            resolve(context);
          });
        }),
    );
    return this.starting;
  }

  /**
   * Lets the exit (on DESTROYING, or when the manager is lost under `onManagerLost: 'exit'`)
   * close the application gracefully before the process or thread ends.
   */
  attach(application: ClosableApplication): void {
    this.application = application;
  }

  /** Sends CONNECTED: the instance is ready. Automatic at bootstrap unless `readyWhen: 'manual'`. */
  ready(): void {
    if (this.readied) return;
    this.readied = true;
    // Whether its shards can be handed over with their sessions: the manager picks how to
    // replace it gracefully from this.
    const restructure = this.applier !== undefined || this.registry.has(LibraryEvent.RESTRUCTURING);
    this.server.send(LibraryEvent.CONNECTED, { shards: this.context?.shards ?? [], restructure });
  }

  /** Sends an event to the manager, or with `options.to` through it to other instances. */
  send(event: string, data?: unknown, options?: RelayOptions): void {
    this.server.send(event, data, options);
  }

  /**
   * Sends a request to the manager, or with `options.to` through it to other instances. Without
   * `to`, or with a single target (`{ shard }`, `{ guild }`), it resolves with the reply; with
   * `'all'` or a list of indexes, with one settled result per instance (partial results are
   * normal). Rejects on timeout (default `requestTimeout`), at once when the manager is lost, or
   * with the handler's error.
   */
  request<T = unknown>(
    event: string,
    data?: unknown,
    options?: RequestOptions & { to?: { shard: number } | { guild: string } },
  ): Promise<T>;
  request<T = unknown>(
    event: string,
    data: unknown,
    options: RequestOptions & { to: 'all' | number[] },
  ): Promise<RelayedInstanceResult<T>[]>;
  request(
    event: string,
    data?: unknown,
    options?: RequestOptions & RelayOptions,
  ): Promise<unknown> {
    return this.server.request(event, data, options);
  }

  /**
   * Reports the gateway state of one of this instance's shards (its connection state, ping, guild
   * count; fields left out keep their value). It reaches the manager with the next heartbeat:
   * `status()[i].lastHeartbeat.shards`, the metrics and the health check. The gateway adapters
   * report by themselves; call it for any other gateway client.
   */
  reportShard(shardId: number, update: ShardStatusUpdate): void {
    this.server.shardStatus.report(shardId, update);
  }

  /**
   * Registers what applies a new shard set to this instance's gateway connections when the
   * manager sends RESTRUCTURING (the `@discordjs/ws` adapter's `attach(manager)` does it). One at
   * a time: a later registration replaces the earlier one. Returns a function that removes it.
   */
  onRestructure(applier: RestructureApplier): () => void {
    this.applier = applier;
    return () => {
      if (this.applier === applier) this.applier = undefined;
    };
  }

  /**
   * Registers a step of the shutdown the manager asks for (DESTROYING): steps run, in
   * registration order, after the `@OnDispatch('DESTROYING')` handlers and before the
   * application closes (the manager's `killGrace` bounds them all). A failing step is logged and
   * the next one runs. Not run when the instance stops for another reason (its manager lost, the
   * application closed by other code). Returns a function that removes the step.
   */
  onShutdown(step: ShutdownStep): () => void {
    this.shutdownSteps.add(step);
    return () => this.shutdownSteps.delete(step);
  }

  /**
   * Reports ready when the application has bootstrapped (`readyWhen: 'bootstrap'`), and always
   * when the instance has no shards (a new generation started to take over a running one's
   * shards: there is nothing else to wait for).
   */
  async onApplicationBootstrap(): Promise<void> {
    const context = await this.start();
    if (this.options.readyWhen === 'bootstrap' || context.shards.length === 0) this.ready();
  }

  /** Closes the IPC server when the application closes, and completes `restructure$`. */
  async beforeApplicationShutdown(): Promise<void> {
    this.leaseWatch.stop();
    await this.server.close();
    this.restructures.complete();
  }

  /**
   * Applies RESTRUCTURING: the registered applier changes the gateway connections, then
   * `@OnDispatch('RESTRUCTURING')` handlers run (or do the applying themselves), then the context
   * shows the new set and `restructure$` emits. The reply carries the released shards' sessions.
   */
  private restructure(data: unknown, context: DispatchContext): Promise<RestructureReply> {
    const run = this.restructuring.then(async (): Promise<RestructureReply> => {
      const current = this.server.context;
      const plan = readRestructure(data, current?.shards ?? []);
      const handled = this.registry.has(LibraryEvent.RESTRUCTURING);
      if (this.applier === undefined && !handled) throw new RestructureUnsupportedError();
      const released = this.applier === undefined ? new Map() : await this.applier(plan);
      if (handled) await this.registry.handle(data, { ...context, isRequest: true });
      this.server.updateShards(plan.shards, plan.totalShards);
      // The manager has said which shards run here now.
      this.suspended = false;
      this.logger.log(
        `Restructured: shards ${plan.previousShards.join(', ') || 'none'} → ${
          plan.shards.join(', ') || 'none'
        } of ${plan.totalShards}.`,
      );
      this.restructures.next({ ...plan, released });
      return { shards: [...plan.shards], released: Object.fromEntries(released) };
    });
    this.restructuring = run.catch(() => undefined);
    return run;
  }

  private async runShutdownSteps(data: unknown): Promise<void> {
    const shutdown = readShutdown(data);
    for (const step of this.shutdownSteps) {
      try {
        await step(shutdown);
      } catch (error) {
        this.logger.error(
          `A shutdown step failed: ${(error as Error).message}`,
          (error as Error).stack,
        );
      }
    }
  }

  /**
   * With `coordination` only: closes this instance's shards resumably (as for a handover, never
   * with 1000), because its manager may no longer hold their leases. Its context keeps them:
   * they are the manager's to move. Once per suspension; nothing without an applier.
   */
  private suspendShards(why: string): Promise<void> {
    const context = this.server.context;
    const applier = this.applier;
    if (
      this.suspended ||
      this.exiting ||
      context?.leaseTtl === undefined ||
      context.shards.length === 0
    ) {
      return Promise.resolve();
    }
    if (applier === undefined) {
      this.logger.error(
        `${why}, but nothing can close shard(s) ${context.shards.join(', ')} resumably: ` +
          'attach the @discordjs/ws adapter so that another host can take them safely.',
      );
      return Promise.resolve();
    }
    this.suspended = true;
    this.logger.warn(`${why}: closing shard(s) ${context.shards.join(', ')} resumably.`);
    const run = this.restructuring.then(() =>
      applier({
        shards: [],
        totalShards: context.totalShards,
        previousShards: [...context.shards],
        sessions: new Map(),
      }),
    );
    this.restructuring = run.catch(() => undefined);
    return run.then(
      () => undefined,
      (error: Error) => this.logger.error(`Closing the shards failed: ${error.message}`),
    );
  }

  private async exit(): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    this.leaseWatch.stop();
    try {
      if (this.application !== undefined) await this.application.close();
      else await this.server.close();
    } catch (error) {
      this.logger.error(
        `Closing the application failed: ${(error as Error).message}`,
        (error as Error).stack,
      );
      process.exitCode = 1;
    }
    process.exit();
  }
}
