/**
 * The stream layer for line protocol: reads inputs line by line in bounded memory, checks
 * every line, batches the valid ones by line count and bytes, and hands batches to a sink
 * with a small number in flight. Invalid lines are counted by reason and the first ones kept
 * with their file and line number; they are never sent.
 */
import { checkLine, type TimeBounds } from './line-protocol.js';
import { readLineBatches } from '../io/lines.js';

export interface InvalidLine {
  source: string;
  line: number;
  reason: string;
  excerpt: string;
}

export interface BatchSink {
  /** Delivers one batch (lines joined with \n, ending in \n). */
  send(body: string, lines: number): Promise<void>;
}

export interface StreamOptions {
  bounds: TimeBounds;
  batchLines: number;
  batchBytes: number;
  maxLineBytes: number;
  /** Batches in flight at once. */
  concurrency: number;
  /** How many invalid lines to keep with their positions. */
  keepInvalid: number;
  onProgress?(p: { lines: number; bytes: number }): void;
}

export interface StreamReport {
  lines: number;
  validLines: number;
  invalidLines: number;
  samples: number;
  batches: number;
  bytes: number;
  invalid: InvalidLine[];
  invalidByReason: Record<string, number>;
}

export function emptyReport(): StreamReport {
  return { lines: 0, validLines: 0, invalidLines: 0, samples: 0, batches: 0, bytes: 0, invalid: [], invalidByReason: {} };
}

/** 'field "x": "abc" is not a number' → 'field …: … is not a number': reasons without their values, for counting. */
export function reasonKind(reason: string): string {
  return reason
    .replace(/"(?:[^"\\]|\\.)*"/g, '…')
    .replace(/ \([^)]*\d{4}-\d\d-[^)]*\)/g, '')
    .replace(/\b\d{5,}\b/g, 'N');
}

export async function streamLineProtocol(
  sourceName: string,
  input: AsyncIterable<Buffer | string>,
  opts: StreamOptions,
  sink: BatchSink,
  report: StreamReport,
): Promise<void> {
  let parts: string[] = [];
  let partBytes = 0;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;

  const flush = async () => {
    if (parts.length === 0) return;
    const body = parts.join('\n') + '\n';
    const lines = parts.length;
    parts = [];
    partBytes = 0;
    report.batches++;
    report.bytes += body.length;
    const p: Promise<void> = sink.send(body, lines).then(
      () => void inFlight.delete(p),
      (err) => {
        inFlight.delete(p);
        failure ??= err;
      },
    );
    inFlight.add(p);
    if (inFlight.size >= opts.concurrency) await Promise.race(inFlight);
    if (failure) throw failure;
  };

  const invalid = (line: number, reason: string, text: string) => {
    report.invalidLines++;
    const kind = reasonKind(reason);
    report.invalidByReason[kind] = (report.invalidByReason[kind] ?? 0) + 1;
    if (report.invalid.length < opts.keepInvalid) {
      const excerpt = text.length > 80 ? `${text.slice(0, 80)}…` : text;
      report.invalid.push({ source: sourceName, line, reason, excerpt });
    }
  };

  for await (const batch of readLineBatches(input, opts.maxLineBytes)) {
    for (const item of batch) {
      report.lines++;
      if ('tooLong' in item) {
        invalid(item.lineNo, `line is ${item.tooLong} bytes, longer than the ${opts.maxLineBytes}-byte limit (VictoriaMetrics' -influx.maxLineSize)`, '');
        continue;
      }
      const verdict = checkLine(item.text, opts.bounds);
      if (typeof verdict === 'string') {
        invalid(item.lineNo, verdict, item.text.replace(/[\x00-\x1f\x7f]/g, '?'));
        continue;
      }
      if (verdict === 0) continue;
      report.validLines++;
      report.samples += verdict;
      parts.push(item.text);
      partBytes += item.text.length + 1;
      if (parts.length >= opts.batchLines || partBytes >= opts.batchBytes) await flush();
    }
    opts.onProgress?.({ lines: report.lines, bytes: report.bytes });
  }
  await flush();
  await Promise.all(inFlight);
  if (failure) throw failure;
}

/** Parses VictoriaMetrics' -retentionPeriod ("1" = 1 month, "30d", "2w", "100y", "12h") into milliseconds. */
export function parseRetention(raw: string): number | null {
  const m = /^(\d+(?:\.\d+)?)([hdwy]?)$/.exec(raw.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const day = 86_400_000;
  switch (m[2]) {
    case 'h':
      return n * 3_600_000;
    case 'd':
      return n * day;
    case 'w':
      return n * 7 * day;
    case 'y':
      return n * 365 * day;
    default:
      return n * 31 * day;
  }
}
