import chalk, { Chalk, type ChalkInstance } from 'chalk';

/** Progress of a long operation: a spinner on a terminal, the final line only otherwise. */
export interface Progress {
  update(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
}

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
  /**
   * Runs `task` with a spinner on stderr when it is a terminal (and not CI),
   * plain final lines otherwise. The spinner stops on every path: a task that
   * throws leaves the terminal clean for the error message that follows.
   */
  withProgress<T>(text: string, task: (progress: Progress) => Promise<T>): Promise<T>;
}

function colourFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): boolean {
  if ((env['NO_COLOR'] ?? '') !== '') return false;
  if ((env['FORCE_COLOR'] ?? '') !== '' && env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY;
}

function plainProgress(err: (text: string) => void, style: ChalkInstance): Progress {
  return {
    update: () => undefined,
    succeed: (text) => {
      err(`${style.green('✔')} ${text}\n`);
    },
    fail: (text) => {
      err(`${style.red('✖')} ${text}\n`);
    },
  };
}

export function processTerminal(env: NodeJS.ProcessEnv = process.env): Terminal {
  const level = chalk.level > 0 ? chalk.level : 1;
  const errStyle = new Chalk({ level: colourFor(process.stderr, env) ? level : 0 });
  const err = (text: string): void => {
    process.stderr.write(text);
  };
  // A terminal that reports no width (a pty nobody sized) cannot be drawn on: ora would count its
  // lines as infinite and clear them forever.
  const spinning = process.stderr.isTTY && process.stderr.columns > 0 && (env['CI'] ?? '') === '';
  return {
    out: (text) => process.stdout.write(text),
    err,
    outIsTty: process.stdout.isTTY,
    errIsTty: process.stderr.isTTY,
    outStyle: new Chalk({ level: colourFor(process.stdout, env) ? level : 0 }),
    errStyle,
    withProgress: async (text, task) => {
      if (!spinning) return task(plainProgress(err, errStyle));
      const { default: ora } = await import('ora'); // ~60 ms to load; only spinners need it
      const spinner = ora({ text, stream: process.stderr, color: 'cyan' }).start();
      try {
        return await task({
          update: (next) => {
            spinner.text = next;
          },
          succeed: (final) => {
            spinner.succeed(final);
          },
          fail: (final) => {
            spinner.fail(final);
          },
        });
      } finally {
        // succeed/fail already stopped it; on a throw this clears the spinner's line so the error stays readable.
        if (spinner.isSpinning) spinner.stop();
      }
    },
  };
}
