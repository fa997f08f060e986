/**
 * InfluxDB line protocol, checked against what VictoriaMetrics 1.79 will actually store:
 * VictoriaMetrics answers 204 for a whole request even when it drops lines, stores values as 0,
 * stores samples at another time or with other labels, so pipeobs finds those lines itself and
 * reports them by number instead of sending them. A line passes only when VictoriaMetrics stores
 * exactly what the line says; every reason ends with what VictoriaMetrics would do with the line
 * ("…; VictoriaMetrics drops the line", "…; VictoriaMetrics stores it as 0", …), and a
 * differential test holds those words to a real VictoriaMetrics over a public corpus.
 *
 * Grammar: measurement[,tag=value...] field=value[,field=value...] [timestamp]
 * How VictoriaMetrics 1.79 reads it (lib/protoparser/influx): a line ends at \n (one \r before it
 * is dropped); the measurement and tags end at the first unescaped space, the fields at the next
 * space outside a quoted string; a delimiter is escaped by an odd number of backslashes before it;
 * names and tag values lose the backslash before space, comma, equals sign and backslash, and keep
 * any other backslash. A tag's key ends at its first unescaped "=" (the value may hold more).
 */

export type Precision = 'ns' | 'us' | 'ms' | 's';
export const PRECISIONS: readonly Precision[] = ['ns', 'us', 'ms', 's'];
const PER_MS: Record<Precision, number> = { ns: 1e6, us: 1e3, ms: 1, s: 1e-3 };
const UNIT_NAME: Record<Precision, string> = { ns: 'nanoseconds', us: 'microseconds', ms: 'milliseconds', s: 'seconds' };
/** Timestamp units per millisecond, for each precision. */
export function unitsPerMs(precision: Precision): number {
  return PER_MS[precision];
}

/** Milliseconds to the precision, exactly: multiply, then divide. */
const MS_TO: Record<Precision, [bigint, bigint]> = { ns: [1_000_000n, 1n], us: [1000n, 1n], ms: [1n, 1n], s: [1n, 1000n] };

export interface TimeBounds {
  precision: Precision;
  /** Samples older than this (ms since epoch) are outside the retention period (-Infinity when it is not known). */
  minMs: number;
  /** Samples newer than this (ms since epoch) are too far in the future. */
  maxMs: number;
}

export interface ParsedPoint {
  measurement: string;
  tags: [string, string][];
  fields: [string, number][];
  /** The timestamp as written, in the precision's unit (inexact beyond 2^53). */
  timestamp?: number;
  /** The time VictoriaMetrics stores, in ms since the epoch, exactly (it truncates towards zero). */
  timestampMs?: number;
}

/** The outcome for one line: the number of samples it carries, 0 for blank/comment lines, or the reason it is invalid. */
export type LineVerdict = number | string;

/** VictoriaMetrics' -maxLabelsPerTimeseries default: labels after the 30th are dropped. */
export const MAX_LABELS = 30;
/** VictoriaMetrics cuts label names to 256 bytes and label values (the metric name too) to 16 KiB. */
const MAX_NAME_BYTES = 256;
const MAX_VALUE_BYTES = 16 * 1024;

const BACKSLASH = 92;
const SPACE = 32;
const COMMA = 44;
const EQUALS = 61;
const QUOTE = 34;
const HASH = 35;
const CR = 13;
const NL = 10;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;

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

/** Removes escapes the way VictoriaMetrics does: "\\" before space, comma, "=" or "\\" goes, any other stays. */
export function unescape(s: string): string {
  return s.indexOf('\\') < 0 ? s : s.replace(/\\([ ,=\\])/g, '$1');
}

function quoted(b: Uint8Array, s: number, e: number, raw = false): string {
  const t = raw ? text(b, s, e) : unescape(text(b, s, e));
  return JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}…` : t);
}

// What VictoriaMetrics' best-effort float reader makes of a value (fastfloat.ParseBestEffort).
const NUMBER = 0; // a number it reads exactly as written
const NAN = 1; // "nan" in any case: the sample is dropped at storage
const INF = 2; // "inf"/"infinity", or a number beyond float64: stored as ±Inf
const ZERO = 3; // anything else: stored as 0

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function lowerIs(b: Uint8Array, s: number, e: number, word: string): boolean {
  if (e - s !== word.length) return false;
  for (let k = 0; k < word.length; k++) if ((b[s + k] | 0x20) !== word.charCodeAt(k)) return false;
  return true;
}

/**
 * Classifies b[s..e) as VictoriaMetrics' float reader sees it. A number is -?digits[.digits][(e|E)[+-]digits]:
 * no leading "+", no ".5", no "1." (VictoriaMetrics 1.79 reads those as 0).
 */
function floatClass(b: Uint8Array, s: number, e: number): number {
  let j = s;
  if (j < e && b[j] === MINUS) j++;
  const intStart = j;
  while (j < e && b[j] === 48) j++;
  const sigStart = j;
  while (j < e && isDigit(b[j])) j++;
  const intEnd = j;
  if (intEnd === intStart) {
    let w = j;
    if (w < e && b[w] === PLUS) w++;
    if (lowerIs(b, w, e, 'nan')) return NAN;
    if (lowerIs(b, w, e, 'inf') || lowerIs(b, w, e, 'infinity')) return INF;
    return ZERO;
  }
  let leadingFracZeros = -1; // for numbers below 1: zeros after the point before the first other digit
  let anyNonZero = intEnd > sigStart;
  if (j < e && b[j] === DOT) {
    j++;
    const fracStart = j;
    while (j < e && isDigit(b[j])) {
      if (!anyNonZero && b[j] !== 48) {
        anyNonZero = true;
        leadingFracZeros = j - fracStart;
      }
      j++;
    }
    // "1." is 0 to VictoriaMetrics' fast path, but a number to Go's strconv, which takes over
    // when the integer part runs past 18 characters.
    if (j === fracStart && intEnd - s <= 18) return ZERO;
  }
  let exp = 0;
  if (j < e && (b[j] === 101 || b[j] === 69)) {
    j++;
    let neg = false;
    if (j < e && (b[j] === MINUS || b[j] === PLUS)) neg = b[j++] === MINUS;
    const expStart = j;
    while (j < e && isDigit(b[j])) {
      if (exp < 100_000) exp = exp * 10 + (b[j] - 48);
      j++;
    }
    if (j === expStart) return ZERO;
    if (neg) exp = -exp;
  }
  if (j !== e) return ZERO;
  if (!anyNonZero) return NUMBER;
  // The decimal magnitude of the first significant digit: beyond 308 the value is past float64.
  const mag = (intEnd > sigStart ? intEnd - sigStart - 1 : -leadingFracZeros - 1) + exp;
  if (mag < 308) return NUMBER;
  if (mag > 308) return INF;
  return Number.isFinite(Number(text(b, s, e))) ? NUMBER : INF;
}

const INT64_MAX = '9223372036854775807';
const INT64_MIN_ABS = '9223372036854775808';
const UINT64_MAX = '18446744073709551615';

/** Whether the digits b[s..e) (all digits, at least one) fit under the limit written in decimal. */
function digitsWithin(b: Uint8Array, s: number, e: number, limit: string): boolean {
  while (s < e - 1 && b[s] === 48) s++;
  const n = e - s;
  if (n !== limit.length) return n < limit.length;
  for (let k = 0; k < n; k++) {
    const d = b[s + k] - 48;
    const l = limit.charCodeAt(k) - 48;
    if (d !== l) return d < l;
  }
  return true;
}

function allDigits(b: Uint8Array, s: number, e: number): boolean {
  if (s >= e) return false;
  for (let k = s; k < e; k++) if (!isDigit(b[k])) return false;
  return true;
}

/** For "12i": why VictoriaMetrics cannot read it as a 64-bit integer, or null when it can. */
function intProblem(b: Uint8Array, s: number, e: number, unsigned: boolean): string | null {
  let j = s;
  if (!unsigned && b[j] === MINUS) j++;
  if (allDigits(b, j, e)) {
    if (e - j < 19) return null;
    const limit = unsigned ? UINT64_MAX : j > s ? INT64_MIN_ABS : INT64_MAX;
    return digitsWithin(b, j, e, limit) ? null : `is beyond ${unsigned ? 'an unsigned ' : 'a '}64-bit integer`;
  }
  if (b[s] === PLUS) return 'has a "+" sign, which VictoriaMetrics does not read';
  if (unsigned && b[s] === MINUS) return 'is a negative unsigned integer';
  return unsigned ? 'is not an unsigned integer' : 'is not an integer';
}

function bytesAre(b: Uint8Array, s: number, e: number, word: string): boolean {
  if (e - s !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (b[s + k] !== word.charCodeAt(k)) return false;
  return true;
}

/** t T true True TRUE f F false False FALSE: the words VictoriaMetrics reads as 1 and 0. */
function isBoolean(b: Uint8Array, s: number, e: number): boolean {
  const n = e - s;
  const c = b[s];
  if (n === 1) return c === 116 || c === 84 || c === 102 || c === 70;
  if (n === 4) return bytesAre(b, s, e, 'true') || bytesAre(b, s, e, 'True') || bytesAre(b, s, e, 'TRUE');
  if (n === 5) return bytesAre(b, s, e, 'false') || bytesAre(b, s, e, 'False') || bytesAre(b, s, e, 'FALSE');
  return false;
}

/** Why an unquoted value VictoriaMetrics reads as 0 is not a number, with the fix when it is a common slip. */
function notNumberHint(b: Uint8Array, s: number, e: number): string {
  let j = s;
  if (b[j] === MINUS || b[j] === PLUS) j++;
  if (b[s] === PLUS && floatClass(b, s + 1, e) === NUMBER) return ' (VictoriaMetrics 1.79 does not read a leading "+")';
  if (b[j] === DOT && j + 1 < e && isDigit(b[j + 1])) return ` (VictoriaMetrics 1.79 does not read "${text(b, s, e)}": write ${text(b, s, j)}0${text(b, j, e)})`;
  const dot = b.subarray(s, e).indexOf(DOT);
  if (dot >= 0 && (s + dot + 1 === e || !isDigit(b[s + dot + 1])) && dot > 0) return ` (VictoriaMetrics 1.79 does not read a number ending in ".": write ${text(b, s, s + dot)}.0)`;
  return '';
}

/** Why a field value given on the command line would not be stored as written, or null when it would. */
export function fieldValueError(v: string): string | null {
  const b = Buffer.from(v);
  if (b.length === 0) return 'empty value';
  if (b[0] === QUOTE) return 'is a string; VictoriaMetrics stores string fields as 0 (or as the number they hold)';
  const last = b[b.length - 1];
  if (last === 105 || last === 117) {
    const p = intProblem(b, 0, b.length - 1, last === 117);
    return p ? `${JSON.stringify(v)} ${p}; VictoriaMetrics drops the line` : null;
  }
  if (isBoolean(b, 0, b.length)) return null;
  const cls = floatClass(b, 0, b.length);
  if (cls === NUMBER) return null;
  if (cls === NAN) return `${JSON.stringify(v)} is NaN; VictoriaMetrics drops this sample`;
  if (cls === INF) return `${JSON.stringify(v)} is not a finite number; VictoriaMetrics stores it as ${b[0] === MINUS ? '-Inf' : '+Inf'}`;
  return `${JSON.stringify(v)} is not a number${notNumberHint(b, 0, b.length)}; VictoriaMetrics stores it as 0`;
}

// Byte classes, so the common case (an ordinary byte) costs one table look-up.
const ORD = 0;
const BSL = 1;
const CMA = 2;
const SPC = 3;
const EQL = 4;
const QUO = 5;
const HIGH = 6;
const NLC = 7; // \n: always ends the line
const CRC = 8; // \r: ends the line only right before \n (or the end of the input)
const CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) CLASS[c] = c > 127 ? HIGH : ORD;
CLASS[BACKSLASH] = BSL;
CLASS[COMMA] = CMA;
CLASS[SPACE] = SPC;
CLASS[EQUALS] = EQL;
CLASS[QUOTE] = QUO;
CLASS[NL] = NLC;
CLASS[CR] = CRC;

const STOP_MEASUREMENT = (1 << CMA) | (1 << SPC) | (1 << NLC) | (1 << CRC);
const STOP_TAG_KEY = STOP_MEASUREMENT | (1 << EQL);
const STOP_TAG_VALUE = STOP_MEASUREMENT;
const STOP_FIELD_KEY = STOP_TAG_KEY | (1 << QUO);
const STOP_FIELD_VALUE = STOP_MEASUREMENT | (1 << QUO);
const STOP_WORD = (1 << SPC) | (1 << NLC) | (1 << CRC);

let sawHigh = false;
/** Where the line checked by the last scanLine call ends: the index of its \n, or the limit. */
export let lineEnd = 0;

/**
 * Advances from i over an escaped token until an unescaped byte whose class is in `stops`, and
 * returns its index (limit when none). A \r stops it only at the end of the line. Notes bytes
 * above 127 in sawHigh.
 */
function token(b: Uint8Array, i: number, limit: number, stops: number): number {
  while (i < limit) {
    const c = CLASS[b[i]];
    if (c === ORD) {
      i++;
      continue;
    }
    if (c === BSL) {
      // A backslash escapes the next byte, but never the end of the line.
      i += i + 1 < limit && b[i + 1] !== NL && !(b[i + 1] === CR && atEnd(b, i + 1, limit)) ? 2 : 1;
      if (CLASS[b[i - 1]] === HIGH) sawHigh = true;
      continue;
    }
    if ((stops >> c) & 1 && (c !== CRC || atEnd(b, i, limit))) return i;
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

/** Records where the line that holds b[i] ends, and returns the reason. */
function fail(reason: string, b: Uint8Array, i: number, limit: number): string {
  lineEnd = endAt(b, Math.max(i, 0), limit);
  return reason;
}

/** The index of the first byte of b[s..e) that does not start a valid UTF-8 sequence, or -1. */
function badUtf8At(b: Uint8Array, s: number, e: number): number {
  let i = s;
  while (i < e) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let cp: number;
    if ((c & 0xe0) === 0xc0) [n, cp] = [1, c & 0x1f];
    else if ((c & 0xf0) === 0xe0) [n, cp] = [2, c & 0x0f];
    else if ((c & 0xf8) === 0xf0) [n, cp] = [3, c & 0x07];
    else return i;
    if (i + n >= e) return i;
    for (let k = 1; k <= n; k++) {
      if (i + k >= e || (b[i + k] & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (b[i + k] & 0x3f);
    }
    if ((n === 1 && cp < 0x80) || (n === 2 && cp < 0x800) || (n === 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

const DROP = '; VictoriaMetrics drops the line';
const MISREAD = '; VictoriaMetrics 1.79 misreads the rest of the line';
const WITHOUT = '; VictoriaMetrics stores the line without it';

/** Reusable tag-key offsets for the duplicate check (labels past MAX_LABELS are reported anyway). */
const tagKeys = new Int32Array(4 * MAX_LABELS);

/**
 * Checks the line that starts at b[start] and ends at the next \n (or at limit), in a single
 * pass over its bytes; where it ends is left in `lineEnd`. Returns the number of samples, 0 for
 * a blank or comment line, or the reason it is not stored as written. A problem that makes
 * VictoriaMetrics drop the whole line wins over one that only changes what it stores. When
 * `spans` is given, the byte offsets of the point's parts are stored in it.
 */
export function scanLine(b: Uint8Array, start: number, limit: number, bounds: TimeBounds, spans?: PointSpans): LineVerdict {
  let i = start;
  if (atEnd(b, i, limit) || b[i] === HASH) {
    lineEnd = endAt(b, i, limit);
    return 0;
  }
  if (b[i] === SPACE) {
    while (i < limit && b[i] === SPACE) i++;
    if (atEnd(b, i, limit) || b[i] === HASH) {
      lineEnd = endAt(b, i, limit);
      return 0; // blank, or a comment: VictoriaMetrics stores nothing either
    }
    // VictoriaMetrics 1.79 reads an empty measurement, then takes the first word as the fields:
    // it drops the line unless the word's first field has an "=".
    const w = token(b, i, limit, STOP_WORD | (1 << CMA) | (1 << EQL));
    const why = 'the line starts with a space';
    return fail(b[w] === EQUALS ? `${why}${MISREAD}` : `${why}${DROP}`, b, i, limit);
  }
  let soft: string | null = null;
  const emptyMeasurement = b[i] === COMMA;
  // measurement
  sawHigh = false;
  i = token(b, start, limit, STOP_MEASUREMENT);
  if (atEnd(b, i, limit)) return fail(`no fields: expected "measurement[,tag=value] field=value [timestamp]"${DROP}`, b, i, limit);
  const measurementEnd = i;
  if (sawHigh && badUtf8At(b, start, i) >= 0) soft = badUtf8(b, start, i, start);
  if (spans) {
    spans.measurement = [start, i];
    spans.tags = [];
    spans.fields = [];
    spans.timestamp = null;
  }
  // tags
  let tags = 0;
  let dupAt = -1;
  while (b[i] === COMMA) {
    const k = i + 1;
    sawHigh = false;
    i = token(b, k, limit, STOP_TAG_KEY);
    if (b[i] !== EQUALS || i >= limit) {
      const hint = ` (the unescaped "," at byte ${k - start} starts a tag: write "\\," for a comma inside a name or value)`;
      return fail(i === k ? `an empty tag (a stray ",")${DROP}` : `tag ${quoted(b, k, i)} has no "="${hint}${DROP}`, b, i, limit);
    }
    const ke = i;
    const v = i + 1;
    i = token(b, v, limit, STOP_TAG_VALUE);
    if (ke === k) soft ??= `a tag with an empty key${WITHOUT}`;
    else if (i === v) soft ??= `tag ${quoted(b, k, ke)} has an empty value${WITHOUT}`;
    else {
      if (sawHigh && badUtf8At(b, k, i) >= 0) soft ??= badUtf8(b, k, i, start);
      if (ke - k === 8 && bytesAre(b, k, ke, '__name__')) soft ??= `tag "__name__" = ${quoted(b, v, i)} is the metric name's own label${WITHOUT}`;
      if (ke - k > MAX_NAME_BYTES && unescapedLength(b, k, ke) > MAX_NAME_BYTES) soft ??= `tag key ${quoted(b, k, ke)} is longer than ${MAX_NAME_BYTES} bytes; VictoriaMetrics keeps its first ${MAX_NAME_BYTES}`;
      if (i - v > MAX_VALUE_BYTES && unescapedLength(b, v, i) > MAX_VALUE_BYTES) soft ??= `tag ${quoted(b, k, ke)} has a value longer than ${MAX_VALUE_BYTES} bytes; VictoriaMetrics keeps its first ${MAX_VALUE_BYTES}`;
      if (tags < MAX_LABELS) {
        for (let t = 0; t < tags; t++) {
          const s0 = tagKeys[2 * t];
          const n = tagKeys[2 * t + 1] - s0;
          if (n === ke - k && b[s0] === b[k] && sameBytes(b, s0, k, n)) {
            if (dupAt < 0) dupAt = k;
            break;
          }
        }
        tagKeys[2 * tags] = k;
        tagKeys[2 * tags + 1] = ke;
      } else if (tags === MAX_LABELS) soft ??= `more than ${MAX_LABELS} tags; VictoriaMetrics keeps only the first ${MAX_LABELS} labels`;
      tags++;
      if (spans) spans.tags.push([k, ke, v, i]);
    }
  }
  if (dupAt >= 0 && soft === null) soft = duplicateTag(b, dupAt, tags);
  if (atEnd(b, i, limit)) return fail(`no fields after the measurement and tags${DROP}`, b, i, limit);
  // fields
  const space = i;
  while (i < limit && b[i] === SPACE) i++;
  if (atEnd(b, i, limit)) return fail(`no fields after the measurement and tags${DROP}`, b, i, limit);
  let fields = 0;
  for (;;) {
    const k = i;
    sawHigh = false;
    i = token(b, k, limit, STOP_FIELD_KEY);
    if (b[i] === QUOTE && i < limit) return fail(`an unescaped '"' at byte ${i - start + 1}, in a field key${MISREAD}`, b, i, limit);
    if (i === k) return fail(b[i] === EQUALS && i < limit ? `a field with an empty key${DROP}` : `an empty field (a stray ",")${DROP}`, b, i, limit);
    if (i >= limit || b[i] !== EQUALS) {
      const hint = fields === 0 ? ` (the unescaped space at byte ${space - start + 1} ends the measurement and tags: write "\\ " for a space inside a name or value)` : '';
      return fail(`field ${quoted(b, k, i)} has no "="${hint}${DROP}`, b, i, limit);
    }
    const ke = i;
    if (sawHigh && badUtf8At(b, k, ke) >= 0) soft ??= badUtf8(b, k, ke, start);
    if (measurementEnd - start + 1 + ke - k > MAX_VALUE_BYTES && unescapedLength(b, start, measurementEnd) + 1 + unescapedLength(b, k, ke) > MAX_VALUE_BYTES) {
      soft ??= `the metric name (measurement, "_", field ${quoted(b, k, ke)}) is longer than ${MAX_VALUE_BYTES} bytes; VictoriaMetrics keeps its first ${MAX_VALUE_BYTES}`;
    }
    if (fields === 0 && emptyMeasurement) soft ??= `empty measurement; VictoriaMetrics names the metric after the field alone (${quoted(b, k, ke)})`;
    const v = ++i;
    if (b[v] === QUOTE && v < limit) {
      for (i = v + 1; i < limit && b[i] !== QUOTE && b[i] !== NL; i++) if (b[i] === BACKSLASH && i + 1 < limit && b[i + 1] !== NL) i++;
      if (i >= limit || b[i] !== QUOTE) return fail(`field ${quoted(b, k, ke)}: unterminated quoted string${DROP}`, b, i, limit);
      i++;
      if (!atEnd(b, i, limit) && b[i] !== COMMA && b[i] !== SPACE) {
        const e = endAt(b, i, limit);
        return fail(`field ${quoted(b, k, ke)}: text after the closing quote${b.subarray(i, e).indexOf(QUOTE) >= 0 ? MISREAD : DROP}`, b, i, limit);
      }
      if (soft === null) {
        const cls = floatClass(b, v + 1, i - 1);
        if (cls === NUMBER) soft = `field ${quoted(b, k, ke)} is the string ${quoted(b, v + 1, i - 1, true)}; VictoriaMetrics stores it as the number ${Number(text(b, v + 1, i - 1))}`;
        else if (cls === NAN) soft = `field ${quoted(b, k, ke)} is the string ${quoted(b, v + 1, i - 1, true)}; VictoriaMetrics drops this sample`;
        else if (cls === INF) soft = `field ${quoted(b, k, ke)} is the string ${quoted(b, v + 1, i - 1, true)}; VictoriaMetrics stores it as ${b[v + 1] === MINUS ? '-Inf' : '+Inf'}`;
        else soft = `field ${quoted(b, k, ke)} is a string; VictoriaMetrics stores it as 0`;
      }
    } else {
      i = token(b, v, limit, STOP_FIELD_VALUE);
      if (b[i] === QUOTE && i < limit) return fail(`field ${quoted(b, k, ke)}: an unescaped '"' at byte ${i - start + 1}, inside a value that is not quoted${MISREAD}`, b, i, limit);
      if (i === v) return fail(`field ${quoted(b, k, ke)} has no value${DROP}`, b, i, limit);
      const last = b[i - 1];
      if (last === 105 /* i */ || last === 117 /* u */) {
        const p = intProblem(b, v, i - 1, last === 117);
        if (p) return fail(`field ${quoted(b, k, ke)}: ${quoted(b, v, i, true)} ${p}${DROP}`, b, i, limit);
      } else if (!isBoolean(b, v, i) && soft === null) {
        const cls = floatClass(b, v, i);
        if (cls === NAN) soft = `field ${quoted(b, k, ke)} is NaN; VictoriaMetrics drops this sample`;
        else if (cls === INF) soft = `field ${quoted(b, k, ke)}: ${quoted(b, v, i, true)} is not a finite number; VictoriaMetrics stores it as ${b[v] === MINUS ? '-Inf' : '+Inf'}`;
        else if (cls === ZERO) soft = `field ${quoted(b, k, ke)}: ${quoted(b, v, i, true)} is not a number${notNumberHint(b, v, i)}; VictoriaMetrics stores it as 0`;
      }
    }
    if (spans) spans.fields.push([k, ke, v, i]);
    fields++;
    if (i >= limit || b[i] !== COMMA) break;
    i++; // comma: next field
  }
  // timestamp
  if (!atEnd(b, i, limit)) {
    const sp = i;
    while (i < limit && b[i] === SPACE) i++;
    if (atEnd(b, i, limit)) return fail(`the line ends with a space (VictoriaMetrics reads a timestamp after it)${DROP}`, b, i, limit);
    const t = i;
    if (b[i] === MINUS) i++;
    const digits = i;
    let ts = 0;
    for (; i < limit && isDigit(b[i]); i++) ts = ts * 10 + (b[i] - 48);
    const te = i;
    if (te === digits || !atEnd(b, i, limit)) {
      let j = i;
      while (j < limit && b[j] === SPACE) j++;
      if (te > digits && b[i] === SPACE && atEnd(b, j, limit)) return fail(`the line ends with a space (VictoriaMetrics reads a timestamp after it)${DROP}`, b, j, limit);
      const e = endAt(b, i, limit);
      const tsText = quoted(b, t, e > t && b[e - 1] === CR ? e - 1 : e, true);
      const hint = b.subarray(t, e).indexOf(EQUALS) >= 0 ? ` (it looks like a field: is the space at byte ${sp - start + 1} meant to be escaped, "\\ "?)` : '';
      return fail(`timestamp ${tsText} is not an integer${hint}${DROP}`, b, i, limit);
    }
    if (te - digits > 18 && !digitsWithin(b, digits, te, digits > t ? INT64_MIN_ABS : INT64_MAX)) return fail(`timestamp ${text(b, t, te)} is beyond a 64-bit integer${DROP}`, b, i, limit);
    if (b[t] === MINUS) ts = -ts;
    if (ts === 0) soft ??= `timestamp ${text(b, t, te)}; VictoriaMetrics stores it at the time of arrival`;
    else {
      const problem = timeProblem(ts, bounds);
      if (problem) return fail(`timestamp ${text(b, t, te)} ${problem}${DROP}`, b, i, limit);
    }
    if (spans) spans.timestamp = [t, te];
  }
  lineEnd = i < limit && b[i] === CR ? i + 1 : i;
  return soft ?? fields;
}

/** The length of b[s..e) once VictoriaMetrics has removed its escapes. */
function unescapedLength(b: Uint8Array, s: number, e: number): number {
  let n = 0;
  for (let k = s; k < e; k++, n++) {
    const c = b[k + 1];
    if (b[k] === BACKSLASH && k + 1 < e && (c === SPACE || c === COMMA || c === EQUALS || c === BACKSLASH)) k++;
  }
  return n;
}

function sameBytes(b: Uint8Array, x: number, y: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (b[x + k] !== b[y + k]) return false;
  return true;
}

function badUtf8(b: Uint8Array, s: number, e: number, lineStart: number): string {
  return `invalid UTF-8 at byte ${badUtf8At(b, s, e) - lineStart + 1}; VictoriaMetrics stores the raw bytes, which its JSON answers cannot carry`;
}

/** The reason for a tag key given twice, naming the value VictoriaMetrics keeps: the last one. */
function duplicateTag(b: Uint8Array, at: number, tags: number): string {
  let ke = at;
  while (b[ke] !== EQUALS) ke += b[ke] === BACKSLASH ? 2 : 1;
  const n = ke - at;
  let last = '';
  for (let t = 0; t < Math.min(tags, MAX_LABELS); t++) {
    const s0 = tagKeys[2 * t];
    if (tagKeys[2 * t + 1] - s0 === n && sameBytes(b, s0, at, n)) {
      const vEnd = token(b, s0 + n + 1, b.length, STOP_TAG_VALUE);
      last = quoted(b, s0 + n + 1, vEnd);
    }
  }
  return `tag ${quoted(b, at, ke)} is given twice; VictoriaMetrics keeps the last value, ${last}`;
}

/** VictoriaMetrics' time for a timestamp: ms, truncated towards zero, as its integer division does. */
function vmMs(ts: number, precision: Precision): number {
  return precision === 's' ? ts * 1000 : Math.trunc(ts / PER_MS[precision]);
}

/** Why VictoriaMetrics would drop a sample at this (non-zero) timestamp, or null when it keeps it. */
function timeProblem(ts: number, bounds: TimeBounds): string | null {
  const ms = vmMs(ts, bounds.precision);
  const minMs = Math.max(0, bounds.minMs);
  let what: string | null = null;
  if (ms < 0) what = `is before 1970 (VictoriaMetrics stores no negative times)`;
  else if (ms < minMs) what = `(${isoOrRaw(ms)}) is older than VictoriaMetrics' retention period`;
  else if (ms > bounds.maxMs) what = `(${isoOrRaw(ms)}) is more than 2 days ahead`;
  if (!what) return null;
  // A timestamp that makes sense in another unit: name it.
  let best: Precision | null = null;
  let bestDistance = Infinity;
  const now = bounds.maxMs - 2 * 86_400_000;
  for (const p of PRECISIONS) {
    if (p === bounds.precision) continue;
    const alt = vmMs(ts, p);
    if (alt >= minMs && alt <= bounds.maxMs && Math.abs(alt - now) < bestDistance) {
      best = p;
      bestDistance = Math.abs(alt - now);
    }
  }
  return best ? `${what} (looks like ${UNIT_NAME[best]}: use --precision ${best})` : what;
}

function isoOrRaw(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? 'out of range' : d.toISOString();
}

/** Checks one line given as text; see scanLine. */
export function checkLine(line: string | Uint8Array, bounds: TimeBounds, out?: ParsedPoint): LineVerdict {
  const b = typeof line === 'string' ? Buffer.from(line) : line;
  const spans = out ? ({} as PointSpans) : undefined;
  const v = scanLine(b, 0, b.length, bounds, spans);
  if (out && spans && typeof v === 'number' && v > 0) {
    out.measurement = unescape(text(b, ...spans.measurement));
    out.tags = spans.tags.map(([k, ke, vs, ve]) => [unescape(text(b, k, ke)), unescape(text(b, vs, ve))]);
    out.fields = spans.fields.map(([k, ke, vs, ve]) => [unescape(text(b, k, ke)), fieldNumber(text(b, vs, ve))]);
    if (spans.timestamp) {
      const raw = text(b, ...spans.timestamp);
      out.timestamp = Number(raw);
      const [mul, div] = MS_TO[bounds.precision];
      // BigInt division truncates towards zero, as VictoriaMetrics' int64 division does.
      out.timestampMs = Number((BigInt(raw) * div) / mul);
    } else {
      out.timestamp = undefined;
      out.timestampMs = undefined;
    }
  }
  return v;
}

/** The number VictoriaMetrics stores for a value the scanner passed (a number, 12i, 7u or a boolean). */
function fieldNumber(v: string): number {
  const last = v[v.length - 1];
  if (last === 'i' || last === 'u') return Number(v.slice(0, -1));
  if (v[0] === 't' || v[0] === 'T') return 1;
  if (v[0] === 'f' || v[0] === 'F') return 0;
  return Number(v);
}

/** Parses one line fully; throws with the reason when it is invalid. Blank and comment lines give null. */
export function parsePoint(line: string, bounds: TimeBounds): ParsedPoint | null {
  const out: ParsedPoint = { measurement: '', tags: [], fields: [] };
  const v = checkLine(line, bounds, out);
  if (typeof v === 'string') throw new Error(v);
  return v === 0 ? null : out;
}

/**
 * Bounds VictoriaMetrics applies: samples older than its retention, before 1970, or over 2 days
 * ahead are dropped. An unknown retention is Infinity: then only the last two are checked.
 */
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
  if (p.measurement.startsWith('#')) throw new Error(`measurement ${JSON.stringify(p.measurement)} starts with "#", which makes the line a comment`);
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
