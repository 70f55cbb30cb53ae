/**
 * What wakes a sleeping group: a connection as soon as it is accepted
 * (`connect`, for protocols where the server speaks first: SSH, SMTP,
 * MySQL), or only once the client has sent some bytes (`data`), so that a
 * port scan or a silent health probe wakes nothing.
 */
export type WakeOn = 'connect' | 'data';

export function parseWakeOn(text: string): WakeOn {
  const value = text.trim().toLowerCase();
  if (value === 'connect' || value === 'data') return value;
  throw new Error(`"${text}" is not connect or data (connect: any connection wakes the group; data: only one that sends bytes)`);
}

/** How many bytes a client must send before it wakes a group with `--wake-on data`: a whole number from 1. */
export function parseWakeMinBytes(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new Error(`"${text}" is not a whole number of bytes of at least 1`);
  return Number(text);
}

/** The wake rules a group has, as they read in a log line or `status`. */
export interface WakeRules {
  readonly wakeOn: WakeOn;
  readonly wakeMinBytes: number;
  readonly wakeFrom: { readonly text: string } | null;
  readonly allowFrom: { readonly text: string } | null;
}

/** `wakes on data (1 byte), wakes from 10.0.0.0/8, serves only 10.0.0.0/8`; empty when any connection wakes it. */
export function describeWakeRules(rules: WakeRules): string {
  const parts: string[] = [];
  if (rules.wakeOn === 'data') parts.push(`wakes on data (${rules.wakeMinBytes} byte${rules.wakeMinBytes === 1 ? '' : 's'})`);
  if (rules.wakeFrom !== null) parts.push(`wakes from ${rules.wakeFrom.text}`);
  if (rules.allowFrom !== null) parts.push(`serves only ${rules.allowFrom.text}`);
  return parts.join(', ');
}
