/** A log-reading worker thread (see parallel.ts): reads its tasks into one LogReader and sends it back. */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerMessage, WorkerRequest } from './parallel.js';
import { readTasks } from './parallel.js';
import { LogReader } from './reader.js';

const request = workerData as WorkerRequest;
const reader = new LogReader({ ...request.options, components: request.options.components ? new Set(request.options.components) : null });
// "stop" (the user pressed Ctrl-C): finish the current chunk and send what was read.
parentPort!.on('message', (m) => {
  if (m === 'stop') reader.stopped = true;
});
parentPort!.unref();
const tasks = await readTasks(reader, request.tasks, (bytes, lines) => parentPort!.postMessage({ type: 'progress', bytes, lines } satisfies WorkerMessage));
parentPort!.postMessage({
  type: 'done',
  aggregator: reader.aggregator.toPlain(),
  linesRead: reader.linesRead,
  blankLines: reader.blankLines,
  otherComponentLines: reader.otherComponentLines,
  bytesRead: reader.bytesRead,
  tasks,
} satisfies WorkerMessage);
