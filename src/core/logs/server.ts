/**
 * monitor-logs --server: follows the logs, serves what they say at /metrics, optionally pushes
 * it to VictoriaMetrics, and hands a report over the window to the caller every interval. Read
 * offsets are saved after every pass; SIGINT/SIGTERM end it with everything saved and pushed.
 */
import type client from 'prom-client';
import { createLogRegistry } from './exporter.js';
import { LogFollower, loadFollowState, saveFollowState } from './follow.js';
import { HOUR_MS } from './aggregate.js';
import { LogReader, type ReaderOptions } from './reader.js';
import { buildReport, type LogReport } from './report.js';

export interface LogServerOptions extends Omit<ReaderOptions, 'window'> {
  inputs: readonly string[];
  cwd: string;
  windowHours: number;
  intervalSeconds: number;
  pollMs: number;
  /** Look for new files every this many milliseconds. */
  rescanMs: number;
  stateFile: string | null;
  startAtEnd: boolean;
}

export interface LogServerHooks {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Ends the loop (signal handlers abort it). */
  stop: AbortSignal;
  /** Called with the registry once the follower has started, before the first poll: start /metrics here. */
  ready(registry: client.Registry, follower: LogFollower): Promise<void>;
  /** Every interval, and once at the end. */
  report(report: LogReport, registry: client.Registry, final: boolean): Promise<void>;
  problem(message: string): void;
}

export interface LogServerSummary {
  lines: number;
  files: number;
  passes: number;
  reports: number;
}

/** After a signal, the last pass reads for at most this long (the rest is read at the next start). */
const FINAL_PASS_MS = 2000;

export async function runLogServer(o: LogServerOptions, h: LogServerHooks): Promise<LogServerSummary> {
  const reader = new LogReader({ ...o, window: { sinceMs: -Infinity, untilMs: Infinity }, totals: true });
  const follower = new LogFollower(reader, { inputs: o.inputs, cwd: o.cwd, startAtEnd: o.startAtEnd, maxLineBytes: o.maxLineBytes });
  // A long catch-up stops at a signal between two chunks; the offsets saved stay exact.
  follower.shouldStop = () => h.stop.aborted;
  const saved = o.stateFile ? await loadFollowState(o.stateFile) : null;
  await follower.start(saved);
  for (const p of follower.takeProblems()) h.problem(p);
  let savedText = '';
  const save = async () => {
    if (!o.stateFile) return;
    // Written only when an offset moved: an idle server does not write (and fsync) four times a second.
    const state = follower.state();
    const text = JSON.stringify(state);
    if (text === savedText) return;
    await saveFollowState(o.stateFile, state).then(
      () => (savedText = text),
      (err: Error) => h.problem(`cannot save the state file: ${err.message}`),
    );
  };
  // Saved at once: a crash before the first pass must not make the next start skip to the end.
  await save();
  const registry = createLogRegistry({ reader, filesFollowed: () => follower.count });
  await h.ready(registry, follower);
  const summary: LogServerSummary = { lines: 0, files: 0, passes: 0, reports: 0 };
  let lastRescan = 0;
  let nextReport = h.now().getTime() + o.intervalSeconds * 1000;
  const makeReport = () => {
    const until = h.now().getTime();
    const window = { sinceMs: until - o.windowHours * HOUR_MS, untilMs: until };
    reader.aggregator.prune(Math.floor(window.sinceMs / HOUR_MS));
    return buildReport(reader, [], window, new Date(until));
  };
  try {
    while (!h.stop.aborted) {
      const t = h.now().getTime();
      const rescan = t - lastRescan >= o.rescanMs;
      if (rescan) lastRescan = t;
      try {
        summary.lines += await follower.poll(rescan);
      } catch (err) {
        h.problem(`reading the logs failed: ${(err as Error).message}`);
      }
      summary.passes++;
      for (const p of follower.takeProblems()) h.problem(p);
      await save();
      if (h.now().getTime() >= nextReport) {
        nextReport += o.intervalSeconds * 1000;
        if (nextReport <= h.now().getTime()) nextReport = h.now().getTime() + o.intervalSeconds * 1000;
        await h.report(makeReport(), registry, false);
        summary.reports++;
      }
      // A pass that read many lines is catching up: go again at once rather than wait.
      if (follower.lastPollLines < 10_000 || h.stop.aborted) await h.sleep(o.pollMs, h.stop);
    }
    // The last lines written before the signal, for a moment at most.
    const deadline = h.now().getTime() + FINAL_PASS_MS;
    follower.shouldStop = () => h.now().getTime() >= deadline;
    summary.lines += await follower.poll(false);
    for (const p of follower.takeProblems()) h.problem(p);
    await save();
    await h.report(makeReport(), registry, true);
    summary.reports++;
  } finally {
    summary.files = follower.count;
    await follower.close();
  }
  return summary;
}
