import { InvalidArgumentError } from 'commander';
import { parseBindAddress, parseHostPort, parsePortSpec, type HostPort, type PortSpec } from '../core/address.js';
import { parseBytes } from '../core/bytes.js';
import { parseDuration } from '../core/duration.js';
import { parseSleepPlan } from '../core/sleep-plan.js';
import { describeError } from '../core/errors.js';
import { parseWebhookUrl } from '../core/webhook-url.js';
import { type HostnamePattern, parseHostnamePattern } from '../core/protocols/hostname-pattern.js';
import { AddressList } from '../core/address-list.js';
import { parseWakeOn } from '../core/wake-on.js';
import { type MetricsAddress, parseMetricsAddress } from '../metrics/metrics-server.js';

/** Adapts a core parser to commander, which names the option in the error it prints. */
function forCommander<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      throw new InvalidArgumentError(describeError(error));
    }
  };
}

export const portOption = forCommander<PortSpec>(parsePortSpec);
export const hostPortOption = forCommander<HostPort>(parseHostPort);
export const durationOption = forCommander(parseDuration);
export const bindOption = forCommander(parseBindAddress);
export const bytesOption = forCommander(parseBytes);
export const sleepPlanOption = forCommander(parseSleepPlan);
export const wakeOnOption = forCommander(parseWakeOn);
export const addressListOption = forCommander((text) => AddressList.parse(text));
export const metricsAddressOption = forCommander<MetricsAddress>(parseMetricsAddress);

/** A repeatable --webhook: each value is checked and added to the ones before it. */
export function webhookOption(text: string, previous: readonly URL[] = []): URL[] {
  return [...previous, forCommander(parseWebhookUrl)(text)];
}
/** An amount of bytes that must be at least one (a bound). */
export const positiveBytesOption = forCommander((text) => {
  const bytes = parseBytes(text);
  if (bytes < 1) throw new Error(`"${text}" must be at least 1 byte`);
  return bytes;
});

export const positiveDurationOption = forCommander((text) => {
  const ms = parseDuration(text);
  if (ms <= 0) throw new Error(`"${text}" must be longer than zero`);
  return ms;
});

export const countOption = forCommander((text) => {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new Error(`"${text}" is not a whole number of at least 1`);
  return Number(text);
});

export const groupNameOption = forCommander((text) => {
  if (text.trim() === '') throw new Error('a group name cannot be empty');
  return text;
});

/** A repeatable --hostname NAME[,NAME…]: each name is checked and added to the ones before it. */
export function hostnamesOption(text: string, previous: readonly HostnamePattern[] = []): HostnamePattern[] {
  const names = text.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (names.length === 0) throw new InvalidArgumentError('no host name given; write a name like app.example.com, or *.example.com');
  return [...previous, ...names.map(forCommander(parseHostnamePattern))];
}

/** --protocol: the one protocol read on request; TLS and HTTP are told apart by themselves. */
export const protocolOption = forCommander((text): 'minecraft' => {
  if (text.trim().toLowerCase() !== 'minecraft') throw new Error(`"${text}" is not a protocol proxytainer reads; the one it knows is minecraft (TLS and HTTP need no flag)`);
  return 'minecraft';
});
