import type { Clock, Timer } from './clock.js';

/**
 * Counts events that may come in floods (datagrams dropped, clients turned
 * away) and reports them at most once per interval: the first at once, the
 * rest summed up when the interval has passed, so none goes unreported.
 */
export class ThrottledReport {
  private count = 0;
  private lastReport = -Infinity;
  private timer: Timer | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly report: (count: number) => void,
  ) {}

  add(count = 1): void {
    this.count += count;
    if (this.timer !== null) return;
    const due = this.lastReport + this.intervalMs - this.clock.now();
    if (due <= 0) this.flush();
    else
      this.timer = this.clock.setTimer(due, () => {
        this.timer = null;
        this.flush();
      });
  }

  /** Reports what is counted now and stops the timer (for teardown). */
  close(): void {
    this.timer?.cancel();
    this.timer = null;
    if (this.count > 0) this.flush();
  }

  private flush(): void {
    const { count } = this;
    this.count = 0;
    this.lastReport = this.clock.now();
    if (count > 0) this.report(count);
  }
}
