/**
 * Fires once when nothing was heard for `span` ms. `feed()` on every sign of life restarts the
 * span with `Timeout.refresh()`, so a heartbeat costs no timer allocation.
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
  /** When the running span ends, if nothing is heard (monotonic ms). */
  private due = 0;
  private fed = 0;
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
    this.due = performance.now() + this.span;
    this.timer = setTimeout(() => this.expire(), this.span);
    this.timer.unref();
  }

  /** Records a sign of life. */
  feed(): void {
    this.fed++;
    this.extended = false;
    if (this.timer === undefined) return;
    this.due = performance.now() + this.span;
    // Also re-arms a timer that has fired and awaits its verdict.
    this.timer.refresh();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.verdict !== undefined) clearImmediate(this.verdict);
    this.timer = undefined;
    this.verdict = undefined;
  }

  private expire(): void {
    // Late by more than a quarter span: this process was not listening for part of it.
    const stalled = performance.now() - this.due > this.span / 4;
    const fed = this.fed;
    this.verdict = setImmediate(() => {
      this.verdict = undefined;
      if (this.fed !== fed) return; // heard after all: the refreshed timer watches on
      if (stalled && !this.extended) {
        this.start();
        this.extended = true;
        return;
      }
      this.timer = undefined;
      this.onSilence();
    });
  }
}
