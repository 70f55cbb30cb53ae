import { whenAborted } from '../core/abortable.js';
import type { Clock } from '../core/clock.js';

/** The first look comes soon after the change that started the poll. */
export const POLL_FIRST_MS = 25;
/** Then looks double in spacing up to this, which bounds how late a change on another node is seen. */
export const POLL_MAX_MS = 250;

/**
 * Watches a service's tasks while a wake or a sleep is in progress. The
 * engine sends no events for task states (a task being scheduled, refused
 * by a node, turning healthy elsewhere), only container events on the
 * engine's own node; so the tasks are read on a bounded, backing-off poll,
 * and an event about one of the service's containers here (start, health,
 * die) makes the next look come at once. Nothing polls while no wake or
 * sleep is in progress.
 */
export class TaskPoll {
  private readonly waiting = new Map<string, Set<() => void>>();

  constructor(private readonly clock: Clock) {}

  /**
   * Calls `look` until it returns true, `signal` aborts, or `limitMs`
   * passes; resolves with whether `look` returned true. A look that throws
   * ends the poll with that error.
   */
  async until(key: string, look: () => Promise<boolean>, limitMs: number, signal: AbortSignal): Promise<boolean> {
    const started = this.clock.now();
    let delay = POLL_FIRST_MS;
    while (!signal.aborted && this.clock.now() - started < limitMs) {
      if (!(await this.pause(key, Math.min(delay, limitMs - (this.clock.now() - started)), signal))) return false;
      if (await look()) return true;
      delay = Math.min(delay * 2, POLL_MAX_MS);
    }
    return false;
  }

  /** Something happened to the tasks behind `key`: every poll on it looks now. */
  poke(key: string): void {
    for (const resume of [...(this.waiting.get(key) ?? [])]) resume();
  }

  /** Waits `ms`, or less when poked; resolves false when `signal` aborts instead. */
  private pause(key: string, ms: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve(false);
        return;
      }
      const waiting = this.waiting.get(key) ?? new Set<() => void>();
      this.waiting.set(key, waiting);
      const resume = (): void => {
        timer.cancel();
        stopListening();
        waiting.delete(resume);
        if (waiting.size === 0 && this.waiting.get(key) === waiting) this.waiting.delete(key);
        resolve(!signal.aborted);
      };
      const timer = this.clock.setTimer(Math.max(0, ms), resume);
      const stopListening = whenAborted(signal, resume);
      waiting.add(resume);
    });
  }
}
