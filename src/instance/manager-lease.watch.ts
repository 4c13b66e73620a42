import { performance } from 'node:perf_hooks';
import type { Subscription } from 'rxjs';
import { INSTANCE_LEASE_FRACTION } from '../protocol/lease-deadline.constants.js';
import type { IpcServer } from '../ipc/ipc.server.js';

/** What a {@link ManagerLeaseWatch} reports. */
export interface ManagerLeaseEvents {
  /** No heartbeat sent within the bound was acknowledged: the manager's leases may be running out. */
  lapse(): void;
  /** The first acknowledgement after a lapse: the manager is alive again. */
  back(): void;
}

/**
 * With `coordination`: watches the manager's acknowledgements of this instance's heartbeats,
 * and reports a lapse once no heartbeat sent within the last `leaseTtl / 3` was acknowledged.
 * The acknowledgement of a heartbeat proves the manager was alive after the heartbeat left, and
 * a live manager holds its leases at least half the TTL ahead (it gives them up otherwise), so
 * a lapse comes at least a sixth of the TTL before another host can take this instance's
 * shards. Only this process's monotonic clock is read (`performance.now()`).
 */
export class ManagerLeaseWatch {
  private timer: NodeJS.Timeout | undefined;
  private acks: Subscription | undefined;
  private lapsed = false;

  constructor(
    private readonly server: IpcServer,
    private readonly events: ManagerLeaseEvents,
  ) {}

  /** Starts watching with the manager's lease TTL, in ms (once; later calls do nothing). */
  start(leaseTtl: number): void {
    if (this.acks !== undefined) return;
    const bound = leaseTtl * INSTANCE_LEASE_FRACTION;
    // HELLO just came: the manager was alive a moment ago.
    this.arm(performance.now(), bound);
    this.acks = this.server.heartbeatAck$.subscribe(({ roundTrip }) => {
      this.arm(performance.now() - roundTrip, bound);
      if (!this.lapsed) return;
      this.lapsed = false;
      this.events.back();
    });
  }

  /** Stops watching. */
  stop(): void {
    clearTimeout(this.timer);
    this.acks?.unsubscribe();
  }

  private arm(sentAt: number, bound: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.lapsed = true;
        this.events.lapse();
      },
      Math.max(0, sentAt + bound - performance.now()),
    );
    this.timer.unref();
  }
}
