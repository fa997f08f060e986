/** A log-reading worker thread (see parallel.ts): reads its tasks into one LogReader and sends it back. */
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { openInput } from '../io/lines.js';
import { SkipLog } from './aggregate.js';
import type { TaskResult, WorkerMessage, WorkerRequest } from './parallel.js';
import { LogReader } from './reader.js';

const request = workerData as WorkerRequest;
const reader = new LogReader({ ...request.options, components: request.options.components ? new Set(request.options.components) : null });
const results: TaskResult[] = [];
let bytesBefore = 0;
let lastSent = 0;
for (const task of request.tasks) {
  reader.skips = new SkipLog();
  let result;
  try {
    const source =
      task.start === 0 && task.end === Infinity
        ? await openInput(task.file, process.stdin)
        : createReadStream(task.file, { start: task.start, end: task.end === Infinity ? undefined : task.end - 1, highWaterMark: 1 << 20 });
    result = await reader.readStream(source, task.name, (bytes) => {
      const now = Date.now();
      if (now - lastSent < 100) return;
      lastSent = now;
      parentPort!.postMessage({ type: 'progress', bytes: bytesBefore + bytes, lines: reader.linesRead } satisfies WorkerMessage);
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
    skipCounts: [...reader.skips.counts],
    skipExamples: [...reader.skips.examples],
  });
}
parentPort!.postMessage({
  type: 'done',
  aggregator: reader.aggregator.toPlain(),
  linesRead: reader.linesRead,
  blankLines: reader.blankLines,
  otherComponentLines: reader.otherComponentLines,
  bytesRead: reader.bytesRead,
  tasks: results,
} satisfies WorkerMessage);
