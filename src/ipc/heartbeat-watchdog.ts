/**
 * Fires once when nothing was heard for `span` ms. `feed()` on every sign of life restarts the
 * span with `Timeout.refresh()`, so a heartbeat costs no timer allocation.
 */
export class HeartbeatWatchdog {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly span: number,
    private readonly onSilence: () => void,
  ) {}

  /** Starts watching; the first span counts from now. */
  start(): void {
    this.stop();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onSilence();
    }, this.span);
    this.timer.unref();
  }

  /** Records a sign of life. */
  feed(): void {
    this.timer?.refresh();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
