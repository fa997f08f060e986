/**
 * The log formats monitor-logs understands, detected line by line, and what each line says:
 * which component and group it belongs to, when it happened, and the numbers it carries
 * (records, duration, Kafka lag and throughput, model confidence, task outcome). A line that
 * cannot be used yields a skip reason and a detail that names the field.
 *
 * LineParser dispatches: the user's formats first (user-formats.ts), then by the first byte, JSON
 * lines to the built-in formats of the format table (formats/*.ts, read with JsonFieldScanner, no
 * JSON.parse) and to --map mappings, "[" to Airflow's plain-text task log, a digit to Python's
 * stock layouts (python.ts), a letter to logfmt. Messages' numbers are read by message.ts.
 */
import { BUILTIN_FORMATS } from './format-table.js';
import { COMPONENT_NAME, type JsonReader } from './format-view.js';
import { readAirflowText } from './formats/airflow.js';
import { JsonLine } from './json-line.js';
import { emptyMessageFacts, forEachKeyValue, isErrorLevel, isErrorLevelText, readMessage } from './message.js';
import { PYTHON_FALLBACK_COMPONENT, PYTHON_GROUP_LABELS, pythonComponent, pythonLineShape, type PythonLineShape } from './python.js';
import { parseTimestampBytes, parseTimestampText } from './timestamp.js';
import { UserFormatMatcher, type UserFormat } from './user-formats.js';

export { forEachKeyValue, messageNumber } from './message.js';

export const BUILTIN_COMPONENTS: readonly string[] = BUILTIN_FORMATS.map((f) => f.component);
/**
 * Component names mappings and user formats cannot take: the built-ins', the fallback of Python
 * logger names, and that of logfmt lines without a logger.
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

const NO_LABELS: string[] = [];
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
  /** The JSON line being read, with the fields every JSON format asks for. */
  private readonly json: JsonLine;
  /** The built-in JSON formats in the order they are offered a line, their fields bound. */
  private readonly jsonReaders: JsonReader[];
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
    const names: string[] = [];
    const slotOf = (n: string) => {
      let i = names.indexOf(n);
      if (i < 0) i = names.push(n) - 1;
      return i;
    };
    const byPrecedence = [...BUILTIN_FORMATS].sort((a, b) => a.jsonPrecedence - b.jsonPrecedence);
    this.jsonReaders = byPrecedence.map((f) => f.jsonReader(slotOf));
    this.mappingSlots = mappings.map((m) => ({
      m,
      time: slotOf(m.time),
      level: m.level ? slotOf(m.level) : -1,
      latency: m.latency ? slotOf(m.latency) : -1,
      count: m.count ? slotOf(m.count) : -1,
      group: m.group.map(slotOf),
    }));
    this.json = new JsonLine(names, this.facts);
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
    if (first === 0x5b) return readAirflowText(buf.toString('utf8', s, e), ctx, this.message, facts, this);
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
      facts.error = isErrorLevelText(pairs.get(levelKey)!);
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
    const j = this.json;
    if (!j.scan(buf, s, e)) {
      this.detail = j.detail;
      return 'malformed_json';
    }
    for (const r of this.jsonReaders) {
      if (!r.claims(j)) continue;
      const reason = r.read(j, ctx);
      if (reason !== null) this.detail = j.detail;
      return reason;
    }
    for (const ms of this.mappingSlots) {
      if (!j.has(ms.time)) continue;
      const reason = this.mapped(ms);
      if (reason !== null) this.detail = j.detail;
      return reason;
    }
    this.detail = 'JSON without the fields of Airflow, Kafka-consumer or ML logs' + (this.mappings.length ? ' or of a --map mapping' : '');
    return 'unknown_format';
  }

  /** A JSON line through a --map mapping. */
  private mapped(ms: LineParser['mappingSlots'][number]): SkipReason | null {
    const j = this.json;
    const bad = j.time(ms.time, ms.m.time);
    if (bad) return bad;
    const facts = this.facts;
    const labels: string[] = [];
    for (let k = 0; k < ms.group.length; k++) {
      const v = j.label(ms.group[k], ms.m.group[k], false);
      if (v === null) return 'mistyped_field';
      labels.push(v || '-');
    }
    j.setGroup(ms.m.component, labels);
    if (ms.level >= 0) facts.error = j.level(ms.level);
    if (ms.latency >= 0) {
      const v = j.num(ms.latency, ms.m.latency!);
      if (v === undefined) return 'mistyped_field';
      facts.durationMs = ms.m.latencyUnit === 's' ? v * 1000 : v;
    }
    if (ms.count >= 0) {
      const v = j.num(ms.count, ms.m.count!);
      if (v === undefined) return 'mistyped_field';
      if (!Number.isNaN(v)) facts.records = v;
    }
    return null;
  }
}

export { isErrorLevel } from './message.js';
export { airflowTime, messageOutcome } from './formats/airflow.js';

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
  if (!COMPONENT_NAME.test(component)) throw new Error(`${where}: component ${component} must be lowercase letters, digits, _ or -`);
  const groupRaw = spec.group;
  const group = groupRaw === undefined ? [] : Array.isArray(groupRaw) ? groupRaw.map(String) : String(groupRaw).split('+').filter(Boolean);
  for (const g of group) if (!/^[A-Za-z_][\w.-]*$/.test(g)) throw new Error(`${where}: group field ${g} is not a field name`);
  return { component, time, level: str('level'), latency: str('latency'), latencyUnit: unit, count: str('count'), group };
}
