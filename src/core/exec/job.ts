/**
 * Runs a user's command as a child with the terminal's stdin, stdout and stderr (inherited,
 * never read or copied), forwards stop signals to it, kills it after a timeout, and reports how
 * it ended with the exit code a shell would give: its own code, or 128+n when signal n killed it.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface JobSpec {
  command: string;
  args: readonly string[];
  env: Record<string, string | undefined>;
  cwd: string;
  /** Seconds; undefined for no limit. */
  timeoutSeconds?: number;
  /** Seconds between SIGTERM and SIGKILL when the timeout strikes. */
  killAfterSeconds: number;
}

export interface JobHooks {
  /** Registers the handler for signals pipeobs receives; returns the function that removes it. */
  onSignal(handler: (s: StopSignal) => void): () => void;
  /**
   * Whether a SIGINT pipeobs receives must be passed on. On an interactive terminal, Ctrl-C
   * already reaches the child (same process group); sending it again would be a second Ctrl-C.
   */
  forwardSigint: boolean;
}

export interface JobEnd {
  /** The code pipeobs exits with: the child's code, 128+n on signal n, 124 on timeout, 127/126 when it cannot start. */
  exitCode: number;
  /** The child's own exit code, null when a signal ended it or it never started. */
  childCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The stop signal pipeobs received and passed on, if any. */
  forwarded: StopSignal | null;
  /** Why the command could not start (not found, not executable). */
  spawnError: string | null;
  pid: number | null;
}

/** Exit code of `timeout(1)` when the limit was reached: schedulers already know it. */
export const TIMEOUT_EXIT_CODE = 124;

export function runJob(spec: JobSpec, hooks: JobHooks): Promise<JobEnd> {
  return new Promise((resolve) => {
    const end: JobEnd = { exitCode: 0, childCode: null, signal: null, timedOut: false, forwarded: null, spawnError: null, pid: null };
    let child;
    try {
      child = spawn(spec.command, [...spec.args], { stdio: 'inherit', env: spec.env, cwd: spec.cwd });
    } catch (err) {
      resolve({ ...end, exitCode: 127, spawnError: (err as Error).message });
      return;
    }
    end.pid = child.pid ?? null;
    let killTimer: NodeJS.Timeout | undefined;
    let timeoutTimer: NodeJS.Timeout | undefined;
    const removeSignal = hooks.onSignal((s) => {
      end.forwarded ??= s;
      if (s === 'SIGINT' && !hooks.forwardSigint) return;
      child.kill(s);
    });
    if (spec.timeoutSeconds !== undefined) {
      timeoutTimer = setTimeout(() => {
        end.timedOut = true;
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), spec.killAfterSeconds * 1000);
      }, spec.timeoutSeconds * 1000);
    }
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      removeSignal();
      resolve(end);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      // A child without a pid never started (ENOENT, EACCES); other errors (a failed kill) change nothing.
      if (end.pid !== null) return;
      end.spawnError = err.code === 'ENOENT' ? `command not found: ${spec.command}` : err.code === 'EACCES' ? `permission denied: ${spec.command}` : err.message;
      end.exitCode = err.code === 'EACCES' ? 126 : 127;
      finish();
    });
    child.once('exit', (code, signal) => {
      if (done) return;
      end.childCode = code;
      end.signal = signal;
      if (end.timedOut) end.exitCode = TIMEOUT_EXIT_CODE;
      else if (signal) end.exitCode = 128 + (constants.signals[signal] ?? 0);
      else end.exitCode = code ?? 1;
      finish();
    });
  });
}

/** Signals that mean someone asked the command to stop (the run is abandoned, not failed). */
export const STOP_SIGNALS: readonly string[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
