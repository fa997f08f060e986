/** Runs pipeobs in-process with captured output, a chosen environment, stdin and clock. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../src/cli.js';
import { realSleep, type Deps } from '../../src/core/deps.js';

export class Capture {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string | Uint8Array): boolean {
    this.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  stdin?: string | Buffer;
  now?: () => Date;
  cwd?: string;
  tty?: boolean;
  /** Receives the signal handler the command registers, so a test can "press Ctrl-C". */
  onSignalRegistered?: (fire: (s: 'SIGINT' | 'SIGTERM') => void) => void;
}

export function tempDir(prefix = 'pipeobs-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function runCli(argv: string[], opts: CliOptions = {}): Promise<CliRun> {
  const stdout = new Capture(opts.tty ?? false);
  const stderr = new Capture(opts.tty ?? false);
  const cwd = opts.cwd ?? tempDir();
  const deps: Deps = {
    now: opts.now ?? (() => new Date()),
    env: { HOME: cwd, PIPEOBS_SPOOL_DIR: path.join(cwd, 'spool'), ...opts.env },
    cwd,
    stdout,
    stderr,
    stdin: Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]),
    sleep: realSleep,
    onSignal(handler) {
      opts.onSignalRegistered?.(handler);
      return () => {};
    },
  };
  const code = await main(argv, deps);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
