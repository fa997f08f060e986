/**
 * InfluxDB line protocol, as VictoriaMetrics reads it, checked strictly: VictoriaMetrics
 * answers 204 for a whole request even when it drops lines (bad syntax), stores string or
 * garbage values as 0, or ignores samples outside its retention, so pipeobs finds those lines
 * itself and reports them by number instead of sending them.
 *
 * Grammar: measurement[,tag=value...] field=value[,field=value...] [timestamp]
 * Backslash escapes space, comma, equals sign and backslash in measurement, tag keys and values
 * and field keys. A line break can never be escaped (VictoriaMetrics splits on it first).
 */

export type Precision = 'ns' | 'us' | 'ms' | 's';
export const PRECISIONS: readonly Precision[] = ['ns', 'us', 'ms', 's'];
const PER_MS: Record<Precision, number> = { ns: 1e6, us: 1e3, ms: 1, s: 1e-3 };

export interface TimeBounds {
  precision: Precision;
  /** Samples older than this (ms since epoch) are outside the retention period. */
  minMs: number;
  /** Samples newer than this (ms since epoch) are too far in the future. */
  maxMs: number;
}

export interface ParsedPoint {
  measurement: string;
  tags: [string, string][];
  fields: [string, number][];
  timestamp?: number;
}

/** The outcome for one line: the number of samples it carries, 0 for blank/comment lines, or the reason it is invalid. */
export type LineVerdict = number | string;

const BACKSLASH = 92;
const SPACE = 32;
const COMMA = 44;
const EQUALS = 61;
const QUOTE = 34;

/** Index of the next ch in s from i that is not escaped by a backslash, or -1. */
function nextUnescaped(s: string, ch: number, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) {
      i++;
      continue;
    }
    if (c === ch) return i;
  }
  return -1;
}

function unescape(s: string): string {
  return s.indexOf('\\') < 0 ? s : s.replace(/\\([ ,=\\])/g, '$1');
}

function hasControlChar(s: string, from: number, end: number): boolean {
  for (let i = from; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 0x7f || c === 0xfffd) return true;
  }
  return false;
}

const FLOAT = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const INT = /^[-+]?\d+i$/;
const UINT = /^\d+u$/;
const BOOLS = new Set(['t', 'T', 'true', 'True', 'TRUE', 'f', 'F', 'false', 'False', 'FALSE']);
const INTEGER = /^-?\d+$/;

/** Parses a field value as VictoriaMetrics would store it, or returns why it would be stored wrongly. */
export function parseFieldValue(v: string): number | string {
  if (v.length === 0) return 'empty value';
  const c = v.charCodeAt(0);
  if (c === QUOTE) return 'is a string; VictoriaMetrics stores string fields as 0';
  const last = v.charCodeAt(v.length - 1);
  if (last === 105 /* i */) {
    if (!INT.test(v)) return `${JSON.stringify(v)} is not an integer`;
    return Number(v.slice(0, -1));
  }
  if (last === 117 /* u */) {
    if (!UINT.test(v)) return `${JSON.stringify(v)} is not an unsigned integer`;
    return Number(v.slice(0, -1));
  }
  if (FLOAT.test(v)) return Number(v);
  if (BOOLS.has(v)) return c === 116 || c === 84 ? 1 : 0;
  return `${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)} is not a number (VictoriaMetrics would store 0)`;
}

/** Splits the field section at commas outside quotes. Returns the comma positions' segments as [start, end). */
function fieldSegments(s: string, from: number, end: number): [number, number][] | string {
  const segs: [number, number][] = [];
  let start = from;
  let inQuote = false;
  for (let i = from; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) {
      i++;
      continue;
    }
    if (c === QUOTE) inQuote = !inQuote;
    else if (c === COMMA && !inQuote) {
      segs.push([start, i]);
      start = i + 1;
    }
  }
  if (inQuote) return 'unterminated quoted string';
  segs.push([start, end]);
  return segs;
}

/** Finds the space that ends the field section (outside quotes), or -1. */
function fieldsEnd(s: string, from: number, end: number): number {
  let inQuote = false;
  for (let i = from; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) {
      i++;
      continue;
    }
    if (c === QUOTE) inQuote = !inQuote;
    else if (c === SPACE && !inQuote) return i;
  }
  return -1;
}

/**
 * Checks one line (without its line break). Returns the number of samples, 0 for a blank or
 * comment line, or a reason. When `out` is given, the parsed point is stored in it.
 */
export function checkLine(line: string, bounds: TimeBounds, out?: ParsedPoint): LineVerdict {
  let end = line.length;
  if (end > 0 && line.charCodeAt(end - 1) === 13) end--;
  let start = 0;
  while (start < end && line.charCodeAt(start) === SPACE) start++;
  if (start === end) return 0;
  if (line.charCodeAt(start) === 35 /* # */) return 0;
  if (hasControlChar(line, start, end)) return 'holds a control character or invalid UTF-8';

  const keyEnd = nextUnescaped(line, SPACE, start, end);
  if (keyEnd < 0) return 'no fields: expected "measurement[,tag=value] field=value [timestamp]"';
  const mEnd = (() => {
    const i = nextUnescaped(line, COMMA, start, keyEnd);
    return i < 0 ? keyEnd : i;
  })();
  if (mEnd === start) return 'empty measurement';
  if (line.charCodeAt(mEnd - 1) === BACKSLASH && (mEnd - 2 < start || line.charCodeAt(mEnd - 2) !== BACKSLASH)) {
    return 'measurement ends with a lone backslash';
  }
  if (out) {
    out.measurement = unescape(line.slice(start, mEnd));
    out.tags = [];
    out.fields = [];
    out.timestamp = undefined;
  }
  // Tags
  let i = mEnd;
  while (i < keyEnd) {
    const tStart = i + 1;
    let tEnd = nextUnescaped(line, COMMA, tStart, keyEnd);
    if (tEnd < 0) tEnd = keyEnd;
    const eq = nextUnescaped(line, EQUALS, tStart, tEnd);
    if (eq < 0) return `tag ${JSON.stringify(line.slice(tStart, tEnd))} has no "="`;
    if (eq === tStart) return 'tag with an empty key';
    if (eq === tEnd - 1) return `tag ${JSON.stringify(unescape(line.slice(tStart, eq)))} has an empty value (VictoriaMetrics would drop it)`;
    if (nextUnescaped(line, EQUALS, eq + 1, tEnd) >= 0) return `tag ${JSON.stringify(unescape(line.slice(tStart, eq)))} has an unescaped "=" in its value`;
    if (out) out.tags.push([unescape(line.slice(tStart, eq)), unescape(line.slice(eq + 1, tEnd))]);
    i = tEnd;
  }
  // Fields
  let fStart = keyEnd + 1;
  while (fStart < end && line.charCodeAt(fStart) === SPACE) fStart++;
  if (fStart >= end) return 'no fields after the measurement and tags';
  let fEnd = fieldsEnd(line, fStart, end);
  let tsStart = -1;
  if (fEnd < 0) fEnd = end;
  else {
    tsStart = fEnd + 1;
    while (tsStart < end && line.charCodeAt(tsStart) === SPACE) tsStart++;
    if (tsStart >= end) tsStart = -1;
  }
  const segs = fieldSegments(line, fStart, fEnd);
  if (typeof segs === 'string') return segs;
  for (const [a, b] of segs) {
    const eq = nextUnescaped(line, EQUALS, a, b);
    if (eq < 0) return `field ${JSON.stringify(line.slice(a, b))} has no "="`;
    if (eq === a) return 'field with an empty key';
    const value = parseFieldValue(line.slice(eq + 1, b));
    if (typeof value === 'string') return `field ${JSON.stringify(unescape(line.slice(a, eq)))}: ${value}`;
    if (out) out.fields.push([unescape(line.slice(a, eq)), value]);
  }
  // Timestamp
  if (tsStart >= 0) {
    const raw = line.slice(tsStart, end).trimEnd();
    if (!INTEGER.test(raw)) return `timestamp ${JSON.stringify(raw.slice(0, 40))} is not an integer`;
    const ms = Number(raw) / PER_MS[bounds.precision];
    if (ms < bounds.minMs) return `timestamp ${raw} (${isoOrRaw(ms)}) is older than VictoriaMetrics' retention period; it would be dropped`;
    if (ms > bounds.maxMs) return `timestamp ${raw} (${isoOrRaw(ms)}) is more than 2 days ahead; VictoriaMetrics would drop it (check --precision)`;
    if (out) out.timestamp = Number(raw);
  }
  return segs.length;
}

function isoOrRaw(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? 'out of range' : d.toISOString();
}

/** Parses one line fully; throws with the reason when it is invalid. Blank and comment lines give null. */
export function parsePoint(line: string, bounds: TimeBounds): ParsedPoint | null {
  const out: ParsedPoint = { measurement: '', tags: [], fields: [] };
  const v = checkLine(line, bounds, out);
  if (typeof v === 'string') throw new Error(v);
  return v === 0 ? null : out;
}

/** Bounds VictoriaMetrics applies: samples older than its retention or over 2 days ahead are dropped. */
export function timeBounds(precision: Precision, nowMs: number, retentionMs: number): TimeBounds {
  return { precision, minMs: nowMs - retentionMs, maxMs: nowMs + 2 * 24 * 3600 * 1000 };
}

// ---- building lines from flags ----

export function escapeKey(v: string, what: string): string {
  if (v === '') throw new Error(`${what} is empty`);
  if (/[\r\n]/.test(v)) throw new Error(`${what} ${JSON.stringify(v)} holds a line break, which line protocol cannot carry`);
  return v.replace(/[\\ ,=]/g, (c) => `\\${c}`);
}

export function buildLine(p: { measurement: string; tags: [string, string][]; fields: [string, string][]; timestamp?: string }): string {
  const m = escapeKey(p.measurement, 'measurement');
  const tags = [...p.tags]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `,${escapeKey(k, 'tag key')}=${escapeKey(v, `tag ${k} value`)}`)
    .join('');
  if (p.fields.length === 0) throw new Error('a point needs at least one --field');
  const fields = p.fields
    .map(([k, v]) => {
      const parsed = parseFieldValue(v);
      if (typeof parsed === 'string') throw new Error(`field ${k}: ${parsed}`);
      return `${escapeKey(k, 'field key')}=${v}`;
    })
    .join(',');
  return `${m}${tags} ${fields}${p.timestamp !== undefined ? ` ${p.timestamp}` : ''}`;
}

/** Converts a timestamp given as ISO 8601 or epoch number in the given precision. */
export function timestampFor(raw: string, precision: Precision): string {
  if (INTEGER.test(raw)) return raw;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw new Error(`--timestamp ${raw} is neither an integer nor an ISO 8601 time`);
  return BigInt(ms) * BigInt(PER_MS[precision] >= 1 ? PER_MS[precision] : 1) / BigInt(precision === 's' ? 1000 : 1) + '';
}
