import { InvalidArgumentError } from 'commander';
import { parseBindAddress, parseHostPort, parsePortSpec, type HostPort, type PortSpec } from '../core/address.js';
import { parseByteSize } from '../core/byte-size.js';
import { parseDuration } from '../core/duration.js';
import { describeError } from '../core/errors.js';

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
export const byteSizeOption = forCommander((text) => {
  const bytes = parseByteSize(text);
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
