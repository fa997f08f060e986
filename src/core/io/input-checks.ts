/**
 * The mistakes every command that reads input files can meet, with one wording and one exit code
 * each, so the same mistake is the same error in push-influx, monitor-logs and the rest:
 *   missing or unreadable input → usage error (2), checked before anything is read or sent;
 *   empty input (no lines at all) → check failed (5), after what there was has been reported.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { CheckFailedError, UsageError } from '../errors.js';

const GLOB = /[*?[\]{}]/;

export interface InputCheckOptions {
  /** Directories are inputs (monitor-logs reads the logs in them) rather than mistakes. */
  directories: boolean;
}

/**
 * Throws a usage error for the first named input that does not exist or cannot be read. "-" is
 * stdin; globs are left to the reader, which says when one matches nothing.
 */
export async function checkInputsReadable(inputs: readonly string[], cwd: string, opts: InputCheckOptions): Promise<void> {
  for (const input of inputs) {
    if (input === '-' || GLOB.test(input)) continue;
    const file = path.resolve(cwd, input);
    const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${input}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.code === 'EACCES' ? 'permission denied' : err.message}`,
        err.code === 'ENOENT' ? 'check the path (relative paths start from the current directory)' : undefined);
    });
    if (st.isDirectory() && !opts.directories) throw new UsageError(`cannot read ${input}: it is a directory`, 'give the files in it');
    await access(file, constants.R_OK).catch(() => {
      throw new UsageError(`cannot read ${input}: permission denied`);
    });
  }
}

/** The error for input that held no lines at all. */
export function emptyInputError(inputs: readonly string[], detail = 'it is empty'): CheckFailedError {
  return new CheckFailedError(`no data in the input (${inputs.join(', ')}): ${detail}`, 'check that the writer wrote where you read, and the window');
}
