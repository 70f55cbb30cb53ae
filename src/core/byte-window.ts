/** Slots per window: bytes are counted in tenths of the window. */
const SLOTS = 10;
/** The ten tenths before now, and the one now is in. */
const RING = SLOTS + 1;

/**
 * Bytes moved over the last `windowMs`, counted in tenths of the window. The
 * sum holds the ten whole tenths before the current one, plus the current
 * one so far: between one and 1.1 windows, never less than a whole window.
 * Memory and cost per add are constant, whatever the traffic.
 */
export class ByteWindow {
  private readonly counts = new Array<number>(RING).fill(0);
  private readonly slotOf = new Array<number>(RING).fill(-1);
  private readonly slotMs: number;

  constructor(readonly windowMs: number) {
    this.slotMs = Math.max(1, windowMs / SLOTS);
  }

  add(bytes: number, now: number): void {
    const slot = Math.floor(now / this.slotMs);
    const at = slot % RING;
    if (this.slotOf[at] !== slot) {
      this.slotOf[at] = slot;
      this.counts[at] = 0;
    }
    this.counts[at] = (this.counts[at] ?? 0) + bytes;
  }

  /** Bytes in the ten tenths before now and in the current one. */
  sum(now: number): number {
    const current = Math.floor(now / this.slotMs);
    let total = 0;
    for (let at = 0; at < RING; at++) {
      const slot = this.slotOf[at] ?? -1;
      if (slot >= current - SLOTS && slot <= current) total += this.counts[at] ?? 0;
    }
    return total;
  }

  /** When the next tenth begins: the earliest the sum can drop. */
  nextSlotAt(now: number): number {
    return (Math.floor(now / this.slotMs) + 1) * this.slotMs;
  }
}
