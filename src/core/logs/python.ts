/**
 * Python's logging module with its stock layouts, recognised without configuration:
 *
 *   "%(asctime)s - %(name)s - %(levelname)s - %(message)s"   2026-11-20 10:00:00,123 - ingest.worker - INFO - Records ingested: 5100
 *   "%(asctime)s %(levelname)s %(name)s: %(message)s"        2026-11-20 10:00:00,123 INFO ingest.worker: Records ingested: 5100
 *
 * The component is the logger name's first dotted part ("ingest"), the group its full name;
 * lines count as errors at ERROR, CRITICAL or FATAL; the message's numbers are read as any
 * message's (message.ts). asctime has no zone: it is read as UTC, like every zoneless time.
 * native/logscan.c (python_line) reads the same shapes by the same rules.
 */

import { COMPONENT_NAME, pad, type GenLine } from './format-view.js';

/** The group label of every component made from logger names. */
export const PYTHON_GROUP_LABELS = ['logger'] as const;
/** The component of the root logger, and of logger names that cannot name one. */
export const PYTHON_FALLBACK_COMPONENT = 'python';

export interface PythonLineShape {
  /** End of asctime (exclusive); it starts at the line's start. */
  timeEnd: number;
  nameStart: number;
  nameEnd: number;
  levelStart: number;
  levelEnd: number;
  /** Start of the message; it ends at the line's end. */
  messageStart: number;
}

function digit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function letter(c: number): boolean {
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x7a;
}

/** asctime's shape: "YYYY-MM-DD HH:MM:SS" (or a T between), then ",mmm" or ".mmm…"; its end, or -1. */
export function asctimeEnd(b: Buffer, s: number, e: number): number {
  if (e - s < 19) return -1;
  for (const k of [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]) if (!digit(b[s + k])) return -1;
  if (b[s + 4] !== 0x2d || b[s + 7] !== 0x2d || b[s + 13] !== 0x3a || b[s + 16] !== 0x3a || (b[s + 10] !== 0x20 && b[s + 10] !== 0x54)) return -1;
  let i = s + 19;
  if (i + 1 < e && (b[i] === 0x2c || b[i] === 0x2e) && digit(b[i + 1])) {
    i += 2;
    while (i < e && digit(b[i])) i++;
  }
  return i;
}

/** A logger name: no spaces or tabs, at least one byte; the end of it, or -1. */
function nameEndAt(b: Buffer, i: number, e: number, stop: number): number {
  const from = i;
  while (i < e && b[i] !== 0x20 && b[i] !== 0x09 && b[i] !== stop) i++;
  return i > from ? i : -1;
}

/** Records where a line's logger name and level are; the line has the shape. */
function spans(out: PythonLineShape, nameStart: number, nameEnd: number, levelStart: number, levelEnd: number): true {
  out.nameStart = nameStart;
  out.nameEnd = nameEnd;
  out.levelStart = levelStart;
  out.levelEnd = levelEnd;
  return true;
}

/**
 * The parts of a trimmed line b[s, e) in one of the two layouts, or null. The message may be
 * empty ("… - INFO -" once trailing spaces are trimmed).
 */
export function pythonLineShape(b: Buffer, s: number, e: number, out: PythonLineShape): boolean {
  const t = asctimeEnd(b, s, e);
  if (t < 0) return false;
  out.timeEnd = t;
  if (t + 3 <= e && b[t] === 0x20 && b[t + 1] === 0x2d && b[t + 2] === 0x20) {
    // name - LEVEL - message
    const ns = t + 3;
    const ne = nameEndAt(b, ns, e, -1);
    if (ne < 0 || ne + 3 > e || b[ne] !== 0x20 || b[ne + 1] !== 0x2d || b[ne + 2] !== 0x20) return false;
    const ls = ne + 3;
    let le = ls;
    while (le < e && letter(b[le])) le++;
    if (le === ls) return false;
    if (le + 2 === e && b[le] === 0x20 && b[le + 1] === 0x2d) out.messageStart = e;
    else if (le + 3 <= e && b[le] === 0x20 && b[le + 1] === 0x2d && b[le + 2] === 0x20) out.messageStart = le + 3;
    else return false;
    return spans(out, ns, ne, ls, le);
  }
  if (t < e && b[t] === 0x20) {
    // LEVEL name: message
    const ls = t + 1;
    let le = ls;
    while (le < e && letter(b[le])) le++;
    if (le === ls || le >= e || b[le] !== 0x20) return false;
    const ns = le + 1;
    const ne = nameEndAt(b, ns, e, 0x3a);
    if (ne < 0 || ne >= e || b[ne] !== 0x3a) return false;
    if (ne + 1 === e) out.messageStart = e;
    else if (b[ne + 1] === 0x20) out.messageStart = ne + 2;
    else return false;
    return spans(out, ns, ne, ls, le);
  }
  return false;
}

/**
 * The component a logger name belongs to: its first dotted part in lower case, when that is a
 * component name that no other format uses; "python" otherwise (and for the root logger).
 */
export function pythonComponent(logger: string, taken: ReadonlySet<string>): string {
  const dot = logger.indexOf('.');
  const first = (dot < 0 ? logger : logger.slice(0, dot)).toLowerCase();
  if (first === 'root' || !COMPONENT_NAME.test(first) || taken.has(first)) return PYTHON_FALLBACK_COMPONENT;
  return first;
}

const LOGGERS = ['ingest.worker', 'ingest.reader', 'export.writer', 'dedupe', 'root'];

/** gen-logs' Python line: one of the stock layouts, numbers in phrases and pairs. */
export function generatePythonLine({ rand, i, t, isError, level }: GenLine): string {
  const logger = LOGGERS[Math.floor(rand() * LOGGERS.length)];
  const d = new Date(t);
  const asctime = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())},${pad(d.getUTCMilliseconds(), 3)}`;
  const kind = rand();
  const n = Math.floor(100 + rand() * 10_000);
  const ms = (1 + rand() * 500).toFixed(1);
  const message = isError
    ? `Batch failed: Records failed: ${Math.floor(rand() * 50)} took ${ms} ms`
    : kind < 0.3
      ? `Records ingested: ${n}`
      : kind < 0.5
        ? `Exported ${n} rows in batch ${i} took ${ms} ms`
        : kind < 0.6
          ? `Duplicates marked: ${Math.floor(n / 100)}`
          : kind < 0.8
            ? `batch done records=${n} took_ms=${ms}`
            : `Heartbeat from ${logger} (queue depth ${Math.floor(rand() * 20)})`;
  // Python's default "%(asctime)s - %(name)s - %(levelname)s - %(message)s", and the other stock layout.
  return rand() < 0.7 ? `${asctime} - ${logger} - ${level} - ${message}` : `${asctime} ${level} ${logger}: ${message}`;
}
