import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import cluster from 'node:cluster';
import { EMPTY, type Observable } from 'rxjs';
import type { ShardSession } from '../discord/session-info.interface.js';
import { DispatchRegistry } from '../dispatch/dispatch.registry.js';
import type { LinkLossReason } from '../ipc/ipc.errors.js';
import { NoHelloError } from './instance.errors.js';
import { IpcServer, type InstanceContext } from '../ipc/ipc.server.js';
import type { RelayOptions, RequestOptions } from '../ipc/packet-channel.js';
import { WrongRoleError } from '../manager/manager.errors.js';
import type { ResolvedShardingOptions } from '../options/resolve-options.js';
import type { ShardingRole } from '../options/sharding-options.interface.js';
import { readInstanceLaunch } from '../options/sharding-role.js';
import { LibraryEvent } from '../protocol/protocol.constants.js';
import { RESOLVED_SHARDING_OPTIONS, SHARDING_ROLE } from '../sharding.module-definition.js';

/**
 * Longest wait for an IDENTIFY slot, in ms: a fleet of thousands of shards at one IDENTIFY per
 * 5 s takes hours to start, and the wait must still end some day.
 */
const IDENTIFY_WAIT_LIMIT = 6 * 60 * 60 * 1000;

/** Something that can be closed gracefully: a Nest application or application context. */
export interface ClosableApplication {
  close(): Promise<void>;
}

/**
 * The instance's side of the fleet: its context (shards, total, ids), messaging with the manager
 * and, through it, other instances, readiness, and the exit when the manager says DESTROYING or
 * is lost. Provided by `ShardingModule` in both roles; in the manager role it is inert and its
 * calls throw {@link WrongRoleError}.
 */
@Injectable()
export class ShardingInstance implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** The IPC server of this instance (undefined in the manager role). */
  readonly server: IpcServer | undefined;

  private readonly logger = new Logger(ShardingInstance.name);
  private starting: Promise<InstanceContext> | undefined;
  private application: ClosableApplication | undefined;
  private readied = false;
  private readonly sessionUpdates = new Map<number, ShardSession | null>();
  private sessionFlushScheduled = false;
  private exiting = false;

  /** Emits the reason each time the manager is lost (never in the manager role). */
  readonly managerLost$: Observable<LinkLossReason>;

  constructor(
    @Inject(RESOLVED_SHARDING_OPTIONS) private readonly options: ResolvedShardingOptions,
    @Inject(SHARDING_ROLE) private readonly role: ShardingRole,
    private readonly registry: DispatchRegistry,
  ) {
    if (role !== 'instance') {
      this.server = undefined;
      this.managerLost$ = EMPTY;
      return;
    }
    const launch = readInstanceLaunch();
    // In a cluster worker whose primary died, Node's own cluster messages (sent when a server
    // closes) fail with EPIPE on the worker object; the loss itself is handled as manager lost.
    cluster.worker?.on('error', (error: Error) =>
      this.logger.debug(`Cluster channel error after the manager was lost: ${error.message}`),
    );
    this.server = new IpcServer({
      ...launch,
      missedHeartbeats: options.missedHeartbeats,
      requestTimeout: options.requestTimeout,
      dispatchHandler: (data, context) => {
        if (context.event === LibraryEvent.DESTROYING) {
          // Answer at once, so the manager knows it was heard; let @OnDispatch('DESTROYING')
          // handlers clean up (the manager's killGrace bounds them), then stop.
          const cleanUp = this.registry.has(LibraryEvent.DESTROYING)
            ? this.registry.handle(data, { ...context, isRequest: false })
            : Promise.resolve();
          void Promise.resolve(cleanUp)
            .catch(() => undefined) // the registry has logged it
            .then(() => this.exit());
          return true;
        }
        return this.registry.handle(data, context);
      },
    });
    // The server only reports the loss; this instance owns the decision, and the process exit.
    this.server.managerLost$.subscribe((reason) => {
      if (options.onManagerLost === 'continue') {
        this.logger.warn(`Lost the manager (${reason}); running on autonomously, as configured.`);
        return;
      }
      this.logger.warn(`Lost the manager (${reason}); exiting, as configured.`);
      void this.exit();
    });
    this.managerLost$ = this.server.managerLost$;
  }

  /** The instance context, once the manager's HELLO came (undefined before, and in the manager role). */
  get context(): InstanceContext | undefined {
    return this.server?.context;
  }

  /**
   * Serves the instance's socket and resolves with the context when the manager's HELLO comes.
   * Runs once; `ShardingModule` calls it while the application initialises.
   */
  async start(): Promise<InstanceContext> {
    const server = this.requireServer('start()');
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
    const server = this.requireServer('ready()');
    if (this.readied) return;
    this.readied = true;
    server.send(LibraryEvent.CONNECTED, { shards: this.context?.shards ?? [] });
  }

  /** Sends an event to the manager, or with `options.to` through it to other instances. */
  send(event: string, data?: unknown, options?: RelayOptions): void {
    this.requireServer('send()').send(event, data, options);
  }

  /**
   * Sends a request to the manager, or with `options.to` to other instances through it. A single
   * target (`{ shard }`, `{ guild }`) resolves with its reply; `'all'` or a list of indexes
   * resolves with one settled result per instance.
   */
  async request<T = unknown>(
    event: string,
    data?: unknown,
    options?: RequestOptions & RelayOptions,
  ): Promise<T> {
    return this.requireServer('request()').request<T>(event, data, options);
  }

  /**
   * Resolves when the manager grants `shardId` an IDENTIFY slot (one per bucket per window
   * across the whole fleet). With `signal`, the wait can be cancelled: it then rejects with the
   * signal's reason and the manager drops the request.
   */
  async waitForIdentify(shardId: number, signal?: AbortSignal): Promise<void> {
    const server = this.requireServer('waitForIdentify()');
    signal?.throwIfAborted();
    const granted = server.request(
      LibraryEvent.IDENTIFY_SLOT,
      { shardId },
      { timeout: IDENTIFY_WAIT_LIMIT },
    );
    if (signal === undefined) {
      await granted;
      return;
    }
    const aborted = new Promise<never>((_, reject) => {
      signal.addEventListener(
        'abort',
        () => {
          try {
            server.send(LibraryEvent.IDENTIFY_CANCEL, { shardId });
          } catch {
            // No manager: nothing waits there either.
          }
          reject(signal.reason);
        },
        { once: true },
      );
    });
    granted.catch(() => undefined);
    await Promise.race([granted, aborted]);
  }

  /** The last gateway session the manager knows for `shardId` (null when none), for RESUME. */
  async retrieveSession(shardId: number): Promise<ShardSession | null> {
    return this.requireServer('retrieveSession()').request<ShardSession | null>(
      LibraryEvent.SESSION_GET,
      { shardId },
    );
  }

  /**
   * Tells the manager a shard's session changed (null: it ended), so a restarted instance can
   * RESUME. Updates are coalesced per shard within one event-loop turn.
   */
  updateSession(shardId: number, session: ShardSession | null): void {
    const server = this.requireServer('updateSession()');
    this.sessionUpdates.set(shardId, session);
    if (this.sessionFlushScheduled) return;
    this.sessionFlushScheduled = true;
    setImmediate(() => {
      this.sessionFlushScheduled = false;
      const updates = [...this.sessionUpdates];
      this.sessionUpdates.clear();
      // Shutting down (or the manager is gone): the manager keeps what it had; a RESUME of an
      // ended session is refused by Discord and the client IDENTIFYs instead.
      if (server.state !== 'identified') return;
      for (const [id, update] of updates) {
        try {
          server.send(LibraryEvent.SESSION_UPDATE, { shardId: id, session: update });
        } catch (error) {
          this.logger.warn(
            `Could not report the session of shard ${id}: ${(error as Error).message}`,
          );
        }
      }
    });
  }

  /** Reports ready when the application has bootstrapped (`readyWhen: 'bootstrap'`). */
  async onApplicationBootstrap(): Promise<void> {
    if (this.role !== 'instance') return;
    await this.start();
    if (this.options.readyWhen === 'bootstrap') this.ready();
  }

  /** Closes the IPC server when the application closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.server?.close();
  }

  private async exit(): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    try {
      if (this.application !== undefined) await this.application.close();
      else await this.server?.close();
    } catch (error) {
      this.logger.error(
        `Closing the application failed: ${(error as Error).message}`,
        (error as Error).stack,
      );
      process.exitCode = 1;
    }
    process.exit();
  }

  private requireServer(api: string): IpcServer {
    if (this.server === undefined) throw new WrongRoleError(`ShardingInstance.${api}`, this.role);
    return this.server;
  }
}
