import chalk, { Chalk, type ChalkInstance } from 'chalk';

/**
 * The one place that writes to the terminal. Colour only when the stream is a
 * terminal and NO_COLOR is empty, as the docker CLI does.
 */
export interface Terminal {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly outIsTty: boolean;
  readonly errIsTty: boolean;
  /** Styles for stdout and for stderr; both are plain when colour is off for that stream. */
  readonly outStyle: ChalkInstance;
  readonly errStyle: ChalkInstance;
}

function colourFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): boolean {
  if ((env['NO_COLOR'] ?? '') !== '') return false;
  if ((env['FORCE_COLOR'] ?? '') !== '' && env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY;
}

export function processTerminal(env: NodeJS.ProcessEnv = process.env): Terminal {
  const level = chalk.level > 0 ? chalk.level : 1;
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    outIsTty: process.stdout.isTTY,
    errIsTty: process.stderr.isTTY,
    outStyle: new Chalk({ level: colourFor(process.stdout, env) ? level : 0 }),
    errStyle: new Chalk({ level: colourFor(process.stderr, env) ? level : 0 }),
  };
}
