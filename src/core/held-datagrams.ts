import { Fifo } from './fifo.js';

/** What a held datagram belongs to: it counts its datagrams still held. */
export interface HoldingFlow {
  held: number;
}

export interface HeldDatagram<F extends HoldingFlow> {
  readonly flow: F;
  readonly data: Buffer;
  /** Clock time it arrived. */
  readonly at: number;
  /** Arrival order over the whole group. */
  readonly seq: number;
}

/**
 * The bound on datagrams held for one group, over all its UDP listeners, by
 * count and by bytes. Past it, the oldest datagram of the group goes, whichever
 * listener holds it: unlike a TCP client, a UDP client cannot be pushed back
 * on, so what it sends while the group wakes must be bounded here.
 */
/** What the budget needs of each listener's queue. */
interface BudgetQueue {
  peek(): { readonly seq: number } | undefined;
  dropOldest(): void;
}

export class DatagramBudget {
  count = 0;
  bytes = 0;
  private seq = 0;
  private readonly queues = new Set<BudgetQueue>();

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {}

  /** A queue for one listener, drawing on this budget. `onDrop` hears of each datagram the bound pushed out. */
  queue<F extends HoldingFlow>(onDrop: (entry: HeldDatagram<F>) => void): HeldDatagrams<F> {
    const queue = new HeldDatagrams<F>(this, onDrop);
    this.queues.add(queue);
    return queue;
  }

  /** @internal */
  nextSeq(): number {
    return this.seq++;
  }

  /** @internal */
  forget(queue: BudgetQueue): void {
    this.queues.delete(queue);
  }

  /** @internal Drops the group's oldest datagrams until it is within the bound again. */
  enforce(): void {
    while (this.count > this.maxCount || this.bytes > this.maxBytes) {
      let oldest: BudgetQueue | null = null;
      let seq = Infinity;
      for (const queue of this.queues) {
        const head = queue.peek();
        if (head !== undefined && head.seq < seq) {
          oldest = queue;
          seq = head.seq;
        }
      }
      if (oldest === null) return;
      oldest.dropOldest();
    }
  }
}

/** One listener's held datagrams, oldest first over all its flows, each flow's in the order they came. */
export class HeldDatagrams<F extends HoldingFlow> {
  private readonly entries = new Fifo<HeldDatagram<F>>();

  /** @internal Made by DatagramBudget.queue. */
  constructor(
    private readonly budget: DatagramBudget,
    private readonly onDrop: (entry: HeldDatagram<F>) => void,
  ) {}

  get length(): number {
    return this.entries.length;
  }

  /** Holds `data`; the group's oldest datagram goes if the bound is exceeded (maybe this one's flow's). */
  add(flow: F, data: Buffer, at: number): void {
    this.entries.push({ flow, data, at, seq: this.budget.nextSeq() });
    flow.held++;
    this.budget.count++;
    this.budget.bytes += data.length;
    this.budget.enforce();
  }

  peek(): HeldDatagram<F> | undefined {
    return this.entries.peek();
  }

  /** Takes the oldest out of the hold (to be sent). */
  shift(): HeldDatagram<F> | undefined {
    const entry = this.entries.shift();
    if (entry !== undefined) this.release(entry);
    return entry;
  }

  /** @internal The bound pushed the oldest out. */
  dropOldest(): void {
    const entry = this.shift();
    if (entry !== undefined) this.onDrop(entry);
  }

  /** Drops every datagram `drop` picks; returns them. */
  dropWhere(drop: (entry: HeldDatagram<F>) => boolean): HeldDatagram<F>[] {
    const dropped: HeldDatagram<F>[] = [];
    this.entries.retain((entry) => {
      if (!drop(entry)) return true;
      this.release(entry);
      dropped.push(entry);
      return false;
    });
    return dropped;
  }

  /** Drops everything and leaves the budget. */
  close(): HeldDatagram<F>[] {
    const dropped = this.dropWhere(() => true);
    this.budget.forget(this);
    return dropped;
  }

  [Symbol.iterator](): Iterator<HeldDatagram<F>> {
    return this.entries[Symbol.iterator]();
  }

  private release(entry: HeldDatagram<F>): void {
    entry.flow.held--;
    this.budget.count--;
    this.budget.bytes -= entry.data.length;
  }
}
