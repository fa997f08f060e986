/**
 * Everything a command needs from the outside world, injected once. bin/pipeobs builds the
 * real set; tests build their own with captured output and a fixed clock. Nothing under
 * src/core reads process.env, the clock, or the process's streams directly.
 */
import type { Readable } from 'node:stream';
import type { Env } from './config/config.js';
import type { Out } from './output/terminal.js';

export interface Deps {
  now(): Date;
  env: Env;
  cwd: string;
  stdout: Out;
  stderr: Out;
  stdin: Readable;
  /** Registers a handler for SIGINT/SIGTERM; returns a function that removes it. */
  onSignal(handler: (signal: 'SIGINT' | 'SIGTERM') => void): () => void;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
