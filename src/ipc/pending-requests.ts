/** How many timed-out request ids are remembered to recognise their late replies. */
const EXPIRED_MEMORY = 1024;

/** What {@link PendingRequests.resolve} did with a reply. */
export type ReplyMatch = 'settled' | 'unknown' | 'mismatch';

interface PendingRequest {
  event: string;
  /** When the request times out, in `performance.now()` ms. */
  deadline: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onTimeout: () => Error;
}

/**
 * The requests of one connection that wait for a reply, by event id. One map, one listener and
 * one timer per connection (never one per request); every entry settles: by its reply, its
 * timeout, or {@link rejectAll} when the connection ends.
 */
export class PendingRequests {
  private readonly byEventId = new Map<string, PendingRequest>();
  /** Event ids of requests that timed out lately, so that a late reply is known as one. */
  private readonly expired = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** Waiters of {@link whenEmpty}. */
  private readonly emptyWaiters: Array<() => void> = [];
  /** The deadline the timer is set for. */
  private timerDeadline = Infinity;

  /** How many requests are waiting. */
  get size(): number {
    return this.byEventId.size;
  }

  /** Registers a request; `onTimeout` makes the error it rejects with after `timeout` ms. */
  add<T>(eventId: string, event: string, timeout: number, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const deadline = performance.now() + timeout;
      this.byEventId.set(eventId, {
        event,
        deadline,
        resolve: resolve as (value: unknown) => void,
        reject,
        onTimeout,
      });
      if (deadline < this.timerDeadline) this.arm(deadline);
    });
  }

  /**
   * Whether `eventId` belongs to one of the last {@link EXPIRED_MEMORY} requests that timed out:
   * its reply came too late and must be dropped, not taken for a new event. Forgets it.
   */
  takeExpired(eventId: string): boolean {
    return this.expired.size > 0 && this.expired.delete(eventId);
  }

  /**
   * Settles the request `eventId` with a reply to `event`. Returns `'unknown'` when no request
   * waits under this id, and `'mismatch'` when the one that waits asked for another event: a
   * reply must name what it answers, and that request stays pending.
   */
  resolve(eventId: string, event: string, value: unknown): ReplyMatch {
    const pending = this.byEventId.get(eventId);
    if (pending === undefined) return 'unknown';
    if (pending.event !== event) return 'mismatch';
    this.byEventId.delete(eventId);
    if (this.emptyWaiters.length > 0) this.notifyIfEmpty();
    pending.resolve(value);
    return 'settled';
  }

  /**
   * Settles a request with an error, or with the error `makeError` builds from the request's
   * event name; returns false when none waits under this id.
   */
  reject(eventId: string, error: Error | ((event: string) => Error)): boolean {
    const pending = this.take(eventId);
    if (pending === undefined) return false;
    pending.reject(typeof error === 'function' ? error(pending.event) : error);
    return true;
  }

  /** Rejects every waiting request at once. */
  rejectAll(error: Error): void {
    const all = [...this.byEventId.values()];
    this.byEventId.clear();
    this.disarm();
    for (const pending of all) pending.reject(error);
    this.notifyIfEmpty();
  }

  /** Resolves when no request waits any more (at once if none does). */
  whenEmpty(): Promise<void> {
    if (this.byEventId.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  private take(eventId: string): PendingRequest | undefined {
    const pending = this.byEventId.get(eventId);
    if (pending !== undefined) {
      this.byEventId.delete(eventId);
      if (this.emptyWaiters.length > 0) this.notifyIfEmpty();
    }
    return pending;
  }

  private notifyIfEmpty(): void {
    if (this.byEventId.size > 0) return;
    for (const resolve of this.emptyWaiters.splice(0)) resolve();
  }

  /** Sets the one timer for `deadline`. It does not keep the process alive: the socket does. */
  private arm(deadline: number): void {
    clearTimeout(this.timer);
    this.timerDeadline = deadline;
    this.timer = setTimeout(() => this.expire(), Math.max(0, deadline - performance.now()));
    this.timer.unref();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDeadline = Infinity;
  }

  /** Times out every request past its deadline, then sets the timer for the next one. */
  private expire(): void {
    this.disarm();
    const now = performance.now();
    let next = Infinity;
    for (const [eventId, pending] of this.byEventId) {
      if (pending.deadline <= now) {
        this.byEventId.delete(eventId);
        this.rememberExpired(eventId);
        pending.reject(pending.onTimeout());
      } else if (pending.deadline < next) {
        next = pending.deadline;
      }
    }
    this.notifyIfEmpty();
    if (next !== Infinity) this.arm(next);
  }

  private rememberExpired(eventId: string): void {
    if (this.expired.size >= EXPIRED_MEMORY) {
      this.expired.delete(this.expired.values().next().value!);
    }
    this.expired.add(eventId);
  }
}
