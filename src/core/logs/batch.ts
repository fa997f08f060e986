/**
 * A batch report over files, directories, globs and stdin: every input read once, in bounded
 * memory, into one LogReader. An input that cannot be read (missing, vanished mid-read,
 * permission denied) is reported with what was read before it; the others go on.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import { openInput } from '../io/lines.js';
import { expandInputs } from './inputs.js';
import { LogReader, type InputResult, type ReaderOptions } from './reader.js';
import { buildReport, type LogReport } from './report.js';

export interface BatchOptions extends ReaderOptions {
  inputs: readonly string[];
  cwd: string;
}

export interface BatchProgress {
  file: string;
  fileIndex: number;
  files: number;
  bytes: number;
  lines: number;
}

export interface BatchResult {
  report: LogReport;
  unmatched: string[];
}

export async function runBatch(o: BatchOptions, stdin: Readable, now: Date, onProgress?: (p: BatchProgress) => void): Promise<BatchResult> {
  const expanded = await expandInputs(o.inputs, o.cwd);
  const sources = [...expanded.files, ...(expanded.stdin ? ['-'] : [])];
  const reader = new LogReader(o);
  const results: InputResult[] = [];
  for (const [i, file] of sources.entries()) {
    const name = file === '-' ? '(stdin)' : displayPath(file, o.cwd);
    let source: AsyncIterable<Buffer>;
    try {
      source = await openInput(file, stdin);
    } catch (err) {
      results.push({ file: name, lines: 0, bytes: 0, error: (err as Error).message });
      continue;
    }
    results.push(await reader.readStream(source, name, (bytes) => onProgress?.({ file: name, fileIndex: i, files: sources.length, bytes, lines: reader.linesRead })));
  }
  return { report: buildReport(reader, results, o.window, now), unmatched: expanded.unmatched };
}

/** A file as reports show it: relative to the working directory when inside it. */
export function displayPath(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}
