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
  private readonly listeners = new Map<string, Set<() => void>>();

  constructor(private readonly clock: Clock) {}

  /**
   * Calls `look` until it returns true, `signal` aborts, or `limitMs`
   * passes; resolves with whether `look` returned true. A look that throws
   * ends the poll with that error. After a poke the spacing starts again
   * from the shortest: the change it announced (a container started here)
   * reaches the task's state a few tens of milliseconds later.
   */
  async until(key: string, look: () => Promise<boolean>, limitMs: number, signal: AbortSignal): Promise<boolean> {
    const started = this.clock.now();
    let delay = POLL_FIRST_MS;
    // Pokes counted, not flagged: one may come while a look is in flight, between two pauses.
    let pokes = 0;
    let seen = 0;
    let resume = (): void => undefined;
    const onPoke = (): void => {
      pokes++;
      resume();
    };
    const listeners = this.listeners.get(key) ?? new Set<() => void>();
    this.listeners.set(key, listeners);
    listeners.add(onPoke);
    try {
      while (!signal.aborted && this.clock.now() - started < limitMs) {
        if (pokes === seen) {
          const ms = Math.min(delay, limitMs - (this.clock.now() - started));
          if (!(await this.pause(ms, signal, (r) => (resume = r)))) return false;
          resume = () => undefined;
        }
        const afterPoke = pokes !== seen;
        seen = pokes;
        if (await look()) return true;
        delay = afterPoke ? POLL_FIRST_MS : Math.min(delay * 2, POLL_MAX_MS);
      }
      return false;
    } finally {
      listeners.delete(onPoke);
      if (listeners.size === 0 && this.listeners.get(key) === listeners) this.listeners.delete(key);
    }
  }

  /** Something happened to the tasks behind `key`: every poll on it looks now, and soon again. */
  poke(key: string): void {
    for (const listener of [...(this.listeners.get(key) ?? [])]) listener();
  }

  /** Waits `ms`, or less when resumed through `expose`; resolves false when `signal` aborts instead. */
  private pause(ms: number, signal: AbortSignal, expose: (resume: () => void) => void): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve(false);
        return;
      }
      let stopListening = (): void => undefined;
      const resume = (): void => {
        timer.cancel();
        stopListening();
        resolve(!signal.aborted);
      };
      const timer = this.clock.setTimer(Math.max(0, ms), resume);
      stopListening = whenAborted(signal, resume);
      expose(resume);
    });
  }
}
