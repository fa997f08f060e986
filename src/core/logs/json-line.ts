/**
 * One JSON line as the format modules read it: the scanned fields (JsonFieldScanner) and the
 * facts being filled, with the readings every format shares (time, label, number, level), each
 * saying in `detail` what was wrong with which field.
 */
import type { LineFacts, SkipReason } from './formats.js';
import { JsonFieldScanner, ValueType, valueTypeName } from './json-fields.js';
import { isErrorLevel, MAX_LOG_NUMBER } from './message.js';
import { epochToMs, parseTimestampBytes } from './timestamp.js';

const KEY_SEP = '\u0001';
const EMPTY = Buffer.alloc(0);

export class JsonLine {
  readonly scanner: JsonFieldScanner;
  buf: Buffer = EMPTY;
  /** Why the line cannot be used, naming the field. */
  detail = '';

  constructor(
    readonly names: readonly string[],
    readonly facts: LineFacts,
  ) {
    this.scanner = new JsonFieldScanner(names);
  }

  /** Scans buf[s, e): false when it is not one JSON object (detail says where it broke). */
  scan(buf: Buffer, s: number, e: number): boolean {
    this.buf = buf;
    if (this.scanner.scan(buf, s, e)) return true;
    this.detail = this.scanner.error;
    return false;
  }

  has(slot: number): boolean {
    return this.scanner.has(slot);
  }

  /** The field as text (strings decoded), '' when absent. */
  text(slot: number): string {
    return this.scanner.has(slot) ? this.scanner.stringAt(this.buf, slot) : '';
  }

  /** The line's time into facts.tsMs: an ISO 8601 string or an epoch number. */
  time(slot: number, name: string): SkipReason | null {
    const sc = this.scanner;
    const buf = this.buf;
    const t = sc.type[slot];
    if (t === ValueType.absent || t === ValueType.null) {
      this.detail = `field ${name} is missing`;
      return 'missing_field';
    }
    const ms = t === ValueType.number ? epochToMs(Number(buf.toString('latin1', sc.start[slot], sc.end[slot]))) : t === ValueType.string ? parseTimestampBytes(buf, sc.start[slot], sc.end[slot]) : NaN;
    if (Number.isNaN(ms)) {
      this.detail = `field ${name}: ${JSON.stringify(sc.stringAt(buf, slot).slice(0, 60))} is not an ISO 8601 time or epoch number`;
      return 'bad_timestamp';
    }
    this.facts.tsMs = ms;
    return null;
  }

  /** A label value: strings as they are, numbers as written; '' when absent and not required; null (with detail) when unusable. */
  label(slot: number, name: string, required: boolean): string | null {
    const sc = this.scanner;
    const buf = this.buf;
    const t = sc.type[slot];
    if (t === ValueType.string || t === ValueType.number) return buf.toString('utf8', sc.start[slot], sc.end[slot]);
    if (t === ValueType.escapedString) return sc.stringAt(buf, slot);
    if (t === ValueType.absent || t === ValueType.null) {
      if (!required) return '';
      this.detail = `field ${name} is missing`;
      return null;
    }
    this.detail = `field ${name}: expected a string, got a JSON ${valueTypeName(t)}`;
    return null;
  }

  /** An optional number: NaN when absent; undefined (with detail) when present but not a number, or out of range. */
  num(slot: number, name: string): number | undefined {
    const sc = this.scanner;
    const buf = this.buf;
    const t = sc.type[slot];
    if (t === ValueType.absent || t === ValueType.null) return NaN;
    const v = sc.numberAt(buf, slot);
    if (Number.isNaN(v)) {
      this.detail = `field ${name}: expected a number, got ${t === ValueType.number ? buf.toString('latin1', sc.start[slot], sc.end[slot]) : JSON.stringify(sc.stringAt(buf, slot).slice(0, 60))}`;
      return undefined;
    }
    if (!Number.isFinite(v) || Math.abs(v) > MAX_LOG_NUMBER) {
      // 1e400 reads as Infinity: summed, it would poison every figure of the group.
      this.detail = `field ${name}: ${buf.toString('latin1', sc.start[slot], Math.min(sc.end[slot], sc.start[slot] + 40))} is out of range (beyond ±${MAX_LOG_NUMBER})`;
      return undefined;
    }
    return v;
  }

  /** An error level (ERROR, CRITICAL, FATAL in any case) in a string field. */
  level(slot: number): boolean {
    const sc = this.scanner;
    if (sc.type[slot] !== ValueType.string) return false;
    return isErrorLevel(this.buf, sc.start[slot], sc.end[slot]);
  }

  setGroup(component: string, labels: string[]): void {
    const facts = this.facts;
    facts.component = component;
    facts.labels = labels;
    facts.groupKey = labels.length === 1 ? labels[0] : labels.join(KEY_SEP);
  }
}
