/**
 * Fires once when nothing was heard for `span` ms. `feed()` on every sign of life only records
 * the time: the timer is not touched per heartbeat. When it fires it checks that time, and
 * re-arms for the rest of the span if life was seen meanwhile, so a link costs one timer expiry
 * per span (not a timer update per heartbeat) and silence is reported a full `span` after the
 * last sign of life. With a thousand links heartbeating, that is a third of the timer work a
 * refresh per heartbeat costs at the default settings, and none on the heartbeat's path.
 *
 * Silence is judged on time this process could listen: a timer that fires late means the
 * process itself was stalled (a busy event loop, a loaded machine), and the other side gets one
 * more span from then, once per silence (so a process stalled again and again still reports a
 * dead peer, after two spans). The verdict also waits one event-loop turn, because timers run
 * before pending socket reads: a sign of life that arrived while the process was stalled is read
 * first.
 */
export class HeartbeatWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private verdict: NodeJS.Immediate | undefined;
  /** `performance.now()` of the last sign of life (or of `start()`). */
  private lastSeen = 0;
  /** When the running timer is due (monotonic ms). */
  private due = 0;
  /** The extra span for a stalled process was given in the current silence. */
  private extended = false;

  constructor(
    private readonly span: number,
    private readonly onSilence: () => void,
  ) {}

  /** Starts watching; the first span counts from now. */
  start(): void {
    this.stop();
    this.extended = false;
    this.lastSeen = performance.now();
    this.arm(this.span);
  }

  /** Records a sign of life. */
  feed(): void {
    this.lastSeen = performance.now();
    this.extended = false;
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.verdict !== undefined) clearImmediate(this.verdict);
    this.timer = undefined;
    this.verdict = undefined;
  }

  private arm(delay: number): void {
    this.due = performance.now() + delay;
    this.timer = setTimeout(() => this.check(), delay);
    this.timer.unref();
  }

  /** The rest of the span after the last sign of life, in ms (at most 0 once it has passed). */
  private left(): number {
    return this.lastSeen + this.span - performance.now();
  }

  private check(): void {
    this.timer = undefined;
    // Timers may fire a little early (they round to whole ms): only a full span of silence counts.
    const left = this.left();
    if (left > 0) return this.arm(Math.ceil(left));
    // Late by more than a quarter span: this process was not listening for part of it.
    const stalled = performance.now() - this.due > this.span / 4;
    const seen = this.lastSeen;
    this.verdict = setImmediate(() => {
      this.verdict = undefined;
      if (this.lastSeen !== seen) return this.arm(Math.max(1, Math.ceil(this.left())));
      if (stalled && !this.extended) {
        this.extended = true;
        this.lastSeen = performance.now();
        return this.arm(this.span);
      }
      this.onSilence();
    });
  }
}
