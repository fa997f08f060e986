/**
 * The stream layer for line protocol: reads inputs line by line in bounded memory, checks
 * every line, batches the valid ones by line count and bytes, and hands batches to a sink
 * with a small number in flight. Invalid lines are counted by reason and the first ones kept
 * with their file and line number; they are never sent.
 */
import { loadNative } from '../native/load.js';
import { lineEnd, scanLine, unitsPerMs, type TimeBounds } from './line-protocol.js';

/**
 * The native twin of scanLine (native/lpscan.c, prebuilt in the package or built at install): it checks
 * a whole chunk in one call, at a tenth of the CPU, which on a 2-core machine is CPU that
 * VictoriaMetrics needs to ingest what is sent. Without it (no compiler at install), the
 * TypeScript scanner does the same work; it also gives the reason for every invalid line.
 */
interface NativeScanner {
  scanChunk(buf: Buffer, start: number, limit: number, minMs: number, maxMs: number, unitsPerMs: number): Int32Array;
}
let lineScanner: NativeScanner | null | undefined;
/** The native scanner, loaded on first use (checking the binary is no cost of start-up or --help), or null. */
export function nativeScanner(): NativeScanner | null {
  if (lineScanner === undefined) lineScanner = loadNative<NativeScanner>('lpscan');
  return lineScanner;
}

export interface InvalidLine {
  source: string;
  line: number;
  reason: string;
  excerpt: string;
}

/** Where a batch came from: its samples and the input lines they were read from. */
export interface BatchOrigin {
  samples: number;
  source: string;
  firstLine: number;
  lastLine: number;
}

export interface BatchSink {
  /** Delivers one batch: whole lines, each ending in \n, in pieces to be sent one after the other. */
  send(body: readonly Buffer[], lines: number, bytes: number, origin: BatchOrigin): Promise<void>;
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
  /** Use the TypeScript scanner even when the native one is built. */
  portable?: boolean;
  /**
   * Gives lines without a timestamp one: the time their chunk was read, in the bounds' precision.
   * Sent as is, VictoriaMetrics would stamp them on arrival, and a retried or spooled copy of the
   * batch would land at another time instead of being deduplicated. Absent: lines go as they are.
   */
  stampMissing?: () => number;
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
    .replace(/\b\d{5,}\b/g, 'N')
    .replace(/\bbyte \d+/g, 'byte N')
    .replace(/: write [^)]*\)/g, ': write …)')
    .replace(/the number \S+$/, 'the number …');
}

const NEWLINE = Buffer.from('\n');

/**
 * Checks every line of one input and sends the valid ones in batches. Lines are never decoded
 * or copied one by one: consecutive valid lines form runs of the read buffer, and a batch is
 * those runs joined once.
 */
export async function streamLineProtocol(
  sourceName: string,
  input: AsyncIterable<Buffer | string>,
  opts: StreamOptions,
  sink: BatchSink,
  report: StreamReport,
): Promise<void> {
  let pieces: Buffer[] = [];
  let batchLines = 0;
  let batchBytes = 0;
  let batchSamples = 0;
  let batchFirstLine = 0;
  let batchLastLine = 0;
  // The run of consecutive valid lines being collected: buf[runStart, runEnd).
  let runBuf: Buffer | null = null;
  let runStart = 0;
  let runEnd = 0;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;

  const closeRun = () => {
    if (runBuf) {
      pieces.push(runBuf.subarray(runStart, runEnd), NEWLINE);
      runBuf = null;
    }
  };
  const flush = async () => {
    closeRun();
    if (batchLines === 0) return;
    const body = pieces;
    const lines = batchLines;
    const bytes = body.reduce((n, b) => n + b.length, 0);
    const origin: BatchOrigin = { samples: batchSamples, source: sourceName, firstLine: batchFirstLine, lastLine: batchLastLine };
    pieces = [];
    batchLines = 0;
    batchBytes = 0;
    batchSamples = 0;
    report.batches++;
    report.bytes += bytes;
    const p: Promise<void> = sink.send(body, lines, bytes, origin).then(
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
  const invalidAt = (line: number, reason: string, excerpt: string) => {
    report.invalidLines++;
    const kind = reasonKind(reason);
    report.invalidByReason[kind] = (report.invalidByReason[kind] ?? 0) + 1;
    if (report.invalid.length < opts.keepInvalid) report.invalid.push({ source: sourceName, line, reason, excerpt });
  };

  // The scanner finds line ends itself (it reads every byte anyway), so lines are not split in a
  // separate pass. Only a partial last line is carried over to the next read buffer.
  let carry: Buffer | null = null;
  const stampMissing = opts.stampMissing;
  let stamp: Buffer | null = null;
  let skipping = 0; // > 0 while discarding an over-long line: its length so far
  let lineNo = 0;
  const tooLong = (bytes: number) => {
    report.lines++;
    closeRun();
    invalidAt(++lineNo, `line is ${bytes} bytes, longer than the ${opts.maxLineBytes}-byte limit (VictoriaMetrics' -influx.maxLineSize); VictoriaMetrics fails the request there`, '');
  };
  /** Accounts for one line; true when the batch is full and must be flushed. */
  const take = (buf: Buffer, pos: number, end: number, verdict: number | string): boolean => {
    if (end - pos > opts.maxLineBytes) {
      tooLong(end - pos);
      return false;
    }
    report.lines++;
    lineNo++;
    if (typeof verdict === 'string') {
      closeRun();
      invalidAt(lineNo, verdict, excerptOf(buf, pos, end));
      return false;
    }
    if (verdict === 0) {
      closeRun(); // blank or comment: nothing to send
      return false;
    }
    report.validLines++;
    report.samples += verdict;
    if (batchLines === 0) batchFirstLine = lineNo;
    batchLastLine = lineNo;
    batchSamples += verdict;
    const e = end > pos && buf[end - 1] === 13 ? end - 1 : end;
    if (stampMissing && !hasTimestamp(buf, pos, e)) {
      closeRun();
      stamp ??= Buffer.from(` ${timestampIn(stampMissing(), opts.bounds.precision)}\n`);
      pieces.push(buf.subarray(pos, e), stamp);
      batchLines++;
      batchBytes += e - pos + stamp.length;
      return batchLines >= opts.batchLines || batchBytes >= opts.batchBytes;
    }
    if (runBuf === buf && pos === runEnd + 1) runEnd = e;
    else {
      closeRun();
      runBuf = buf;
      runStart = pos;
      runEnd = e;
    }
    batchLines++;
    batchBytes += end - pos + 1;
    return batchLines >= opts.batchLines || batchBytes >= opts.batchBytes;
  };
  const scan = async (buf: Buffer, limit: number) => {
    const native = opts.portable ? null : nativeScanner();
    if (native) {
      const r = native.scanChunk(buf, 0, limit, opts.bounds.minMs, opts.bounds.maxMs, unitsPerMs(opts.bounds.precision));
      for (let k = 0; k < r.length; k += 3) {
        // The native scanner says only "invalid": the reference scanner says why.
        if (take(buf, r[k], r[k + 1], r[k + 2] >= 0 ? r[k + 2] : scanLine(buf, r[k], limit, opts.bounds))) await flush();
      }
    } else {
      let pos = 0;
      while (pos < limit) {
        const verdict = scanLine(buf, pos, limit, opts.bounds);
        const end = lineEnd;
        if (take(buf, pos, end, verdict)) await flush();
        pos = end + 1;
      }
    }
    closeRun(); // a run never spans two read buffers
  };

  // An input that fails midway (a cut .gz, an I/O error): the whole lines read before it are
  // still sent, then the error is raised. A partial last line is not sent.
  let readError: { error: unknown } | null = null;
  const guarded = (async function* () {
    try {
      yield* input;
    } catch (error) {
      readError = { error };
    }
  })();
  for await (const raw of guarded) {
    stamp = null; // lines of this chunk without a timestamp get the time it was read
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    if (skipping > 0) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        skipping += chunk.length;
        continue;
      }
      tooLong(skipping + nl);
      skipping = 0;
      chunk = chunk.subarray(nl + 1);
    }
    const last = chunk.lastIndexOf(10);
    if (last < 0) {
      carry = carry ? Buffer.concat([carry, chunk]) : chunk;
      if (carry.length > opts.maxLineBytes) {
        skipping = carry.length;
        carry = null;
      }
      continue;
    }
    let buf = chunk;
    let limit = last;
    if (carry) {
      buf = Buffer.concat([carry, chunk]);
      limit = carry.length + last;
      carry = null;
    }
    await scan(buf, limit);
    if (last + 1 < chunk.length) {
      carry = chunk.subarray(last + 1);
      if (carry.length > opts.maxLineBytes) {
        skipping = carry.length;
        carry = null;
      }
    }
    opts.onProgress?.({ lines: report.lines, bytes: report.bytes });
  }
  if (readError) {
    await flush();
    await Promise.all(inFlight);
    if (failure) throw failure;
    throw (readError as { error: unknown }).error;
  }
  if (skipping > 0) tooLong(skipping);
  else if (carry) await scan(carry, carry.length);
  await flush();
  await Promise.all(inFlight);
  if (failure) throw failure;
}

/**
 * Whether a valid line ends in a timestamp: digits (with an optional minus) after an unescaped
 * space. A valid line holds no string fields, so the last space-separated token is either the
 * field set or the timestamp, and a field set never ends in " <digits>". Reads only the tail.
 */
export function hasTimestamp(b: Uint8Array, start: number, end: number): boolean {
  let i = end - 1;
  while (i >= start && b[i] >= 48 && b[i] <= 57) i--;
  if (i === end - 1) return false;
  if (i >= start && b[i] === 45) i--;
  if (i < start || b[i] !== 32) return false;
  let backslashes = 0;
  for (let j = i - 1; j >= start && b[j] === 92; j--) backslashes++;
  return backslashes % 2 === 0;
}

function timestampIn(ms: number, precision: TimeBounds['precision']): string {
  const units: Record<string, bigint> = { ns: 1_000_000n, us: 1000n, ms: 1n };
  return precision === 's' ? String(Math.floor(ms / 1000)) : String(BigInt(Math.floor(ms)) * units[precision]);
}

function excerptOf(buf: Buffer, s: number, e: number): string {
  const text = buf.toString('utf8', s, Math.min(e, s + 120)).replace(/[\x00-\x1f\x7f]/g, '?');
  return text.length > 80 || e - s > 120 ? `${text.slice(0, 80)}…` : text;
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
