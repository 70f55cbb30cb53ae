/**
 * A process-wide bound on connections held while their group wakes, so a flood
 * against a sleeping group cannot exhaust memory or file descriptors.
 */
export class HoldLimit {
  private count = 0;

  constructor(readonly max: number) {}

  get held(): number {
    return this.count;
  }

  /** Takes a place; false when every place is taken. */
  take(): boolean {
    if (this.count >= this.max) return false;
    this.count++;
    return true;
  }

  release(): void {
    this.count--;
  }
}
