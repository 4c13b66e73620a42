import { Subject } from 'rxjs';
import type { Logger } from '@nestjs/common';
import type {
  InstanceHeartbeat,
  InstanceStatusChange,
  IpcClientState,
  LinkLossReason,
} from '../../src/index.js';
import { SnowflakeService } from '../../src/index.js';
import {
  InstanceSupervisor,
  type SupervisorContext,
} from '../../src/manager/instance.supervisor.js';
import type {
  InstanceExit,
  InstanceHandle,
} from '../../src/manager/spawn/instance-handle.interface.js';
import type {
  LinkLaunch,
  SupervisedLink,
} from '../../src/manager/spawn/supervised-link.interface.js';

type Signal = 'SIGTERM' | 'SIGKILL';

/**
 * A spawned instance without a process: records the signals it gets and exits of those it
 * obeys (a hung process obeys SIGKILL only).
 */
export class FakeHandle implements InstanceHandle {
  readonly pid: number;
  readonly signals: Signal[] = [];
  readonly exited: Promise<InstanceExit>;
  private settle!: (exit: InstanceExit) => void;
  private done = false;

  constructor(
    pid: number,
    private readonly obeys: readonly Signal[],
  ) {
    this.pid = pid;
    this.exited = new Promise((resolve) => (this.settle = resolve));
  }

  kill(signal: Signal): void {
    this.signals.push(signal);
    if (this.obeys.includes(signal)) this.exit({ code: null, signal });
  }

  /** Ends it (once) with this exit. */
  exit(exit: InstanceExit): void {
    if (this.done) return;
    this.done = true;
    this.settle(exit);
  }
}

/** A link without sockets: the test plays the instance's side of the handshake and heartbeats. */
export class FakeLink implements SupervisedLink {
  state: IpcClientState = 'idle';
  readonly requests: string[] = [];
  /** The data of each request, in order. */
  readonly requestData: unknown[] = [];
  private readonly heartbeats = new Subject<InstanceHeartbeat>();
  private readonly losses = new Subject<{ reason: LinkLossReason }>();
  readonly heartbeat$ = this.heartbeats.asObservable();
  readonly lost$ = this.losses.asObservable();
  private handshake: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(readonly launch: LinkLaunch) {}

  connect(): Promise<unknown> {
    this.state = 'connecting';
    return new Promise<void>((resolve, reject) => (this.handshake = { resolve, reject }));
  }

  /** The instance answers HELLO with IDENTIFY, and CONNECTED unless `connected` is false. */
  identify({ connected = true } = {}): void {
    this.state = 'identified';
    this.handshake?.resolve();
    if (connected) this.dispatch('CONNECTED');
  }

  /** The handshake fails (hello timeout, invalid session). */
  refuse(error: Error): void {
    this.state = 'closed';
    this.handshake?.reject(error);
  }

  /** The instance sends a dispatch. */
  dispatch(event: string, data: unknown = null): unknown {
    return this.launch.dispatchHandler(data, {
      event,
      from: this.launch.instance,
      eventId: '1',
      isRequest: false,
    });
  }

  /** The manager's side notices the link is gone. */
  lose(reason: LinkLossReason): void {
    this.state = 'lost';
    this.losses.next({ reason });
  }

  request<T>(event: string, data?: unknown): Promise<T> {
    this.requests.push(event);
    this.requestData.push(data);
    return new Promise<T>(() => {
      // A fake instance never answers: its exit is what counts.
    });
  }

  async close(): Promise<void> {
    this.state = 'closed';
    this.heartbeats.complete();
    this.losses.complete();
  }
}

/** A supervisor of instance 0 driven by fakes, with what it did. */
export interface FakeSupervision {
  supervisor: InstanceSupervisor<FakeLink>;
  /** Every generation's handle and link, in spawn order. */
  handles: FakeHandle[];
  links: FakeLink[];
  changes: InstanceStatusChange[];
  warnings: string[];
  errors: string[];
  /** The states `status$` went through, in order. */
  states(): string[];
}

/**
 * Builds a supervisor over fake handles and links: no process, socket or real timer. `obeys` is
 * what each spawned handle dies of (default SIGTERM and SIGKILL). Restarts have no jitter.
 */
export function superviseFakes(
  options: Partial<Omit<SupervisorContext<FakeLink>['options'], 'restart'>> & {
    restart?: Partial<SupervisorContext<FakeLink>['options']['restart']>;
  } = {},
  obeys: readonly Signal[] = ['SIGTERM', 'SIGKILL'],
): FakeSupervision {
  const handles: FakeHandle[] = [];
  const links: FakeLink[] = [];
  const warnings: string[] = [];
  const errors: string[] = [];
  const changes: InstanceStatusChange[] = [];
  const logger = {
    warn: (message: string) => warnings.push(message),
    error: (message: string) => errors.push(message),
  } as unknown as Logger;
  const supervisor = new InstanceSupervisor<FakeLink>(0, [0, 1], {
    managerId: '1',
    socketRoot: '/nowhere',
    totalShards: 2,
    options: {
      file: 'instance.js',
      env: {},
      execArgv: [],
      readyTimeout: 60_000,
      killGrace: 5_000,
      ...options,
      restart: {
        initialDelay: 1_000,
        maxDelay: 60_000,
        multiplier: 2,
        jitter: 0,
        maxRestarts: 5,
        window: 600_000,
        ...options.restart,
      },
    },
    spawner: () => {
      const handle = new FakeHandle(1000 + handles.length, obeys);
      handles.push(handle);
      return handle;
    },
    connect: (launch) => {
      const link = new FakeLink(launch);
      links.push(link);
      return link;
    },
    snowflakes: new SnowflakeService(),
    logger,
    dispatchHandler: () => () => undefined,
  });
  supervisor.status$.subscribe((change) => changes.push(change));
  return {
    supervisor,
    handles,
    links,
    changes,
    warnings,
    errors,
    states: () => changes.map((change) => change.to),
  };
}
