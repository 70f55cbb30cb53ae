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
