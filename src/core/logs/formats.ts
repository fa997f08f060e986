/**
 * The log formats monitor-logs understands, detected line by line, and what each line says:
 * which component and group it belongs to, when it happened, and the numbers it carries
 * (records, duration, Kafka lag and throughput, model confidence, task outcome). A line that
 * cannot be used yields a skip reason and a detail that names the field.
 *
 * JSON lines are read with JsonFieldScanner (no JSON.parse); Airflow's plain-text task log lines
 * are decoded and matched with a regular expression, as they are few.
 */
import { JsonFieldScanner, ValueType, valueTypeName } from './json-fields.js';
import { daysFromCivil, epochToMs, parseTimestampBytes, parseTimestampText } from './timestamp.js';

export const BUILTIN_COMPONENTS = ['airflow', 'kafka', 'ml'] as const;

/** The labels that make a group, per component. */
export const GROUP_LABELS: Record<string, readonly string[]> = {
  airflow: ['dag_id', 'task_id'],
  kafka: ['topic', 'partition', 'consumer_group'],
  ml: ['service', 'model_version'],
};

export const SKIP_REASONS = [
  'malformed_json',
  'unknown_format',
  'missing_field',
  'mistyped_field',
  'bad_timestamp',
  'outside_window',
  'too_long',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export const enum Outcome {
  none = 0,
  success = 1,
  failed = 2,
  retry = 3,
}

/** How to read another JSON-lines log: which top-level field is the time, level, latency, count. */
export interface FieldMapping {
  component: string;
  time: string;
  level?: string;
  latency?: string;
  latencyUnit: 'ms' | 's';
  count?: string;
  group: string[];
}

/** What one usable line says. Reused from line to line: copy what you keep. */
export interface LineFacts {
  component: string;
  /** Label values of the group, in GROUP_LABELS order; groupKey joins them. */
  labels: string[];
  groupKey: string;
  tsMs: number;
  error: boolean;
  /** Records, messages or predictions this line accounts for. */
  records: number;
  durationMs: number;
  lag: number;
  messagesPerSecond: number;
  confidence: number;
  outcome: Outcome;
  failedRecords: number;
}

export interface FileContext {
  /** dag_id and task_id taken from an Airflow log path (…/dag_id=x/run_id=…/task_id=y/attempt=1.log). */
  airflowDagId?: string;
  airflowTaskId?: string;
}

export function fileContext(filePath: string): FileContext {
  const dag = /(?:^|\/)dag_id=([^/]+)/.exec(filePath);
  const task = /(?:^|\/)task_id=([^/]+)/.exec(filePath);
  return { airflowDagId: dag?.[1], airflowTaskId: task?.[1] };
}

const KEY_SEP = '\u0001';
const NO_LABELS: string[] = [];
const BUILTIN_FIELDS = [
  'timestamp', 'level', 'name', 'consumer_lag', 'topic', 'partition', 'consumer_group', 'latency_ms', 'messages_per_second',
  'batch_size', 'service', 'model_version', 'prediction_id', 'confidence', 'logger', 'message', 'dag_id', 'task_id',
] as const;

/** Airflow's plain-text task log: "[2024-01-15, 10:30:00 UTC] {taskinstance.py:1345} INFO - message". */
const AIRFLOW_TEXT = /^\[([^\]]+)\]\s+\{[^}]*\}\s+([A-Za-z]+)\s+-\s?(.*)$/s;
const MESSAGE_KEYS: Record<string, 'records' | 'failed' | 's' | 'ms' | 'start' | 'end' | 'label'> = {
  __proto__: null as never,
  records_processed: 'records', rows_processed: 'records', records_failed: 'failed', failed_records: 'failed',
  duration: 's', duration_seconds: 's', duration_ms: 'ms', start_date: 'start', end_date: 'end', dag_id: 'label', task_id: 'label',
};

export class LineParser {
  readonly facts: LineFacts = {
    component: '', labels: [], groupKey: '', tsMs: NaN, error: false, records: 0, durationMs: NaN, lag: NaN,
    messagesPerSecond: NaN, confidence: NaN, outcome: Outcome.none, failedRecords: 0,
  };
  /** Why the last line was skipped, in words that name the field. */
  detail = '';
  private readonly scanner: JsonFieldScanner;
  private readonly f: Record<(typeof BUILTIN_FIELDS)[number], number>;
  private readonly mappingSlots: Array<{ m: FieldMapping; time: number; level: number; latency: number; count: number; group: number[] }>;

  constructor(readonly mappings: readonly FieldMapping[] = []) {
    const names: string[] = [...BUILTIN_FIELDS];
    const slotOf = (n: string) => {
      let i = names.indexOf(n);
      if (i < 0) i = names.push(n) - 1;
      return i;
    };
    this.f = Object.fromEntries(BUILTIN_FIELDS.map((n, i) => [n, i])) as LineParser['f'];
    this.mappingSlots = mappings.map((m) => ({
      m,
      time: slotOf(m.time),
      level: m.level ? slotOf(m.level) : -1,
      latency: m.latency ? slotOf(m.latency) : -1,
      count: m.count ? slotOf(m.count) : -1,
      group: m.group.map(slotOf),
    }));
    this.scanner = new JsonFieldScanner(names);
  }

  /** Reads buf[s, e): null when the line is usable (see facts), else why it was skipped (see detail). */
  parse(buf: Buffer, s: number, e: number, ctx: FileContext): SkipReason | null {
    while (s < e && (buf[s] === 0x20 || buf[s] === 0x09)) s++;
    while (e > s && (buf[e - 1] === 0x0d || buf[e - 1] === 0x20 || buf[e - 1] === 0x09)) e--;
    const first = s < e ? buf[s] : -1;
    const facts = this.facts;
    facts.component = '';
    facts.labels = NO_LABELS;
    facts.groupKey = '';
    facts.tsMs = NaN;
    facts.error = false;
    facts.records = 1;
    facts.durationMs = NaN;
    facts.lag = NaN;
    facts.messagesPerSecond = NaN;
    facts.confidence = NaN;
    facts.outcome = Outcome.none;
    facts.failedRecords = 0;
    if (first === 0x7b) return this.parseJson(buf, s, e, ctx);
    if (first === 0x5b) return this.parseAirflowText(buf.toString('utf8', s, e), ctx);
    this.detail = 'neither a JSON object nor an Airflow task log line';
    return 'unknown_format';
  }

  private parseJson(buf: Buffer, s: number, e: number, ctx: FileContext): SkipReason | null {
    const sc = this.scanner;
    if (!sc.scan(buf, s, e)) {
      this.detail = sc.error;
      return 'malformed_json';
    }
    const f = this.f;
    if (sc.has(f.consumer_lag) || sc.has(f.consumer_group)) return this.kafka(buf);
    if (sc.has(f.confidence) || sc.has(f.model_version) || sc.has(f.prediction_id)) return this.ml(buf);
    if (sc.has(f.dag_id) || (sc.has(f.logger) && sc.has(f.message))) return this.airflowJson(buf, ctx);
    for (const ms of this.mappingSlots) if (sc.has(ms.time)) return this.mapped(buf, ms);
    this.detail = 'JSON without the fields of Airflow, Kafka-consumer or ML logs' + (this.mappings.length ? ' or of a --map mapping' : '');
    return 'unknown_format';
  }

  private time(buf: Buffer, slot: number, name: string): SkipReason | null {
    const sc = this.scanner;
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

  /** A label value: strings as they are, numbers as written; missing → detail and false. */
  private label(buf: Buffer, slot: number, name: string, required: boolean): string | null {
    const sc = this.scanner;
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

  /** An optional number: NaN when absent; undefined (with detail) when present but not a number. */
  private num(buf: Buffer, slot: number, name: string): number | undefined {
    const sc = this.scanner;
    const t = sc.type[slot];
    if (t === ValueType.absent || t === ValueType.null) return NaN;
    const v = sc.numberAt(buf, slot);
    if (Number.isNaN(v)) {
      this.detail = `field ${name}: expected a number, got ${t === ValueType.number ? buf.toString('latin1', sc.start[slot], sc.end[slot]) : JSON.stringify(sc.stringAt(buf, slot).slice(0, 60))}`;
      return undefined;
    }
    return v;
  }

  private level(buf: Buffer, slot: number): boolean {
    const sc = this.scanner;
    if (sc.type[slot] !== ValueType.string) return false;
    return isErrorLevel(buf, sc.start[slot], sc.end[slot]);
  }

  private setGroup(component: string, a: string, b: string, c?: string): void {
    const facts = this.facts;
    facts.component = component;
    if (c === undefined) {
      facts.labels = [a, b];
      facts.groupKey = a + KEY_SEP + b;
    } else {
      facts.labels = [a, b, c];
      facts.groupKey = a + KEY_SEP + b + KEY_SEP + c;
    }
  }

  private kafka(buf: Buffer): SkipReason | null {
    const f = this.f;
    const bad = this.time(buf, f.timestamp, 'timestamp');
    if (bad) return bad;
    const topic = this.label(buf, f.topic, 'topic', true);
    if (topic === null) return 'missing_field';
    const partition = this.label(buf, f.partition, 'partition', true);
    if (partition === null) return 'missing_field';
    const group = this.label(buf, f.consumer_group, 'consumer_group', true);
    if (group === null) return 'missing_field';
    const lag = this.num(buf, f.consumer_lag, 'consumer_lag');
    const latency = this.num(buf, f.latency_ms, 'latency_ms');
    const mps = this.num(buf, f.messages_per_second, 'messages_per_second');
    const batch = this.num(buf, f.batch_size, 'batch_size');
    if (lag === undefined || latency === undefined || mps === undefined || batch === undefined) return 'mistyped_field';
    const facts = this.facts;
    this.setGroup('kafka', topic, partition, group);
    facts.error = this.level(buf, f.level);
    facts.lag = lag;
    facts.durationMs = latency;
    facts.messagesPerSecond = mps;
    if (!Number.isNaN(batch)) facts.records = batch;
    return null;
  }

  private ml(buf: Buffer): SkipReason | null {
    const f = this.f;
    const bad = this.time(buf, f.timestamp, 'timestamp');
    if (bad) return bad;
    const version = this.label(buf, f.model_version, 'model_version', true);
    if (version === null) return 'missing_field';
    const service = this.label(buf, f.service, 'service', false);
    if (service === null) return 'mistyped_field';
    const confidence = this.num(buf, f.confidence, 'confidence');
    const latency = this.num(buf, f.latency_ms, 'latency_ms');
    if (confidence === undefined || latency === undefined) return 'mistyped_field';
    if (confidence < 0 || confidence > 1) {
      this.detail = `field confidence: ${confidence} is outside 0..1`;
      return 'mistyped_field';
    }
    const facts = this.facts;
    this.setGroup('ml', service || '-', version);
    facts.error = this.level(buf, f.level);
    facts.confidence = confidence;
    facts.durationMs = latency;
    return null;
  }

  private airflowJson(buf: Buffer, ctx: FileContext): SkipReason | null {
    const f = this.f;
    const bad = this.time(buf, f.timestamp, 'timestamp');
    if (bad) return bad;
    const dag = this.label(buf, f.dag_id, 'dag_id', false);
    const task = this.label(buf, f.task_id, 'task_id', false);
    if (dag === null || task === null) return 'mistyped_field';
    const message = this.scanner.has(f.message) ? this.scanner.stringAt(buf, f.message) : '';
    this.setGroup('airflow', dag || ctx.airflowDagId || '-', task || ctx.airflowTaskId || '-');
    this.facts.error = this.level(buf, f.level);
    return this.airflowMessage(message);
  }

  private parseAirflowText(line: string, ctx: FileContext): SkipReason | null {
    const m = AIRFLOW_TEXT.exec(line);
    if (!m) {
      this.detail = 'starts with "[" but is not an Airflow task log line ([time] {file:line} LEVEL - message)';
      return 'unknown_format';
    }
    const ts = parseTimestampText(m[1]);
    if (Number.isNaN(ts)) {
      this.detail = `time ${JSON.stringify(m[1].slice(0, 60))} is not an ISO 8601 time`;
      return 'bad_timestamp';
    }
    this.facts.tsMs = ts;
    const level = m[2].toUpperCase();
    this.facts.error = level === 'ERROR' || level === 'CRITICAL' || level === 'FATAL';
    const message = m[3];
    let dag = '';
    let task = '';
    forEachKeyValue(message, (key, value) => {
      if (key === 'dag_id' && !dag) dag = value;
      else if (key === 'task_id' && !task) task = value;
    });
    this.setGroup('airflow', dag || ctx.airflowDagId || '-', task || ctx.airflowTaskId || '-');
    return this.airflowMessage(message);
  }

  /**
   * The numbers inside an Airflow message: records_processed=, rows_processed=, records_failed=,
   * failed_records=, duration= (seconds), duration_ms=, and the task's outcome ("Marking task as
   * SUCCESS"), with the duration from start_date/end_date when no duration is given.
   */
  private airflowMessage(message: string): SkipReason | null {
    const facts = this.facts;
    facts.records = 0;
    facts.outcome = messageOutcome(message);
    if (message.indexOf('=') < 0) return null;
    let start = '';
    let end = '';
    let bad: string | null = null;
    forEachKeyValue(message, (key, raw) => {
      if (bad !== null) return;
      const kind = MESSAGE_KEYS[key];
      if (kind === undefined) return;
      if (kind === 'start') start = raw;
      else if (kind === 'end') end = raw;
      else if (kind !== 'label') {
        const v = messageNumber(raw);
        if (!Number.isFinite(v)) {
          bad = `message key ${key}=${raw.slice(0, 40)} is not a number`;
          return;
        }
        if (kind === 'records') facts.records += v;
        else if (kind === 'failed') facts.failedRecords += v;
        else if (kind === 'ms') facts.durationMs = v;
        else facts.durationMs = v * 1000;
      }
    });
    if (bad !== null) {
      this.detail = bad;
      return 'mistyped_field';
    }
    if (facts.outcome !== Outcome.none && Number.isNaN(facts.durationMs) && start && end) {
      const d = airflowTime(end) - airflowTime(start);
      if (Number.isFinite(d) && d >= 0) facts.durationMs = d;
    }
    return null;
  }

  private mapped(buf: Buffer, ms: LineParser['mappingSlots'][number]): SkipReason | null {
    const bad = this.time(buf, ms.time, ms.m.time);
    if (bad) return bad;
    const facts = this.facts;
    const labels: string[] = [];
    for (let k = 0; k < ms.group.length; k++) {
      const v = this.label(buf, ms.group[k], ms.m.group[k], false);
      if (v === null) return 'mistyped_field';
      labels.push(v || '-');
    }
    facts.component = ms.m.component;
    facts.labels = labels;
    facts.groupKey = labels.join(KEY_SEP);
    if (ms.level >= 0) facts.error = this.level(buf, ms.level);
    if (ms.latency >= 0) {
      const v = this.num(buf, ms.latency, ms.m.latency!);
      if (v === undefined) return 'mistyped_field';
      facts.durationMs = ms.m.latencyUnit === 's' ? v * 1000 : v;
    }
    if (ms.count >= 0) {
      const v = this.num(buf, ms.count, ms.m.count!);
      if (v === undefined) return 'mistyped_field';
      if (!Number.isNaN(v)) facts.records = v;
    }
    return null;
  }
}

/** ERROR, CRITICAL or FATAL, in any case (also "error" and "Critical"). */
export function isErrorLevel(buf: Buffer, s: number, e: number): boolean {
  const n = e - s;
  const c = buf[s] | 0x20;
  if (n === 5 && c === 0x65) return (buf[s + 1] | 0x20) === 0x72 && (buf[s + 2] | 0x20) === 0x72 && (buf[s + 3] | 0x20) === 0x6f && (buf[s + 4] | 0x20) === 0x72;
  if (n === 8 && c === 0x63) return buf.toString('latin1', s, e).toUpperCase() === 'CRITICAL';
  if (n === 5 && c === 0x66) return buf.toString('latin1', s, e).toUpperCase() === 'FATAL';
  return false;
}

/** Airflow's compact dates in task messages: 20240115T103000, or an ISO time. */
export function airflowTime(raw: string): number {
  if (raw.length === 15 && raw.charCodeAt(8) === 0x54 && /^\d{8}T\d{6}$/.test(raw)) {
    const n = (i: number, w: number) => Number(raw.slice(i, i + w));
    const [mo, d, h, mi, sec] = [n(4, 2), n(6, 2), n(9, 2), n(11, 2), n(13, 2)];
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) return NaN;
    return daysFromCivil(n(0, 4), mo, d) * 86_400_000 + h * 3_600_000 + mi * 60_000 + sec * 1000;
  }
  return parseTimestampText(raw);
}

/** "Marking task as SUCCESS|FAILED|UP_FOR_RETRY": the first such phrase in a message. */
export function messageOutcome(message: string): Outcome {
  const phrase = 'Marking task as ';
  for (let at = message.indexOf(phrase); at >= 0; at = message.indexOf(phrase, at + 1)) {
    const rest = at + phrase.length;
    if (message.startsWith('SUCCESS', rest)) return Outcome.success;
    if (message.startsWith('FAILED', rest)) return Outcome.failed;
    if (message.startsWith('UP_FOR_RETRY', rest)) return Outcome.retry;
  }
  return Outcome.none;
}

/** A number in a message value: a sentence's full stops and an "s" unit are dropped ("45.2s." → 45.2). */
export function messageNumber(raw: string): number {
  let e = raw.length;
  while (e > 0 && raw.charCodeAt(e - 1) === 0x2e) e--;
  if (e > 0 && raw.charCodeAt(e - 1) === 0x73) e--;
  const text = raw.slice(0, e);
  return /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : NaN;
}

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** JavaScript's \s: ASCII whitespace and the Unicode spaces. */
function isJsSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * The key=value pairs of a log message, left to right: a key is a word ([A-Za-z_][A-Za-z0-9_.]*)
 * that starts at a word boundary and is followed by "="; its value is a quoted string, or the
 * text up to whitespace, "," or ";" (with one quote at either end dropped). native/logscan.c
 * reads messages by the same rules.
 */
export function forEachKeyValue(m: string, visit: (key: string, value: string) => void): void {
  const n = m.length;
  let i = 0;
  while (i < n) {
    const c = m.charCodeAt(i);
    const keyStart = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
    if (!keyStart || (i > 0 && isWordChar(m.charCodeAt(i - 1)))) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && (isWordChar(m.charCodeAt(j)) || m.charCodeAt(j) === 0x2e)) j++;
    if (j >= n || m.charCodeAt(j) !== 0x3d) {
      i = j;
      continue;
    }
    const v = j + 1;
    const q = v < n ? m.charCodeAt(v) : 0;
    if (q === 0x22 || q === 0x27) {
      const close = m.indexOf(q === 0x22 ? '"' : "'", v + 1);
      if (close >= 0) {
        visit(m.slice(i, j), m.slice(v + 1, close));
        i = close + 1;
        continue;
      }
    }
    let k = v;
    while (k < n) {
      const x = m.charCodeAt(k);
      if (x === 0x2c || x === 0x3b || isJsSpace(x)) break;
      k++;
    }
    if (k === v) {
      i = j;
      continue;
    }
    let vs = v;
    let ve = k;
    const first = m.charCodeAt(vs);
    if (first === 0x22 || first === 0x27) vs++;
    const last = ve > vs ? m.charCodeAt(ve - 1) : 0;
    if (last === 0x22 || last === 0x27) ve--;
    visit(m.slice(i, j), m.slice(vs, ve));
    i = k;
  }
}

/** A mapping from --map flags ("time=ts,level=severity,latency=took_ms,count=n,group=service") or a config file's object. */
export function parseFieldMapping(spec: Record<string, unknown>, where: string): FieldMapping {
  const known = new Set(['component', 'time', 'level', 'latency', 'latency_unit', 'count', 'group']);
  for (const k of Object.keys(spec)) if (!known.has(k)) throw new Error(`${where}: unknown key ${k} (expected ${[...known].join(', ')})`);
  const str = (k: string) => {
    const v = spec[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw new Error(`${where}: ${k} must be a field name`);
    return v;
  };
  const time = str('time');
  if (!time) throw new Error(`${where}: time is required (the field that holds each line's time)`);
  const unit = str('latency_unit') ?? 'ms';
  if (unit !== 'ms' && unit !== 's') throw new Error(`${where}: latency_unit must be ms or s`);
  const component = str('component') ?? 'custom';
  if (!/^[a-z][a-z0-9_-]{0,39}$/.test(component)) throw new Error(`${where}: component ${component} must be lowercase letters, digits, _ or -`);
  const groupRaw = spec.group;
  const group = groupRaw === undefined ? [] : Array.isArray(groupRaw) ? groupRaw.map(String) : String(groupRaw).split('+').filter(Boolean);
  for (const g of group) if (!/^[A-Za-z_][\w.-]*$/.test(g)) throw new Error(`${where}: group field ${g} is not a field name`);
  return { component, time, level: str('level'), latency: str('latency'), latencyUnit: unit, count: str('count'), group };
}
