import { setMaxListeners } from 'node:events';

/**
 * Waits for something that reports by callback, giving up as soon as `signal`
 * aborts: the promise then rejects with the signal's reason and `begin`'s
 * cleanup runs (cancel a timer, leave a queue), so nothing is left waiting.
 * `begin` starts the wait and returns that cleanup, if it needs one; it is not
 * called when the signal has already aborted. Settles once, and the abort
 * listener is removed however it settles.
 */
export function abortable<T>(
  signal: AbortSignal | undefined,
  begin: (resolve: (value: T) => void, reject: (error: Error) => void) => (() => void) | undefined,
): Promise<T> {
  if (signal?.aborted === true) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    // An object, not a boolean: it is set inside the callbacks, after this function has returned.
    const state = { settled: false };
    const settle = (): boolean => {
      if (state.settled) return false;
      state.settled = true;
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = (): void => {
      if (settle()) {
        cleanup?.();
        reject(abortReason(signal));
      }
    };
    const cleanup = begin(
      (value) => {
        if (settle()) resolve(value);
      },
      (error) => {
        if (settle()) reject(error);
      },
    );
    if (!state.settled) signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The signal's reason as an Error (an abort without a reason gets Node's AbortError). */
function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error(String(reason), { cause: reason });
}

/** Settles as `promise` does, or rejects with the signal's reason as soon as it aborts (the promise is left to settle alone). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return abortable(signal, (resolve, reject) => {
    promise.then(resolve, (error: unknown) => {
      reject(error instanceof Error ? error : new Error(String(error)));
    });
    return undefined;
  });
}

/**
 * Calls `action` once when `signal` aborts (at once if it already has);
 * returns a function that stops listening, so none is left behind on a
 * long-lived signal.
 */
export function whenAborted(signal: AbortSignal | undefined, action: (reason: Error) => void): () => void {
  if (signal === undefined) return () => undefined;
  if (signal.aborted) {
    action(abortReason(signal));
    return () => undefined;
  }
  const onAbort = (): void => {
    action(abortReason(signal));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return () => {
    signal.removeEventListener('abort', onAbort);
  };
}

/**
 * Runs `body` with a signal that aborts when `parent` does and may carry any
 * number of listeners: for one call fanned out over many requests at once
 * (every member inspected together), which would otherwise trip Node's
 * listener-leak warning on the caller's signal.
 */
export async function withFanOut<T>(parent: AbortSignal, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  setMaxListeners(Infinity, controller.signal);
  const release = whenAborted(parent, (reason) => {
    controller.abort(reason);
  });
  try {
    return await body(controller.signal);
  } finally {
    release();
  }
}
