import { formatDuration, parseDuration } from './duration.js';
import type { SleepPlan } from './group.js';

/** How groups sleep unless told otherwise: stop their members. */
export const STOP: SleepPlan = { mode: 'stop', stopAfterMs: null };

/**
 * Parses how a group sleeps: `stop`, `pause`, or `pause,stop:DURATION`
 * (pause when idle, then stop after DURATION more without traffic).
 */
export function parseSleepPlan(text: string): SleepPlan {
  const value = text.trim().toLowerCase();
  const usage = 'use stop, pause, or pause,stop:DURATION (e.g. pause,stop:1h)';
  if (value === 'stop') return STOP;
  if (value === 'pause') return { mode: 'pause', stopAfterMs: null };
  const ladder = /^pause\s*,\s*stop:(.+)$/.exec(value);
  if (ladder === null) throw new Error(`"${text}" is not a way to sleep; ${usage}`);
  const stopAfterMs = parseDuration(ladder[1] ?? '');
  if (stopAfterMs <= 0) throw new Error(`"${text}": the stop must come after a duration longer than zero; ${usage}`);
  return { mode: 'pause', stopAfterMs };
}

export function formatSleepPlan(plan: SleepPlan): string {
  if (plan.mode === 'stop') return 'stop';
  return plan.stopAfterMs === null ? 'pause' : `pause,stop:${formatDuration(plan.stopAfterMs)}`;
}
