/**
 * Runs operations one at a time, in the order asked. A request made with a
 * key is dropped while one with the same key still waits its turn, so a burst
 * of "read again" requests costs one reading, made after the burst.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private readonly waiting = new Set<string>();

  /** `onError` sees what an operation threw; the queue goes on with the next one. */
  constructor(private readonly onError: (error: unknown) => void) {}

  run(operation: () => Promise<void>): void {
    this.tail = this.tail.then(operation).catch(this.onError);
  }

  /** Runs `operation` unless a request with `key` is already waiting. */
  coalesce(key: string, operation: () => Promise<void>): void {
    if (this.waiting.has(key)) return;
    this.waiting.add(key);
    this.run(async () => {
      this.waiting.delete(key);
      await operation();
    });
  }

  /** Resolves once every operation queued so far has finished. */
  drained(): Promise<void> {
    return this.tail;
  }
}
