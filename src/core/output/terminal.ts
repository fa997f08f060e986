/**
 * The streams a command writes to, and what they allow: colour only on a terminal and
 * without NO_COLOR; spinners only on a terminal and never in CI.
 */
import type { ChalkInstance } from 'chalk';
import type { Ora } from 'ora';

export interface Out {
  write(chunk: string | Uint8Array): unknown;
  readonly isTTY?: boolean;
}

export interface TerminalOptions {
  noColor: boolean;
  ci: boolean;
}

let ChalkClass: typeof import('chalk').Chalk | null = null;

/** Loads chalk (10 ms of start-up): done once by cli.ts when stdout or stderr is a terminal. */
export async function loadColors(): Promise<void> {
  ChalkClass ??= (await import('chalk')).Chalk;
}

/**
 * Every style of chalk as a no-op, at level 0: what output that is not a terminal gets, without
 * loading chalk. Any chain of style names (c.bold.cyan) is itself, and calling it returns the text.
 */
const plain: ChalkInstance = new Proxy((...text: unknown[]) => text.join(' '), {
  get(target, prop) {
    if (prop === 'level') return 0;
    // Not a thenable, and a function to everything that inspects it.
    if (prop === 'then' || typeof prop === 'symbol' || prop in Function.prototype) return Reflect.get(target, prop);
    return plain;
  },
}) as unknown as ChalkInstance;

export function colorFor(out: Out, opts: TerminalOptions): ChalkInstance {
  const level = out.isTTY && !opts.noColor ? 1 : 0;
  // Without loadColors() (a caller outside cli.ts), text stays plain rather than waiting for chalk.
  return level && ChalkClass ? new ChalkClass({ level }) : plain;
}

export interface Progress {
  /** false when nothing is shown (not a terminal, or CI): callers can skip preparing texts. */
  readonly active: boolean;
  update(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
  stop(): void;
}

const silent: Progress = { active: false, update() {}, succeed() {}, fail() {}, stop() {} };

/**
 * A spinner on stderr when it is a terminal outside CI; otherwise nothing at all. ora is loaded
 * only then (it costs ~100 ms of start-up), so the spinner appears a moment after the call.
 */
export function startProgress(stderr: Out, opts: TerminalOptions, text: string): Progress {
  // A terminal that reports no width (script(1), some CI runners) would make ora redraw an
  // unbounded number of lines: no spinner there.
  const columns = (stderr as { columns?: number }).columns ?? 0;
  if (!stderr.isTTY || opts.ci || columns <= 0) return silent;
  let spinner: Ora | null = null;
  let current = text;
  let finished = false;
  void import('ora').then(({ default: ora }) => {
    if (finished) return;
    spinner = ora({ text: current, stream: stderr as unknown as NodeJS.WritableStream, color: opts.noColor ? undefined : 'cyan', isEnabled: true }).start();
  });
  const end = (symbol: string, t: string, method: 'succeed' | 'fail' | null) => {
    finished = true;
    if (spinner && method) spinner[method](t);
    else if (spinner) spinner.stop();
    else if (method) stderr.write(`${symbol} ${t}\n`);
  };
  return {
    active: true,
    update: (t) => {
      current = t;
      if (spinner) spinner.text = t;
    },
    succeed: (t) => end('✔', t, 'succeed'),
    fail: (t) => end('✖', t, 'fail'),
    stop: () => end('', '', null),
  };
}
