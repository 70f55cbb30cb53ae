import type { ByteWindow } from './byte-window.js';
import type { Clock } from './clock.js';

/** The group's accounting of one client connection; every method is cheap and idempotent where it matters. */
export interface ConnectionTracker {
  /** The connection is spliced to its upstream; `cut` closes it when the group stops. */
  established(cut: () => void): void;
  /** Bytes moved: `in` from the client towards the upstream, `out` back. */
  transferred(direction: 'in' | 'out', bytes: number): void;
  closed(): void;
}

/** A group's connections and activity, shared with each connection's tracker. */
export class Traffic {
  connecting = 0;
  /** Connections tracked since the group was created, for the connections counter (metrics). */
  accepted = 0;
  bytesIn = 0;
  bytesOut = 0;
  lastActivity: number;
  /** Whether anything happened since the group was created, for status (the idle clock starts at creation regardless). */
  active = false;
  /** How to close each open connection when the group stops, and where it comes from (`status`), when known. */
  readonly cuts = new Map<() => void, (() => string) | undefined>();
  /** How to close each connection still connecting, when the wake it waited for fails. */
  readonly aborts = new Set<() => void>();
  /** Bytes over the last idle period, when the group sleeps below a byte threshold rather than after silence. */
  window: ByteWindow | null = null;
  /** While set, bytes on an open connection call `hooks.transfer` (a paused group wakes for them). */
  wakeOnTransfer = false;

  constructor(
    private readonly clock: Clock,
    private readonly hooks: { readonly established: () => void; readonly transfer: () => void } = { established: () => undefined, transfer: () => undefined },
  ) {
    this.lastActivity = clock.now();
  }

  /** Bytes moved, either way. */
  moved(direction: 'in' | 'out', bytes: number): void {
    if (direction === 'in') this.bytesIn += bytes;
    else this.bytesOut += bytes;
    this.touch();
    this.window?.add(bytes, this.lastActivity);
    if (this.wakeOnTransfer) this.hooks.transfer();
  }

  /** A connection reached its upstream. */
  established(): void {
    this.touch();
    this.hooks.established();
  }

  get open(): number {
    return this.cuts.size;
  }

  /** Where the open connections come from (`203.0.113.7:51234`), as far as known; unknown ones are left out. */
  peers(): string[] {
    const peers: string[] = [];
    for (const peer of this.cuts.values()) if (peer !== undefined) peers.push(peer());
    return peers;
  }

  touch(): void {
    this.lastActivity = this.clock.now();
    this.active = true;
  }

  /**
   * A new connection: it counts as activity and keeps the group from stopping
   * until it is spliced or gone. `abort` closes it while it is not yet spliced;
   * `peer` says where it comes from, for `status`.
   */
  track(abort: () => void, peer?: () => string): ConnectionTracker {
    return new Tracker(this, abort, peer);
  }

  /** Closes every connection not yet spliced; returns how many there were. */
  abortConnecting(): number {
    const aborts = [...this.aborts];
    this.aborts.clear();
    for (const abort of aborts) abort();
    return aborts.length;
  }

  /** Closes every open connection; returns how many there were. */
  cutAll(): number {
    const cuts = [...this.cuts.keys()];
    this.cuts.clear();
    for (const cut of cuts) cut();
    return cuts.length;
  }
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;

/** One connection's accounting: a plain object with its methods on the prototype, as there may be ten thousand. */
class Tracker implements ConnectionTracker {
  private phase = CONNECTING;
  private cut: (() => void) | null = null;

  constructor(
    private readonly traffic: Traffic,
    private readonly abort: () => void,
    private readonly peer: (() => string) | undefined,
  ) {
    traffic.accepted++;
    traffic.connecting++;
    traffic.aborts.add(abort);
    traffic.touch();
  }

  established(cut: () => void): void {
    if (this.phase !== CONNECTING) return;
    this.phase = OPEN;
    this.traffic.connecting--;
    this.traffic.aborts.delete(this.abort);
    this.cut = cut;
    this.traffic.cuts.set(cut, this.peer);
    this.traffic.established();
  }

  transferred(direction: 'in' | 'out', bytes: number): void {
    this.traffic.moved(direction, bytes);
  }

  closed(): void {
    if (this.phase === CONNECTING) {
      this.traffic.connecting--;
      this.traffic.aborts.delete(this.abort);
    }
    if (this.cut !== null) this.traffic.cuts.delete(this.cut);
    if (this.phase !== CLOSED) this.traffic.touch();
    this.phase = CLOSED;
  }
}
