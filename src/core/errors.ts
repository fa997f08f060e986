/**
 * Every failure pipeobs reports on purpose is a PipeobsError: it carries the exit
 * code, a message that says what failed and why, and a hint that says what to do next.
 * Anything else reaching the top level is a crash (exit code 1).
 */
export const ExitCode = {
  ok: 0,
  /** The work failed (a pipeline run failed), or an unexpected internal error (stack trace under --debug). */
  failure: 1,
  usage: 2,
  config: 3,
  unreachable: 4,
  checkFailed: 5,
  /**
   * Nothing failed for good, but data is not delivered yet: VictoriaMetrics was unreachable and
   * what was to be sent waits in the spool (`push-influx --flush-spool`, or the next push to the
   * same target, delivers it). Do not send the same input again: it is already kept.
   * 75 is EX_TEMPFAIL of sysexits.h ("try again later"), which cron wrappers and MTAs know.
   */
  spooled: 75,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class PipeobsError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint?: string;
  /** A stable, machine-readable kind for --output json. */
  readonly kind: string;
  constructor(kind: string, exitCode: ExitCodeValue, message: string, hint?: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

/** The user typed something the command cannot accept (flag value, argument). */
export class UsageError extends PipeobsError {
  constructor(message: string, hint?: string) {
    super('usage', ExitCode.usage, message, hint);
    this.name = 'UsageError';
  }
}

/** An environment variable or configuration file holds a value pipeobs cannot use. */
export class ConfigError extends PipeobsError {
  constructor(message: string, hint?: string) {
    super('config', ExitCode.config, message, hint);
    this.name = 'ConfigError';
  }
}

/** A server pipeobs depends on (VictoriaMetrics, an LLM endpoint...) did not answer or refused. */
export class UnreachableError extends PipeobsError {
  constructor(message: string, hint?: string, options?: ErrorOptions) {
    super('unreachable', ExitCode.unreachable, message, hint, options);
    this.name = 'UnreachableError';
  }
}

/** The work ran, but what it checked failed: invalid input lines, a quality gate, a verify check. */
export class CheckFailedError extends PipeobsError {
  constructor(message: string, hint?: string) {
    super('check_failed', ExitCode.checkFailed, message, hint);
    this.name = 'CheckFailedError';
  }
}

/** The work itself failed: a pipeline run failed in one of its stages. */
export class WorkFailedError extends PipeobsError {
  constructor(message: string, hint?: string) {
    super('failed', ExitCode.failure, message, hint);
    this.name = 'WorkFailedError';
  }
}

/** The work was done, but its data waits in the spool instead of VictoriaMetrics (exit 75). */
export class SpooledError extends PipeobsError {
  constructor(message: string, hint?: string) {
    super('spooled', ExitCode.spooled, message, hint);
    this.name = 'SpooledError';
  }
}

/** SIGINT/SIGTERM stopped the work; what was collected has been saved. */
export class InterruptedError extends PipeobsError {
  constructor(message = 'interrupted', hint?: string) {
    super('interrupted', ExitCode.interrupted, message, hint);
    this.name = 'InterruptedError';
  }
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause as { code?: string; message?: string; errors?: { code?: string }[] } | undefined;
    const detail = cause?.code ?? cause?.errors?.find((e) => e.code)?.code ?? cause?.message;
    return detail ? `${err.message}: ${detail}` : err.message;
  }
  return String(err);
}
