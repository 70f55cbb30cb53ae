import { abortable } from './abortable.js';

/** A cancellable timer handle. */
export interface Timer {
  cancel(): void;
}

/**
 * Time as the core sees it. Injected so that idle and timeout logic can be
 * tested with a fake clock instead of real waits.
 */
export interface Clock {
  /** Monotonic milliseconds; only differences are meaningful. */
  now(): number;
  /** Runs `callback` once after `ms` milliseconds. */
  setTimer(ms: number, callback: () => void): Timer;
}

/** Node fires longer timeouts after 1ms; callers re-check elapsed time, so capping is safe. */
const MAX_TIMEOUT_MS = 2_147_483_647;

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, callback) {
    const handle = setTimeout(callback, Math.min(MAX_TIMEOUT_MS, Math.max(0, ms)));
    return { cancel: () => { clearTimeout(handle); } };
  },
};

/** Resolves after `ms`, or rejects with the signal's reason when aborted first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return abortable(signal, (resolve) => {
    const timer = clock.setTimer(ms, () => {
      resolve();
    });
    return () => {
      timer.cancel();
    };
  });
}
