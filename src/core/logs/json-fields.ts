/**
 * Reads chosen top-level fields of a one-line JSON object straight from its bytes, without
 * building the object: a log line of ~230 bytes costs one pass and no allocation, where
 * JSON.parse would build every string and number of it. The whole line is still checked to be
 * one JSON object (strings, nesting, literals, numbers' characters), so malformed lines are told
 * apart from lines that merely lack a field. Raw control characters inside strings, which strict
 * JSON forbids, are let through: loggers do write them, and nothing is lost by reading them.
 */

export const enum ValueType {
  absent = 0,
  string = 1,
  /** A string with backslash escapes: decode with stringAt(). */
  escapedString = 2,
  number = 3,
  true = 4,
  false = 5,
  null = 6,
  object = 7,
  array = 8,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

export class JsonFieldScanner {
  /** Field slots, in the order of the names given to the constructor. */
  readonly type: Uint8Array;
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** Names by byte length, each with its slot, for matching keys without decoding them. */
  private readonly byLength: Array<Array<{ bytes: Buffer; slot: number }>> = [];
  private readonly touched: number[] = [];
  /** Why the last scan failed, with the byte position in the line. */
  error = '';

  constructor(readonly names: readonly string[]) {
    this.type = new Uint8Array(names.length);
    this.start = new Int32Array(names.length);
    this.end = new Int32Array(names.length);
    names.forEach((name, slot) => {
      const bytes = Buffer.from(name, 'utf8');
      (this.byLength[bytes.length] ??= []).push({ bytes, slot });
    });
  }

  /** Scans buf[from, to); true when it is one JSON object. Fields not present read as absent. */
  scan(buf: Buffer, from: number, to: number): boolean {
    for (const s of this.touched) this.type[s] = ValueType.absent;
    this.touched.length = 0;
    let i = from;
    while (i < to && isSpace(buf[i])) i++;
    if (i >= to || buf[i] !== 0x7b) return this.fail('not a JSON object', i - from);
    i++;
    while (i < to && isSpace(buf[i])) i++;
    if (i < to && buf[i] === 0x7d) return this.finish(buf, i + 1, from, to);
    for (;;) {
      if (i >= to || buf[i] !== QUOTE) return this.fail('expected a quoted key', i - from);
      const keyStart = i + 1;
      let escaped = false;
      i = keyStart;
      while (i < to && buf[i] !== QUOTE) {
        if (buf[i] === BACKSLASH) {
          escaped = true;
          i++;
        }
        i++;
      }
      if (i >= to) return this.fail('unterminated key', keyStart - 1 - from);
      const keyEnd = i;
      i++;
      while (i < to && isSpace(buf[i])) i++;
      if (i >= to || buf[i] !== 0x3a) return this.fail('expected ":" after a key', i - from);
      i++;
      while (i < to && isSpace(buf[i])) i++;
      if (i >= to) return this.fail('missing value', i - from);
      const c = buf[i];
      let vStart = i;
      let vEnd: number;
      let vType: ValueType;
      if (c === QUOTE) {
        vStart = i + 1;
        vType = ValueType.string;
        i = vStart;
        while (i < to) {
          const b = buf[i];
          if (b === QUOTE) break;
          if (b === BACKSLASH) {
            vType = ValueType.escapedString;
            i++;
          }
          i++;
        }
        if (i >= to) return this.fail('unterminated string', vStart - 1 - from);
        vEnd = i;
        i++;
      } else if (c === 0x7b || c === 0x5b) {
        vType = c === 0x7b ? ValueType.object : ValueType.array;
        i = this.skipNested(buf, i, to);
        if (i < 0) return this.fail('unbalanced brackets', vStart - from);
        vEnd = i;
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        vType = ValueType.number;
        i++;
        while (i < to) {
          const b = buf[i];
          if ((b >= 0x30 && b <= 0x39) || b === 0x2e || b === 0x65 || b === 0x45 || b === 0x2b || b === 0x2d) i++;
          else break;
        }
        vEnd = i;
      } else if (c === 0x74 && this.literal(buf, i, to, 'true')) {
        vType = ValueType.true;
        i += 4;
        vEnd = i;
      } else if (c === 0x66 && this.literal(buf, i, to, 'false')) {
        vType = ValueType.false;
        i += 5;
        vEnd = i;
      } else if (c === 0x6e && this.literal(buf, i, to, 'null')) {
        vType = ValueType.null;
        i += 4;
        vEnd = i;
      } else {
        return this.fail('invalid value', i - from);
      }
      if (!escaped) {
        const candidates = this.byLength[keyEnd - keyStart];
        if (candidates !== undefined) {
          for (const cand of candidates) {
            const bytes = cand.bytes;
            let k = 0;
            while (k < bytes.length && bytes[k] === buf[keyStart + k]) k++;
            if (k === bytes.length) {
              this.type[cand.slot] = vType;
              this.start[cand.slot] = vStart;
              this.end[cand.slot] = vEnd;
              this.touched.push(cand.slot);
              break;
            }
          }
        }
      }
      while (i < to && isSpace(buf[i])) i++;
      if (i >= to) return this.fail('unterminated object', i - from);
      if (buf[i] === 0x2c) {
        i++;
        while (i < to && isSpace(buf[i])) i++;
        continue;
      }
      if (buf[i] === 0x7d) return this.finish(buf, i + 1, from, to);
      return this.fail('expected "," or "}"', i - from);
    }
  }

  private finish(buf: Buffer, i: number, from: number, to: number): boolean {
    while (i < to && isSpace(buf[i])) i++;
    if (i < to) return this.fail('text after the object', i - from);
    this.error = '';
    return true;
  }

  private fail(why: string, at: number): false {
    for (const s of this.touched) this.type[s] = ValueType.absent;
    this.touched.length = 0;
    this.error = `${why} at byte ${at + 1}`;
    return false;
  }

  private literal(buf: Buffer, i: number, to: number, word: string): boolean {
    if (i + word.length > to) return false;
    for (let k = 0; k < word.length; k++) if (buf[i + k] !== word.charCodeAt(k)) return false;
    return true;
  }

  /** Skips an object or array starting at i; returns the position after it, or -1. */
  private skipNested(buf: Buffer, i: number, to: number): number {
    let depth = 0;
    while (i < to) {
      const b = buf[i];
      if (b === QUOTE) {
        i++;
        while (i < to && buf[i] !== QUOTE) i += buf[i] === BACKSLASH ? 2 : 1;
        if (i >= to) return -1;
      } else if (b === 0x7b || b === 0x5b) depth++;
      else if (b === 0x7d || b === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
        if (depth < 0) return -1;
      }
      i++;
    }
    return -1;
  }

  has(slot: number): boolean {
    return this.type[slot] !== ValueType.absent && this.type[slot] !== ValueType.null;
  }

  /** The field as text: strings decoded, other values as written. */
  stringAt(buf: Buffer, slot: number): string {
    const t = this.type[slot];
    if (t === ValueType.escapedString) {
      try {
        return JSON.parse(buf.toString('utf8', this.start[slot] - 1, this.end[slot] + 1)) as string;
      } catch {
        return buf.toString('utf8', this.start[slot], this.end[slot]);
      }
    }
    return buf.toString('utf8', this.start[slot], this.end[slot]);
  }

  /** The field as a number: JSON numbers, and strings that hold one ("12.5"); NaN otherwise. */
  numberAt(buf: Buffer, slot: number): number {
    const t = this.type[slot];
    if (t !== ValueType.number && t !== ValueType.string) return NaN;
    return parseDecimal(buf, this.start[slot], this.end[slot]);
  }
}

/** A decimal number from bytes: a fast path for [-]digits[.digits], Number() for the rest. */
export function parseDecimal(buf: Buffer, s: number, e: number): number {
  if (s >= e) return NaN;
  let i = s;
  let neg = false;
  if (buf[i] === 0x2d) {
    neg = true;
    i++;
  }
  let intPart = 0;
  let digits = 0;
  while (i < e) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) break;
    intPart = intPart * 10 + d;
    digits++;
    i++;
  }
  if (digits === 0 || digits > 15) return slow(buf, s, e);
  if (i === e) return neg ? -intPart : intPart;
  if (buf[i] !== 0x2e) return slow(buf, s, e);
  i++;
  let frac = 0;
  let scale = 1;
  let fracDigits = 0;
  while (i < e) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return slow(buf, s, e);
    frac = frac * 10 + d;
    scale *= 10;
    fracDigits++;
    i++;
  }
  if (fracDigits === 0 || digits + fracDigits > 15) return slow(buf, s, e);
  // Both parts are exact integers below 2^53, so one division gives the correctly rounded value,
  // the same double as Number(text).
  const v = (intPart * scale + frac) / scale;
  return neg ? -v : v;
}

function slow(buf: Buffer, s: number, e: number): number {
  const text = buf.toString('latin1', s, e).trim();
  if (text === '' || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return NaN;
  return Number(text);
}

export function valueTypeName(t: ValueType): string {
  return ['absent value', 'string', 'string', 'number', 'true', 'false', 'null', 'object', 'array'][t] ?? 'value';
}
