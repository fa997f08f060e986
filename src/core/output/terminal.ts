/**
 * The streams a command writes to, and what they allow: colour only on a terminal and
 * without NO_COLOR; spinners only on a terminal and never in CI.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import ora, { type Ora } from 'ora';

export interface Out {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

export interface TerminalOptions {
  noColor: boolean;
  ci: boolean;
}

export function colorFor(out: Out, opts: TerminalOptions): ChalkInstance {
  return new Chalk({ level: out.isTTY && !opts.noColor ? 1 : 0 });
}

export interface Progress {
  update(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
  stop(): void;
}

const silent: Progress = { update() {}, succeed() {}, fail() {}, stop() {} };

/** A spinner on stderr when it is a terminal outside CI; otherwise nothing at all. */
export function startProgress(stderr: Out, opts: TerminalOptions, text: string): Progress {
  if (!stderr.isTTY || opts.ci) return silent;
  const spinner: Ora = ora({
    text,
    stream: stderr as unknown as NodeJS.WritableStream,
    color: opts.noColor ? undefined : 'cyan',
    isEnabled: true,
  }).start();
  return {
    update: (t) => {
      spinner.text = t;
    },
    succeed: (t) => spinner.succeed(t),
    fail: (t) => spinner.fail(t),
    stop: () => spinner.stop(),
  };
}
