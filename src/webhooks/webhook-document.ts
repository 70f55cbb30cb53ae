import type { GroupStateName } from '../core/group-machine.js';
import type { WakeCause } from '../core/wake-cause.js';
import type { StateChange, WakeOutcome } from '../core/wake-history.js';

/**
 * What a webhook receives: one JSON document per state change. Stable like
 * the status document: fields are only ever added. README.md shows it.
 */
export interface WebhookDocument {
  readonly group: string;
  readonly from: GroupStateName;
  readonly to: GroupStateName;
  /** Why: `connection from 203.0.113.7:51234 on port 443`, `no traffic for 5m`, `wake failed: …`. */
  readonly reason: string;
  /** ISO time of the change. */
  readonly at: string;
  /** This change ends a wake that failed. */
  readonly failed: boolean;
  readonly proxy: { readonly pid: number; readonly version: string };
  /** For a change that starts or ends a wake: who woke the group, and how the wake went. */
  readonly wake?: {
    /** `connection`, with the client's address and port and the listener's port; `operator` via the CLI; `outside`; `other`. */
    readonly by: WakeCause;
    /** Who, in words: the client, `wake command`, `start made outside proxytainer…`. */
    readonly reason: string;
    readonly startedAt: string;
    readonly result: WakeOutcome;
    /** Start to ready (or failure); null while starting and for a start made outside. */
    readonly durationSeconds: number | null;
    readonly error: string | null;
  };
}

/** The document for one change; `now` is the wall-clock time of the change. */
export function webhookDocument(change: StateChange, proxy: WebhookDocument['proxy'], now: Date): WebhookDocument {
  const { wake } = change;
  const at = now.toISOString();
  return {
    group: change.group,
    from: change.from,
    to: change.to,
    reason: change.reason,
    at,
    failed: change.failed,
    proxy,
    ...(wake === null
      ? {}
      : {
          wake: {
            by: wake.cause,
            reason: wake.description,
            startedAt: new Date(now.getTime() - (change.at - wake.startedAt)).toISOString(),
            result: wake.result,
            durationSeconds: wake.endedAt === null || !wake.timed ? null : Math.round(wake.endedAt - wake.startedAt) / 1000,
            error: wake.error,
          },
        }),
  };
}
