/**
 * The numbers a free-text log message carries, for the formats whose lines end in a message
 * (Airflow's task log, Python's logging): key=value pairs (records_processed=5, took_ms=12) and
 * the common phrases ("Records ingested: 5100", "Exported 42 rows", "took 12.5 ms"). native/logscan.c
 * reads messages by the same rules (read_message, message_phrases); the parity test holds them
 * together.
 */

/** Values larger than this (in absolute terms) are not believed: counted as mistyped fields, never summed. */
export const MAX_LOG_NUMBER = 1e15;

export type MessageKeyKind = 'records' | 'failed' | 's' | 'ms' | 'start' | 'end' | 'label';

/** The keys read from key=value pairs, and what they mean. */
export const MESSAGE_KEYS: Record<string, MessageKeyKind> = {
  __proto__: null as never,
  records_processed: 'records', rows_processed: 'records', records: 'records', rows: 'records',
  records_failed: 'failed', failed_records: 'failed',
  duration: 's', duration_seconds: 's', duration_ms: 'ms', latency_ms: 'ms', took_ms: 'ms', elapsed_ms: 'ms',
  start_date: 'start', end_date: 'end', dag_id: 'label', task_id: 'label',
};

/**
 * The phrases, matched without regard to ASCII case, each starting at a word boundary:
 * "<label>: N" (one optional space after the colon), "<verb> N <noun>", and "took N <unit>".
 * N is digits, with thousands separated by commas or not (5,100 or 5100), and an optional
 * fraction; after a label it must not be followed by a letter, a digit, "_", "." and one of
 * those, or "," and a digit (so "5,10" is no number). The number of a label or verb phrase is a count
 * of records (or of failed records); "Duplicates marked: N" counts the records the step marked.
 */
export const RECORD_LABELS = [
  'records ingested', 'records processed', 'records exported', 'records loaded', 'records written',
  'rows processed', 'rows exported', 'rows loaded', 'rows inserted', 'rows written', 'duplicates marked',
] as const;
export const FAILED_LABELS = ['records failed', 'failed records', 'rows failed', 'failed rows'] as const;
export const RECORD_VERBS = ['processed', 'ingested', 'exported', 'loaded', 'inserted', 'wrote', 'written'] as const;
export const RECORD_NOUNS = ['records', 'record', 'rows', 'row'] as const;
/** Units after "took N": milliseconds or seconds. */
export const DURATION_UNITS: Record<string, number> = { __proto__: null as never, ms: 1, s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000 };

/** A number: digits with thousands separators (5,100) or without, and an optional fraction. */
const NUM = '(\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?|\\d+(?:\\.\\d+)?)';
const PHRASES = new RegExp(
  '(?<![A-Za-z0-9_])(?:' +
    `(${[...RECORD_LABELS, ...FAILED_LABELS].join('|')}): ?${NUM}(?!\\.?[A-Za-z0-9_]|,\\d)` +
    `|(${RECORD_VERBS.join('|')}) ${NUM} (?:${RECORD_NOUNS.join('|')})(?![A-Za-z0-9_])` +
    `|took ${NUM} ?([A-Za-z]+)(?![A-Za-z0-9_])` +
    ')',
  'gi',
);
const FAILED = new Set<string>(FAILED_LABELS);

function phraseNumber(text: string): number {
  return Number(text.indexOf(',') < 0 ? text : text.replace(/,/g, ''));
}

/** What a message says, filled by readMessage. */
export interface MessageFacts {
  records: number;
  failedRecords: number;
  durationMs: number;
  /** start_date and end_date values (the last of each), '' when absent. */
  start: string;
  end: string;
  /** The first dag_id and task_id values, '' when absent. */
  dagId: string;
  taskId: string;
  /** Why the message could not be read (a number that is not one); '' when it could. */
  bad: string;
}

export function emptyMessageFacts(): MessageFacts {
  return { records: 0, failedRecords: 0, durationMs: NaN, start: '', end: '', dagId: '', taskId: '', bad: '' };
}

function believable(v: number): boolean {
  return Number.isFinite(v) && Math.abs(v) <= MAX_LOG_NUMBER;
}

/**
 * Reads a message's pairs and phrases into m. A fact given by a key=value pair wins over the
 * phrases for that fact (so "Processed 5 rows (rows=5)" counts 5 once); phrases for the same
 * fact add up, as pairs do.
 */
export function readMessage(message: string, m: MessageFacts): void {
  m.records = 0;
  m.failedRecords = 0;
  m.durationMs = NaN;
  m.start = m.end = m.dagId = m.taskId = m.bad = '';
  let pairRecords = false;
  let pairFailed = false;
  if (message.indexOf('=') >= 0) {
    forEachKeyValue(message, (key, raw) => {
      if (m.bad !== '') return;
      const kind = MESSAGE_KEYS[key];
      if (kind === undefined) return;
      if (kind === 'start') m.start = raw;
      else if (kind === 'end') m.end = raw;
      else if (kind === 'label') {
        if (key === 'dag_id') m.dagId ||= raw;
        else m.taskId ||= raw;
      } else {
        const v = kind === 's' || kind === 'ms' ? messageDurationMs(raw, kind) : messageNumber(raw);
        if (!believable(v)) {
          m.bad = Number.isNaN(v) ? `message key ${key}=${raw.slice(0, 40)} is not a number` : `message key ${key}=${raw.slice(0, 40)} is out of range`;
          return;
        }
        if (kind === 'records') {
          m.records += v;
          pairRecords = true;
        } else if (kind === 'failed') {
          m.failedRecords += v;
          pairFailed = true;
        } else m.durationMs = v;
      }
    });
    if (m.bad !== '') return;
  }
  const pairDuration = m.durationMs === m.durationMs;
  PHRASES.lastIndex = 0;
  for (let hit = PHRASES.exec(message); hit !== null; hit = PHRASES.exec(message)) {
    if (hit[1] !== undefined) {
      const v = phraseNumber(hit[2]);
      if (!believable(v)) return void (m.bad = `phrase "${hit[0].slice(0, 60)}": the number is out of range`);
      if (FAILED.has(hit[1].toLowerCase())) {
        if (!pairFailed) m.failedRecords += v;
      } else if (!pairRecords) m.records += v;
    } else if (hit[3] !== undefined) {
      const v = phraseNumber(hit[4]);
      if (!believable(v)) return void (m.bad = `phrase "${hit[0].slice(0, 60)}": the number is out of range`);
      if (!pairRecords) m.records += v;
    } else {
      const unit = DURATION_UNITS[hit[6].toLowerCase()];
      if (unit === undefined) continue;
      const v = phraseNumber(hit[5]);
      if (!believable(v)) return void (m.bad = `phrase "${hit[0].slice(0, 60)}": the number is out of range`);
      // The last duration said wins, as with pairs; a pair's duration wins over any phrase.
      if (!pairDuration) m.durationMs = v * unit;
    }
  }
}

/**
 * A duration in a message value, in milliseconds: "150ms" is milliseconds whatever the key;
 * otherwise the key says the unit (duration= seconds, duration_ms= milliseconds).
 */
export function messageDurationMs(raw: string, kind: 's' | 'ms'): number {
  let e = raw.length;
  while (e > 0 && isClosing(raw.charCodeAt(e - 1))) e--;
  if (e >= 2 && raw.charCodeAt(e - 1) === 0x73 && raw.charCodeAt(e - 2) === 0x6d) {
    const text = raw.slice(0, e - 2);
    return /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : NaN;
  }
  const v = messageNumber(raw);
  return kind === 's' ? v * 1000 : v;
}

/** What may close a value in running text: a full stop, a closing bracket ("(rows=10)."). */
function isClosing(c: number): boolean {
  return c === 0x2e || c === 0x29 || c === 0x5d;
}

/** A number in a message value: a sentence's full stops, closing brackets and an "s" unit are dropped ("45.2s." → 45.2, "10)" → 10). */
export function messageNumber(raw: string): number {
  let e = raw.length;
  while (e > 0 && isClosing(raw.charCodeAt(e - 1))) e--;
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
 * reads messages by the same rules. Also how logfmt lines are read.
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

/** A level, as text, that counts a line as an error: ERROR, CRITICAL or FATAL, in any case. */
export function isErrorLevelText(level: string): boolean {
  const l = level.toUpperCase();
  return l === 'ERROR' || l === 'CRITICAL' || l === 'FATAL';
}

/** The same, in buf[s, e), without making a string. */
export function isErrorLevel(buf: Buffer, s: number, e: number): boolean {
  const n = e - s;
  const c = buf[s] | 0x20;
  if (n === 5 && c === 0x65) return (buf[s + 1] | 0x20) === 0x72 && (buf[s + 2] | 0x20) === 0x72 && (buf[s + 3] | 0x20) === 0x6f && (buf[s + 4] | 0x20) === 0x72;
  if (n === 8 && c === 0x63) return buf.toString('latin1', s, e).toUpperCase() === 'CRITICAL';
  if (n === 5 && c === 0x66) return buf.toString('latin1', s, e).toUpperCase() === 'FATAL';
  return false;
}

/** What readMessage found, into a line's records, failed records and duration; '' or why the message is unusable. */
export function applyMessage(message: string, m: MessageFacts, facts: { records: number; failedRecords: number; durationMs: number }): string {
  readMessage(message, m);
  if (m.bad !== '') return m.bad;
  facts.records = m.records;
  facts.failedRecords = m.failedRecords;
  facts.durationMs = m.durationMs;
  return '';
}
