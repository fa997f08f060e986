/**
 * The log formats monitor-logs understands, detected line by line, and what each line says:
 * which component and group it belongs to, when it happened, and the numbers it carries
 * (records, duration, Kafka lag and throughput, model confidence, task outcome). A line that
 * cannot be used yields a skip reason and a detail that names the field.
 *
 * JSON lines are read with JsonFieldScanner (no JSON.parse); Airflow's plain-text task log lines
 * are decoded and matched with a regular expression, as they are few.
 */
import { BUILTIN_FORMATS } from './format-table.js';
import { JsonFieldScanner, ValueType, valueTypeName } from './json-fields.js';
import { emptyMessageFacts, forEachKeyValue, MAX_LOG_NUMBER, readMessage } from './message.js';
import { PYTHON_FALLBACK_COMPONENT, PYTHON_GROUP_LABELS, pythonComponent, pythonLineShape, type PythonLineShape } from './python.js';
import { daysFromCivil, epochToMs, parseTimestampBytes, parseTimestampText } from './timestamp.js';
import { UserFormatMatcher, type UserFormat } from './user-formats.js';

export { forEachKeyValue, messageNumber } from './message.js';

export const BUILTIN_COMPONENTS: readonly string[] = BUILTIN_FORMATS.map((f) => f.component);
/**
 * Component names other formats cannot take: the built-ins, the fallback of Python logger
 * names, and "other" (the overflow group's name).
 */
export const RESERVED_COMPONENTS: readonly string[] = [...BUILTIN_COMPONENTS, PYTHON_FALLBACK_COMPONENT, 'logfmt'];

/** The labels that make a group, per built-in component (format-table.ts). */
export const GROUP_LABELS: Record<string, readonly string[]> = Object.fromEntries(BUILTIN_FORMATS.map((f) => [f.component, f.groupLabels]));

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
/** logfmt keys that hold the time, the level and the logger, tried in this order. */
const LOGFMT_TIME_KEYS = ['ts', 'time', 'timestamp'];
const LOGFMT_LEVEL_KEYS = ['level', 'lvl', 'severity'];
const LOGFMT_LOGGER_KEYS = ['logger', 'service', 'app', 'component'];

/** The group labels of a component: a built-in's, a mapping's or a user format's, else a logger's (Python, logfmt). */
export function groupLabelsOf(component: string, mappings: readonly FieldMapping[], formats: readonly UserFormat[] = []): string[] {
  return [...(GROUP_LABELS[component] ?? mappings.find((m) => m.component === component)?.group ?? formats.find((f) => f.component === component)?.group ?? PYTHON_GROUP_LABELS)];
}

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

  private readonly message = emptyMessageFacts();
  private readonly shape: PythonLineShape = { timeEnd: 0, nameStart: 0, nameEnd: 0, levelStart: 0, levelEnd: 0, messageStart: 0 };
  /** Components that logger names cannot take (built-ins, mappings, user formats). */
  private readonly taken: ReadonlySet<string>;
  private readonly userFormats: UserFormatMatcher | null;
  /** Logger name → component, for the names seen (bounded). */
  private readonly loggerComponents = new Map<string, string>();

  constructor(
    readonly mappings: readonly FieldMapping[] = [],
    readonly formats: readonly UserFormat[] = [],
  ) {
    this.taken = new Set([...RESERVED_COMPONENTS, ...mappings.map((m) => m.component), ...formats.map((f) => f.component)]);
    this.userFormats = formats.length ? new UserFormatMatcher(formats) : null;
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
    if (this.userFormats !== null) {
      const r = this.userFormats.parse(buf, s, e, facts);
      if (r !== undefined) {
        if (r !== null) this.detail = this.userFormats.detail;
        return r;
      }
    }
    if (first === 0x7b) return this.parseJson(buf, s, e, ctx);
    if (first === 0x5b) return this.parseAirflowText(buf.toString('utf8', s, e), ctx);
    if (first >= 0x30 && first <= 0x39 && pythonLineShape(buf, s, e, this.shape)) return this.python(buf, s, e);
    if (((first | 0x20) >= 0x61 && (first | 0x20) <= 0x7a) || first === 0x5f) {
      const r = this.logfmt(buf.toString('utf8', s, e));
      if (r !== undefined) return r;
    }
    this.detail = 'neither a JSON object, an Airflow task log line, a Python logging line nor logfmt' + (this.userFormats ? ', and no --format-file format matches' : '');
    return 'unknown_format';
  }

  /** The component of a logger name (cached: the same names come back on every line). */
  componentOfLogger(logger: string): string {
    let c = this.loggerComponents.get(logger);
    if (c === undefined) {
      c = pythonComponent(logger, this.taken);
      if (this.loggerComponents.size < 100_000) this.loggerComponents.set(logger, c);
    }
    return c;
  }

  private setLogger(logger: string): void {
    const facts = this.facts;
    facts.component = this.componentOfLogger(logger);
    facts.labels = [logger];
    facts.groupKey = logger;
  }

  /** A Python logging line in a stock layout (python.ts). */
  private python(buf: Buffer, s: number, e: number): SkipReason | null {
    const sh = this.shape;
    const ts = parseTimestampBytes(buf, s, sh.timeEnd);
    if (Number.isNaN(ts)) {
      this.detail = `time ${JSON.stringify(buf.toString('utf8', s, sh.timeEnd))} is not a valid date and time`;
      return 'bad_timestamp';
    }
    const facts = this.facts;
    facts.tsMs = ts;
    facts.error = isErrorLevel(buf, sh.levelStart, sh.levelEnd);
    this.setLogger(buf.toString('utf8', sh.nameStart, sh.nameEnd));
    return this.messageNumbers(sh.messageStart < e ? buf.toString('utf8', sh.messageStart, e) : '');
  }

  /** Records, failed records and duration from a message (message.ts); mistyped when a number is not one. */
  private messageNumbers(message: string): SkipReason | null {
    const m = this.message;
    readMessage(message, m);
    if (m.bad !== '') {
      this.detail = m.bad;
      return 'mistyped_field';
    }
    const facts = this.facts;
    facts.records = m.records;
    facts.failedRecords = m.failedRecords;
    facts.durationMs = m.durationMs;
    return null;
  }

  /**
   * logfmt (ts=… level=info logger=payments rows=120 took_ms=12.5 msg="Exported 5 rows"): a line
   * whose first word is a key with a time key among its pairs. undefined when the line is not
   * logfmt at all.
   */
  private logfmt(line: string): SkipReason | null | undefined {
    const eq = line.indexOf('=');
    if (eq < 1 || !/^[A-Za-z_][\w.]*$/.test(line.slice(0, eq))) return undefined;
    const pairs = new Map<string, string>();
    forEachKeyValue(line, (k, v) => {
      if (!pairs.has(k)) pairs.set(k, v);
    });
    const timeKey = LOGFMT_TIME_KEYS.find((k) => pairs.has(k));
    if (timeKey === undefined) return undefined;
    const ts = parseTimestampText(pairs.get(timeKey)!);
    if (Number.isNaN(ts)) {
      this.detail = `logfmt key ${timeKey}: ${JSON.stringify(pairs.get(timeKey)!.slice(0, 60))} is not an ISO 8601 time`;
      return 'bad_timestamp';
    }
    const facts = this.facts;
    facts.tsMs = ts;
    const levelKey = LOGFMT_LEVEL_KEYS.find((k) => pairs.has(k));
    if (levelKey !== undefined) {
      const level = pairs.get(levelKey)!.toUpperCase();
      facts.error = level === 'ERROR' || level === 'CRITICAL' || level === 'FATAL';
    }
    const loggerKey = LOGFMT_LOGGER_KEYS.find((k) => pairs.has(k) && pairs.get(k) !== '');
    if (loggerKey !== undefined) this.setLogger(pairs.get(loggerKey)!);
    else {
      facts.component = 'logfmt';
      facts.labels = ['-'];
      facts.groupKey = '-';
    }
    return this.messageNumbers(line);
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
    if (!Number.isFinite(v) || Math.abs(v) > MAX_LOG_NUMBER) {
      // 1e400 reads as Infinity: summed, it would poison every figure of the group.
      this.detail = `field ${name}: ${buf.toString('latin1', sc.start[slot], Math.min(sc.end[slot], sc.start[slot] + 40))} is out of range (beyond ±${MAX_LOG_NUMBER})`;
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
    const r = this.airflowMessage(message);
    this.setGroup('airflow', this.message.dagId || ctx.airflowDagId || '-', this.message.taskId || ctx.airflowTaskId || '-');
    return r;
  }

  /**
   * The numbers inside an Airflow message (message.ts: records_processed=, duration=, "Exported
   * N rows"…) and the task's outcome ("Marking task as SUCCESS"), with the duration from
   * start_date/end_date when no duration is given.
   */
  private airflowMessage(message: string): SkipReason | null {
    const facts = this.facts;
    facts.outcome = messageOutcome(message);
    const bad = this.messageNumbers(message);
    if (bad !== null) return bad;
    const m = this.message;
    if (facts.outcome !== Outcome.none && Number.isNaN(facts.durationMs) && m.start && m.end) {
      const d = airflowTime(m.end) - airflowTime(m.start);
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
