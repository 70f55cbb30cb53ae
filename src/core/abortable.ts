import { setMaxListeners } from 'node:events';

/**
 * Calls `action` once when `signal` aborts (at once if it already has);
 * returns a function that stops listening. The one place abort listeners are
 * added and removed, so none is left behind on a long-lived signal.
 */
export function whenAborted(signal: AbortSignal | undefined, action: (reason: Error) => void): () => void {
  if (signal === undefined) return () => undefined;
  // Abort reasons are Errors here: every signal is aborted with one, or is a timeout's DOMException.
  if (signal.aborted) {
    action(signal.reason as Error);
    return () => undefined;
  }
  const onAbort = (): void => {
    action(signal.reason as Error);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return () => {
    signal.removeEventListener('abort', onAbort);
  };
}

/** Settles as `promise` does, or rejects with the signal's reason as soon as it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const stop = whenAborted(signal, reject);
    promise.then(
      (value) => {
        stop();
        resolve(value);
      },
      (error: unknown) => {
        stop();
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
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
