import { abortable } from './abortable.js';

/** At most `limit` holders at once; the others wait their turn, in order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** A place now, without waiting: the function that gives it back, or null when every place is taken. */
  tryAcquire(): (() => void) | null {
    if (this.active >= this.limit) return null;
    this.active++;
    return once(() => {
      this.release();
    });
  }

  /** Resolves with the function that gives the place back; rejects if `signal` aborts while waiting. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const now = this.tryAcquire();
    if (now !== null) return Promise.resolve(now);
    return abortable(signal, (resolve) => {
      const turn = (): void => {
        resolve(once(() => {
          this.release();
        }));
      };
      this.waiting.push(turn);
      return () => {
        const at = this.waiting.indexOf(turn);
        if (at >= 0) this.waiting.splice(at, 1);
      };
    });
  }

  /** Hands the place to the next waiter, or frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.active--;
    else next();
  }
}

function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    action();
  };
}
