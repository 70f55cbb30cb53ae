import type Docker from 'dockerode';
import { type Clock, sleep } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { describeDockerError } from './docker-error.js';

/** A Docker event, read by Type/Action/Actor (the legacy status/id/from fields are gone in Engine 29). */
export interface DockerEvent {
  readonly type: string;
  readonly action: string;
  readonly id: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly timeNano: bigint;
}

export interface EventStreamOptions {
  readonly docker: Docker;
  readonly endpoint: string;
  /** Engine-side filters, e.g. `{ type: ['container'], label: ['proxytainer.group'] }`. */
  readonly filters: Readonly<Record<string, readonly string[]>>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onEvent: (event: DockerEvent) => void;
  /** Called after every (re)connection: events may have been missed, so reconcile from a fresh listing. */
  readonly onConnected: () => void;
}

export const RECONNECT_MIN_MS = 250;
export const RECONNECT_MAX_MS = 10_000;

interface RawEvent {
  Type?: unknown;
  Action?: unknown;
  Actor?: { ID?: unknown; Attributes?: unknown };
}

/** Parses one line of the events stream; null for anything that is not a usable event. */
export function parseEventLine(line: string): DockerEvent | null {
  let raw: RawEvent;
  try {
    raw = JSON.parse(line) as RawEvent;
  } catch {
    return null;
  }
  if (typeof raw.Type !== 'string' || typeof raw.Action !== 'string' || typeof raw.Actor?.ID !== 'string') return null;
  // timeNano exceeds 2^53: read it from the text, not from the parsed number.
  const nanos = /"timeNano"\s*:\s*(\d+)/.exec(line)?.[1];
  const attributes = typeof raw.Actor.Attributes === 'object' && raw.Actor.Attributes !== null ? (raw.Actor.Attributes as Record<string, string>) : {};
  return { type: raw.Type, action: raw.Action, id: raw.Actor.ID, attributes, timeNano: nanos === undefined ? 0n : BigInt(nanos) };
}

/** Docker's `since` takes seconds with a nanosecond fraction. */
export function sinceParameter(timeNano: bigint): string {
  const seconds = timeNano / 1_000_000_000n;
  const fraction = (timeNano % 1_000_000_000n).toString().padStart(9, '0');
  return `${seconds}.${fraction}`;
}

/**
 * Follows Docker's events stream for as long as it runs: filtered on the
 * engine's side, reconnected with backoff when it breaks, resumed with
 * `since` so nothing is skipped, and de-duplicated across the resume.
 */
export class EventStream {
  private readonly stopped = new AbortController();
  private lastTimeNano: bigint | null = null;
  private readonly seenAtLast = new Set<string>();
  private running: Promise<void> | null = null;
  connected = false;

  constructor(private readonly options: EventStreamOptions) {}

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped.abort(new Error('stopped'));
    await this.running;
  }

  private async loop(): Promise<void> {
    const { docker, logger, clock, endpoint } = this.options;
    const signal = this.stopped.signal;
    const stopping = (): boolean => signal.aborted;
    let delay = RECONNECT_MIN_MS;
    let everConnected = false;
    let reportedDown = false;
    while (!stopping()) {
      let stream: NodeJS.ReadableStream;
      try {
        const since = this.lastTimeNano === null ? {} : { since: sinceParameter(this.lastTimeNano) as unknown as number };
        stream = await docker.getEvents({ ...since, filters: JSON.stringify(this.options.filters), abortSignal: signal } as Docker.GetEventsOptions);
      } catch (error) {
        if (stopping()) return;
        if (!reportedDown) {
          logger.warn(`cannot follow Docker events: ${describeDockerError(error, endpoint)}; retrying with backoff`);
          reportedDown = true;
        } else {
          logger.debug(`still cannot follow Docker events: ${describeDockerError(error, endpoint)}; next try in ${delay}ms`);
        }
        await sleep(clock, delay, signal).catch(() => undefined);
        delay = Math.min(delay * 2, RECONNECT_MAX_MS);
        continue;
      }
      if (everConnected) logger.info(`following Docker events at ${endpoint} again; reconciling`);
      else logger.debug(`following Docker events at ${endpoint}`);
      everConnected = true;
      delay = RECONNECT_MIN_MS;
      this.connected = true;
      this.options.onConnected();
      const why = await this.consume(stream);
      this.connected = false;
      if (stopping()) return;
      logger.warn(`the Docker events stream from ${endpoint} ended (${why}); reconnecting`);
      reportedDown = true;
      await sleep(clock, delay, signal).catch(() => undefined);
    }
  }

  private consume(stream: NodeJS.ReadableStream): Promise<string> {
    return new Promise((resolve) => {
      let pending = '';
      let settled = false;
      const finish = (why: string): void => {
        if (settled) return;
        settled = true;
        resolve(why);
      };
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        let newline = pending.indexOf('\n');
        while (newline >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line !== '') this.deliver(line);
          newline = pending.indexOf('\n');
        }
      });
      stream.on('end', () => {
        finish('closed by the engine');
      });
      stream.on('error', (error: unknown) => {
        finish(describeError(error));
      });
      stream.on('close', () => {
        finish('connection closed');
      });
    });
  }

  private deliver(line: string): void {
    const event = parseEventLine(line);
    if (event === null) {
      this.options.logger.trace(`ignoring an unreadable Docker event: ${line.slice(0, 200)}`);
      return;
    }
    const key = `${event.id} ${event.action}`;
    if (this.lastTimeNano !== null) {
      if (event.timeNano < this.lastTimeNano) return;
      if (event.timeNano === this.lastTimeNano && this.seenAtLast.has(key)) return;
    }
    if (this.lastTimeNano === null || event.timeNano > this.lastTimeNano) {
      this.lastTimeNano = event.timeNano;
      this.seenAtLast.clear();
    }
    this.seenAtLast.add(key);
    this.options.logger.trace(`Docker event: ${event.type} ${event.action} ${event.attributes['name'] ?? event.id.slice(0, 12)}`);
    this.options.onEvent(event);
  }
}
