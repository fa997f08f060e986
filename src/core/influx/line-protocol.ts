import { isUtf8 } from 'node:buffer';

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
/** Timestamp units per millisecond, for each precision. */
export function unitsPerMs(precision: Precision): number {
  return PER_MS[precision];
}

/** Milliseconds to the precision, exactly: multiply, then divide. */
const MS_TO: Record<Precision, [bigint, bigint]> = { ns: [1_000_000n, 1n], us: [1000n, 1n], ms: [1n, 1n], s: [1n, 1000n] };

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
const HASH = 35;
const CR = 13;

/** Byte offsets of a parsed point's parts, filled when the caller asks for them. */
export interface PointSpans {
  measurement: [number, number];
  tags: [number, number, number, number][];
  fields: [number, number, number, number][];
  timestamp: [number, number] | null;
}

const INTEGER = /^-?\d+$/;
const utf8 = new TextDecoder('utf-8');

function text(b: Uint8Array, s: number, e: number): string {
  return utf8.decode(b.subarray(s, e));
}

function unescape(s: string): string {
  return s.indexOf('\\') < 0 ? s : s.replace(/\\([ ,=\\])/g, '$1');
}

function quoted(b: Uint8Array, s: number, e: number): string {
  const t = unescape(text(b, s, e));
  return JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}…` : t);
}

/** Whether b[s..e) is a field value VictoriaMetrics stores as written: float, 12i, 7u or a boolean. */
function isNumericValue(b: Uint8Array, s: number, e: number): boolean {
  const last = b[e - 1];
  let j = s;
  if (last === 105 /* i */ || last === 117 /* u */) {
    if (last === 105 && (b[j] === 45 || b[j] === 43)) j++;
    if (j >= e - 1) return false;
    for (; j < e - 1; j++) if (b[j] < 48 || b[j] > 57) return false;
    return true;
  }
  if (b[j] === 45 || b[j] === 43) j++;
  let digits = 0;
  while (j < e && b[j] >= 48 && b[j] <= 57) {
    j++;
    digits++;
  }
  if (j < e && b[j] === 46 /* . */) {
    j++;
    while (j < e && b[j] >= 48 && b[j] <= 57) {
      j++;
      digits++;
    }
  }
  if (digits > 0) {
    if (j < e && (b[j] === 101 || b[j] === 69) /* e E */) {
      j++;
      if (j < e && (b[j] === 45 || b[j] === 43)) j++;
      const expStart = j;
      while (j < e && b[j] >= 48 && b[j] <= 57) j++;
      if (j === expStart) return false;
    }
    return j === e;
  }
  // booleans: t T true True TRUE f F false False FALSE
  const n = e - s;
  const c = b[s];
  if (n === 1) return c === 116 || c === 84 || c === 102 || c === 70;
  const word = text(b, s, e);
  return word === 'true' || word === 'True' || word === 'TRUE' || word === 'false' || word === 'False' || word === 'FALSE';
}

function fieldValueProblem(b: Uint8Array, s: number, e: number): string {
  if (s === e) return 'empty value';
  const v = text(b, s, e);
  const last = b[e - 1];
  if (last === 105) return `${JSON.stringify(v)} is not an integer`;
  if (last === 117) return `${JSON.stringify(v)} is not an unsigned integer`;
  return `${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)} is not a number (VictoriaMetrics would store 0)`;
}

const CONTROL = 'holds a control character or invalid UTF-8';

// Byte classes, so the common case (an ordinary byte) costs one table look-up.
const ORD = 0;
const BSL = 1;
const CMA = 2;
const SPC = 3;
const EQL = 4;
const CTL = 5;
const HIGH = 6;
const EOL = 7; // \n, and \r (which ends a line only right before \n)
const NL = 10;
const CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) CLASS[c] = c < 32 || c === 127 ? CTL : c > 127 ? HIGH : ORD;
CLASS[BACKSLASH] = BSL;
CLASS[COMMA] = CMA;
CLASS[SPACE] = SPC;
CLASS[EQUALS] = EQL;
CLASS[NL] = EOL;
CLASS[CR] = EOL;

const STOP_MEASUREMENT = (1 << CMA) | (1 << SPC) | (1 << EOL);
const STOP_KEY = (1 << CMA) | (1 << SPC) | (1 << EQL) | (1 << EOL);

let sawHigh = false;
/** Where the line checked by the last scanLine call ends: the index of its \n, or the limit. */
export let lineEnd = 0;

/**
 * Advances from i over an escaped token until a byte whose class is in `stops`, and returns its
 * index (limit when none), or -1 at a control byte. Notes bytes above 127 in sawHigh.
 */
function token(b: Uint8Array, i: number, limit: number, stops: number): number {
  while (i < limit) {
    const c = CLASS[b[i]];
    if (c === ORD) {
      i++;
      continue;
    }
    if (c === BSL && i + 1 < limit) {
      const n = CLASS[b[i + 1]];
      if (n === CTL || n === EOL) return -1;
      if (n === HIGH) sawHigh = true;
      i += 2;
      continue;
    }
    if ((stops >> c) & 1) return i;
    if (c === CTL) return -1;
    if (c === HIGH) sawHigh = true;
    i++;
  }
  return limit;
}

/** Whether the line ends at i: the limit, \n, or \r\n. */
function atEnd(b: Uint8Array, i: number, limit: number): boolean {
  return i >= limit || b[i] === NL || (b[i] === CR && (i + 1 >= limit || b[i + 1] === NL));
}

function endAt(b: Uint8Array, i: number, limit: number): number {
  const nl = b.indexOf(NL, i);
  return nl < 0 || nl > limit ? limit : nl;
}

/** Records where the line that starts at or before i ends, and returns the reason. */
function fail(reason: string, b: Uint8Array, i: number, limit: number): string {
  lineEnd = endAt(b, Math.max(i, 0), limit);
  return reason;
}

/**
 * Checks the line that starts at b[start] and ends at the next \n (or at limit), in a single
 * pass over its bytes; where it ends is left in `lineEnd`. Returns the number of samples, 0 for
 * a blank or comment line, or the reason it is invalid. When `spans` is given, the byte offsets
 * of the point's parts are stored in it.
 */
export function scanLine(b: Uint8Array, start: number, limit: number, bounds: TimeBounds, spans?: PointSpans): LineVerdict {
  let i = start;
  while (i < limit && b[i] === SPACE) i++;
  if (atEnd(b, i, limit)) {
    lineEnd = endAt(b, i, limit);
    return 0;
  }
  if (b[i] === HASH) {
    lineEnd = endAt(b, i, limit);
    return 0;
  }
  start = i;
  sawHigh = false;
  // measurement
  i = token(b, start, limit, STOP_MEASUREMENT);
  if (i < 0) return fail(CONTROL, b, start, limit);
  if (i === start) return fail('empty measurement', b, i, limit);
  if (atEnd(b, i, limit)) return fail('no fields: expected "measurement[,tag=value] field=value [timestamp]"', b, i, limit);
  if (b[i] === CR) return fail(CONTROL, b, i, limit);
  if (spans) {
    spans.measurement = [start, i];
    spans.tags = [];
    spans.fields = [];
    spans.timestamp = null;
  }
  // tags
  while (b[i] === COMMA) {
    const k = i + 1;
    i = token(b, k, limit, STOP_KEY);
    if (i < 0) return fail(CONTROL, b, k, limit);
    if (b[i] !== EQUALS || i >= limit) return fail(`tag ${quoted(b, k, i)} has no "="`, b, i, limit);
    if (i === k) return fail('tag with an empty key', b, i, limit);
    const ke = i;
    const v = i + 1;
    i = token(b, v, limit, STOP_KEY);
    if (i < 0) return fail(CONTROL, b, v, limit);
    if (i < limit && b[i] === EQUALS) return fail(`tag ${quoted(b, k, ke)} has an unescaped "=" in its value`, b, i, limit);
    if (i === v) return fail(`tag ${quoted(b, k, ke)} has an empty value (VictoriaMetrics would drop it)`, b, i, limit);
    if (spans) spans.tags.push([k, ke, v, i]);
  }
  if (i < limit && b[i] === CR && !atEnd(b, i, limit)) return fail(CONTROL, b, i, limit);
  // fields
  while (i < limit && b[i] === SPACE) i++;
  if (atEnd(b, i, limit)) return fail('no fields after the measurement and tags', b, i, limit);
  let fields = 0;
  for (;;) {
    const k = i;
    i = token(b, k, limit, STOP_KEY);
    if (i < 0) return fail(CONTROL, b, k, limit);
    if (i === k) return fail('field with an empty key', b, i, limit);
    if (i >= limit || b[i] !== EQUALS) return fail(`field ${quoted(b, k, i)} has no "="`, b, i, limit);
    const ke = i;
    const v = ++i;
    if (b[v] === QUOTE) {
      for (i = v + 1; i < limit && b[i] !== QUOTE && b[i] !== NL; i++) if (b[i] === BACKSLASH) i++;
      if (i >= limit || b[i] !== QUOTE) return fail('unterminated quoted string', b, i, limit);
      return fail(`field ${quoted(b, k, ke)}: is a string; VictoriaMetrics stores string fields as 0`, b, i, limit);
    }
    let c = 0;
    while (i < limit && (c = b[i]) !== COMMA && c !== SPACE && c !== NL && c !== CR) i++;
    if (i === v || !isNumericValue(b, v, i)) return fail(`field ${quoted(b, k, ke)}: ${fieldValueProblem(b, v, i)}`, b, i, limit);
    if (spans) spans.fields.push([k, ke, v, i]);
    fields++;
    if (i >= limit || c !== COMMA) break;
    i++; // comma: next field
    if (atEnd(b, i, limit)) return fail('field with an empty key', b, i, limit);
  }
  if (!atEnd(b, i, limit) && b[i] !== SPACE) return fail(CONTROL, b, i, limit);
  // timestamp
  while (i < limit && b[i] === SPACE) i++;
  if (!atEnd(b, i, limit)) {
    const t = i;
    if (b[i] === 45) i++;
    let ts = 0;
    const digits = i;
    for (; i < limit && b[i] >= 48 && b[i] <= 57; i++) ts = ts * 10 + (b[i] - 48);
    const te = i;
    while (i < limit && b[i] === SPACE) i++;
    if (te === digits || !atEnd(b, i, limit)) {
      const e = endAt(b, i, limit);
      return fail(`timestamp ${quoted(b, t, e > t && b[e - 1] === CR ? e - 1 : e)} is not an integer`, b, i, limit);
    }
    if (b[t] === 45) ts = -ts;
    const ms = ts / PER_MS[bounds.precision];
    if (ms < bounds.minMs) return fail(`timestamp ${text(b, t, te)} (${isoOrRaw(ms)}) is older than VictoriaMetrics' retention period; it would be dropped`, b, i, limit);
    if (ms > bounds.maxMs) return fail(`timestamp ${text(b, t, te)} (${isoOrRaw(ms)}) is more than 2 days ahead; VictoriaMetrics would drop it (check --precision)`, b, i, limit);
    if (spans) spans.timestamp = [t, te];
  }
  lineEnd = i < limit && b[i] === CR ? i + 1 : i;
  if (sawHigh && !isUtf8(b.subarray(start, lineEnd))) return fail(CONTROL, b, i, limit);
  return fields;
}

/** Checks one line given as text; see scanLine. */
export function checkLine(line: string, bounds: TimeBounds, out?: ParsedPoint): LineVerdict {
  const b = Buffer.from(line);
  const spans = out ? ({} as PointSpans) : undefined;
  const v = scanLine(b, 0, b.length, bounds, spans);
  if (out && spans && typeof v === 'number' && v > 0) {
    out.measurement = unescape(text(b, ...spans.measurement));
    out.tags = spans.tags.map(([k, ke, vs, ve]) => [unescape(text(b, k, ke)), unescape(text(b, vs, ve))]);
    out.fields = spans.fields.map(([k, ke, vs, ve]) => [unescape(text(b, k, ke)), fieldNumber(text(b, vs, ve))]);
    out.timestamp = spans.timestamp ? Number(text(b, ...spans.timestamp)) : undefined;
  }
  return v;
}

function fieldNumber(v: string): number {
  const last = v[v.length - 1];
  if (last === 'i' || last === 'u') return Number(v.slice(0, -1));
  if (/^[tT]/.test(v)) return 1;
  if (/^[fF]/.test(v)) return 0;
  return Number(v);
}

/** Why a field value given on the command line would not be stored as written, or null when it would. */
export function fieldValueError(v: string): string | null {
  const b = Buffer.from(v);
  if (b.length === 0) return 'empty value';
  if (b[0] === QUOTE) return 'is a string; VictoriaMetrics stores string fields as 0';
  return isNumericValue(b, 0, b.length) ? null : fieldValueProblem(b, 0, b.length);
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
      const problem = fieldValueError(v);
      if (problem) throw new Error(`field ${k}: ${problem}`);
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
  const [mul, div] = MS_TO[precision];
  return String((BigInt(ms) * mul) / div);
}
