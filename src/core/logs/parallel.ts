/**
 * A batch report on several cores: large files are cut into byte ranges at line starts, files
 * and ranges are shared among worker threads, each runs its own LogReader, and the results are
 * merged (sketches merge exactly). Line numbers of skipped lines are put back in whole-file terms.
 */
import { open, stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { openForScanning } from '../io/lines.js';
import { SkipLog, type AggregatorPlain, type SkipExample } from './aggregate.js';
import type { SkipReason } from './formats.js';
import { LogReader, type InputResult, type ReaderOptions } from './reader.js';

export interface RangeTask {
  index: number;
  /** Path to open. */
  file: string;
  /** Name in the report. */
  name: string;
  start: number;
  /** Exclusive; Infinity for the whole file. */
  end: number;
}

export interface TaskResult {
  index: number;
  lines: number;
  bytes: number;
  error?: string;
  interrupted?: true;
  skipCounts: Array<[SkipReason, number]>;
  skipExamples: Array<[SkipReason, SkipExample[]]>;
}

export type WorkerRequest = { options: Omit<ReaderOptions, 'components'> & { components: string[] | null }; tasks: RangeTask[] };
export type WorkerMessage =
  | { type: 'progress'; bytes: number; lines: number }
  | { type: 'done'; aggregator: AggregatorPlain; linesRead: number; blankLines: number; otherComponentLines: number; bytesRead: number; tasks: TaskResult[] };

/** Files at least this large are cut into ranges; smaller ones (and gzip files) go whole. */
const SPLIT_BYTES = 8 << 20;

async function isGzip(file: string): Promise<boolean> {
  const h = await open(file, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await h.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await h.close();
  }
}

/** The first line start at or after pos (the byte after a \n), or size. */
async function lineStartAfter(file: string, pos: number, size: number): Promise<number> {
  const h = await open(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    for (let at = pos - 1; at < size; at += buf.length) {
      const { bytesRead } = await h.read(buf, 0, buf.length, at);
      if (bytesRead === 0) break;
      const nl = buf.indexOf(10);
      if (nl >= 0 && nl < bytesRead) return at + nl + 1;
    }
    return size;
  } finally {
    await h.close();
  }
}

/** Tasks for the files: ranges of about size/parts bytes for big plain files, whole files otherwise. */
export async function planTasks(files: ReadonlyArray<{ file: string; name: string }>, parts: number): Promise<RangeTask[]> {
  const tasks: RangeTask[] = [];
  for (const { file, name } of files) {
    let size = 0;
    try {
      size = (await stat(file)).size;
    } catch {
      tasks.push({ index: tasks.length, file, name, start: 0, end: Infinity });
      continue;
    }
    if (size < SPLIT_BYTES || (await isGzip(file).catch(() => true))) {
      tasks.push({ index: tasks.length, file, name, start: 0, end: Infinity });
      continue;
    }
    let start = 0;
    for (let k = 1; k <= parts && start < size; k++) {
      const end = k === parts ? size : await lineStartAfter(file, Math.floor((k * size) / parts), size);
      if (end > start) tasks.push({ index: tasks.length, file, name, start, end: k === parts ? Infinity : end });
      start = end;
    }
  }
  return tasks;
}

/** Reads tasks into a reader, each with its own skip log (its line numbers count from the range's start). */
export async function readTasks(reader: LogReader, tasks: readonly RangeTask[], onProgress?: (bytes: number, lines: number) => void): Promise<TaskResult[]> {
  const results: TaskResult[] = [];
  let bytesBefore = 0;
  let lastSent = 0;
  for (const task of tasks) {
    if (reader.stopped) break;
    reader.skips = new SkipLog();
    let result: InputResult;
    try {
      const source = await openForScanning(task.file, process.stdin, task.start, task.end);
      result = await reader.readStream(source, task.name, (bytes) => {
        const now = Date.now();
        if (now - lastSent < 100) return;
        lastSent = now;
        onProgress?.(bytesBefore + bytes, reader.linesRead);
      });
    } catch (err) {
      result = { file: task.name, lines: 0, bytes: 0, error: (err as Error).message };
    }
    bytesBefore += result.bytes;
    results.push({
      index: task.index,
      lines: result.lines,
      bytes: result.bytes,
      ...(result.error ? { error: result.error } : {}),
      ...(result.interrupted ? { interrupted: true as const } : {}),
      skipCounts: [...reader.skips.counts],
      skipExamples: [...reader.skips.examples],
    });
  }
  return results;
}

/**
 * Runs the tasks on `workers` threads, the main one among them (it would only wait otherwise),
 * and merges everything into `reader`; returns one result per file.
 */
export async function runParallel(reader: LogReader, tasks: RangeTask[], workers: number, onProgress?: (bytes: number, lines: number) => void, stop?: AbortSignal): Promise<InputResult[]> {
  const threads: Worker[] = [];
  const locals: LogReader[] = [];
  const onStop = () => {
    for (const t of threads) t.postMessage('stop');
    for (const l of locals) l.stopped = true;
  };
  stop?.addEventListener('abort', onStop, { once: true });
  // Share tasks by size, largest first, to the least loaded worker.
  const sizes = await Promise.all(tasks.map(async (t) => (t.end === Infinity ? (await stat(t.file).catch(() => ({ size: 0 }))).size - t.start : t.end - t.start)));
  const queues: RangeTask[][] = Array.from({ length: workers }, () => []);
  const load = new Array<number>(workers).fill(0);
  for (const i of tasks.map((_, i) => i).sort((a, b) => sizes[b] - sizes[a])) {
    const w = load.indexOf(Math.min(...load));
    queues[w].push(tasks[i]);
    load[w] += sizes[i];
  }
  const { components, ...rest } = reader.options;
  const progress = new Array<{ bytes: number; lines: number }>(workers).fill({ bytes: 0, lines: 0 });
  const results = await Promise.all(
    queues.map(
      (queue, w) =>
        new Promise<Extract<WorkerMessage, { type: 'done' }>>((resolve, reject) => {
          if (queue.length === 0) {
            resolve({ type: 'done', aggregator: { groups: [], overflow: [], linesUsed: 0 }, linesRead: 0, blankLines: 0, otherComponentLines: 0, bytesRead: 0, tasks: [] });
            return;
          }
          if (w === 0) {
            // The main thread's share, read here once the others have started.
            const local = new LogReader(reader.options);
            locals.push(local);
            if (stop?.aborted) local.stopped = true;
            setImmediate(() => {
              readTasks(local, queue.sort((a, b) => a.index - b.index), (bytes, lines) => {
                progress[0] = { bytes, lines };
                onProgress?.(progress.reduce((a, p) => a + p.bytes, 0), progress.reduce((a, p) => a + p.lines, 0));
              }).then(
                (tasks) => resolve({ type: 'done', aggregator: local.aggregator.toPlain(), linesRead: local.linesRead, blankLines: local.blankLines, otherComponentLines: local.otherComponentLines, bytesRead: local.bytesRead, tasks }),
                reject,
              );
            });
            return;
          }
          const request: WorkerRequest = { options: { ...rest, components: components ? [...components] : null }, tasks: queue.sort((a, b) => a.index - b.index) };
          const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: request });
          threads.push(worker);
          if (stop?.aborted) worker.postMessage('stop');
          worker.on('message', (m: WorkerMessage) => {
            if (m.type === 'progress') {
              progress[w] = { bytes: m.bytes, lines: m.lines };
              onProgress?.(progress.reduce((a, p) => a + p.bytes, 0), progress.reduce((a, p) => a + p.lines, 0));
            } else resolve(m);
          });
          worker.once('error', reject);
          worker.once('exit', (code) => {
            if (code !== 0) reject(new Error(`a log-reading worker exited with code ${code}`));
          });
        }),
    ),
  );
  stop?.removeEventListener('abort', onStop);
  const byIndex = new Map<number, TaskResult>();
  for (const r of results) {
    reader.aggregator.mergePlain(r.aggregator);
    reader.linesRead += r.linesRead;
    reader.blankLines += r.blankLines;
    reader.otherComponentLines += r.otherComponentLines;
    reader.bytesRead += r.bytesRead;
    for (const t of r.tasks) byIndex.set(t.index, t);
  }
  // Per file, in task order: line numbers of later ranges continue from the earlier ones.
  const inputs = new Map<string, InputResult>();
  for (const task of tasks) {
    const t = byIndex.get(task.index);
    const input: InputResult = inputs.get(task.name) ?? { file: task.name, lines: 0, bytes: 0 };
    if (!t) {
      // Never started: stopped before its turn.
      input.interrupted = true;
      inputs.set(task.name, input);
      continue;
    }
    if (t.interrupted) input.interrupted = true;
    const offset = input.lines;
    reader.skips.merge(t.skipCounts, t.skipExamples.map(([r, ex]) => [r, ex.map((e) => ({ ...e, line: e.line + offset }))]));
    input.lines += t.lines;
    input.bytes += t.bytes;
    if (t.error && !input.error) input.error = t.error;
    inputs.set(task.name, input);
  }
  return [...inputs.values()];
}
