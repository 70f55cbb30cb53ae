/**
 * A process's output kept line by line, with waiting for a line to appear.
 * Shared by the tests' ProxyProcess and the bench's Spawned.
 */
export class LineLog {
  readonly lines: string[] = [];
  private readonly watchers = new Set<() => void>();

  /** `ended` says why no more lines will come (the process exited), or null while they may. */
  constructor(
    private readonly name: string,
    private readonly ended: () => string | null,
  ) {}

  /** Keeps the lines of a stream as they arrive; a last line without a newline is kept at its end. */
  follow(stream: NodeJS.ReadableStream | null): void {
    let pending = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      this.lines.push(...parts);
      this.changed();
    });
    stream?.once('end', () => {
      if (pending !== '') this.lines.push(pending);
      pending = '';
      this.changed();
    });
  }

  push(line: string): void {
    this.lines.push(line);
    this.changed();
  }

  /** Wakes the waiters: a line arrived, or the process ended. */
  changed(): void {
    for (const watcher of this.watchers) watcher();
  }

  get text(): string {
    return this.lines.join('\n');
  }

  tail(count = 8): string {
    return this.lines.slice(-count).join('\n');
  }

  matching(pattern: RegExp): string[] {
    return this.lines.filter((line) => pattern.test(line));
  }

  /** Resolves with the `count`-th line matching `pattern`; rejects on timeout, or once no more lines can come. */
  waitFor(pattern: RegExp, timeoutMs = 10_000, count = 1): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.matching(pattern);
        if (found.length >= count) {
          done();
          resolve(found[count - 1] ?? '');
          return true;
        }
        const why = this.ended();
        if (why !== null) {
          done();
          reject(new Error(`${this.name} ${why} before printing ${String(pattern)}:\n${this.tail(40)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no line matching ${String(pattern)} within ${timeoutMs}ms; output so far:\n${this.tail(40)}`));
      }, timeoutMs);
      const watcher = (): void => {
        check();
      };
      const done = (): void => {
        clearTimeout(timer);
        this.watchers.delete(watcher);
      };
      if (!check()) this.watchers.add(watcher);
    });
  }
}
