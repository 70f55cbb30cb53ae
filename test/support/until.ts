/**
 * Polls `check` every few milliseconds until it holds; rejects naming `what`
 * once `timeoutMs` has passed. For waiting on a state the code under test
 * reaches by itself, instead of sleeping a fixed time and hoping.
 */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
