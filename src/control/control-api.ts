import type { GroupStateName } from '../core/group-machine.js';
import type { StatusDocument } from './status-document.js';

/** A step of a wake, streamed to `proxytainer wake` for its progress display. */
export interface WakeProgress {
  readonly state: GroupStateName;
  readonly detail: string;
}

export type WakeResult = { readonly ok: true; readonly state: GroupStateName } | { readonly ok: false; readonly reason: string };
export type SleepResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Thrown for a group the proxy does not manage; the server answers 404. */
export class UnknownGroupError extends Error {
  constructor(group: string, known: readonly string[]) {
    super(`no group named ${group} in this proxy${known.length === 0 ? '' : ` (it manages ${known.join(', ')})`}`);
    this.name = 'UnknownGroupError';
  }
}

/** What the running proxy offers on its control socket. */
export interface ControlApi {
  status(): StatusDocument;
  /** Wakes the group; with `wait`, resolves when it is Running (or the wake failed), else at once. */
  wake(group: string, options: { readonly wait: boolean }, onProgress: (progress: WakeProgress) => void, signal: AbortSignal): Promise<WakeResult>;
  /** Puts the group to sleep as an idle stop would; resolves when it is Idle. */
  sleep(group: string): Promise<SleepResult>;
}
