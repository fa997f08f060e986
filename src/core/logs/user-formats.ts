/**
 * The user's own log formats, from --format-file (YAML or JSON): a list tried in order, before
 * the built-in formats, each a regular expression with named groups or logfmt, naming which
 * group or key holds the time, the level, the group labels and any fact a built-in format has
 * (records, failed records, latency, lag, throughput, confidence, outcome). A fact is either the
 * name of a named group (logfmt: of a key) or a regular expression with a (?<value>…) group run
 * over the message. The formats are plain data (they travel to worker threads); UserFormatMatcher
 * compiles them where the lines are read.
 */
import { Outcome, type LineFacts, type SkipReason } from './formats.js';
import { COMPONENT_NAME } from './format-view.js';
import { forEachKeyValue, isErrorLevelText, MAX_LOG_NUMBER } from './message.js';
import { parseTimestampText } from './timestamp.js';

/** The facts a format can map, and the LineFacts they fill. */
export const USER_FACTS = ['records', 'failed_records', 'latency_ms', 'latency_s', 'lag', 'throughput', 'confidence', 'outcome'] as const;
export type UserFact = (typeof USER_FACTS)[number];

export interface UserField {
  fact: UserFact;
  /** A named group (regex formats) or key (logfmt) holding the value… */
  from: string | null;
  /** …or a regular expression with a "value" group, run over the message. */
  regex: string | null;
}

export interface UserFormat {
  name: string;
  component: string;
  /** The regular expression's source; null for logfmt. */
  regex: string | null;
  time: string;
  level: string | null;
  /** What field regexes run over: a named group or key; null for the whole line. */
  message: string | null;
  group: string[];
  fields: UserField[];
}

const NAME = /^[A-Za-z_][\w.-]*$/;
const FORMAT_KEYS = ['name', 'component', 'regex', 'logfmt', 'time', 'level', 'message', 'group', 'fields'];

/** A mistake in a format file: says which format and which key. */
export class FormatFileError extends Error {}

function groupNames(re: RegExp): Set<string> {
  // The names of a regex's named groups, from its source ((?<= and (?<! are lookbehinds, not names).
  const names = new Set<string>();
  for (const m of re.source.matchAll(/\(\?<([A-Za-z_$][\w$]*)>/g)) names.add(m[1]);
  return names;
}

function compile(source: string, where: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new FormatFileError(`${where}: not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
}

/**
 * The formats of a parsed format file ({formats: [...]}, or the list itself). Throws
 * FormatFileError naming the format (by name, or by position) and the key; `taken` are the
 * component names formats cannot use.
 */
export function parseUserFormats(doc: unknown, file: string, taken: readonly string[]): UserFormat[] {
  const list = Array.isArray(doc) ? doc : doc !== null && typeof doc === 'object' && 'formats' in doc ? (doc as { formats: unknown }).formats : undefined;
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    for (const k of Object.keys(doc)) if (k !== 'formats') throw new FormatFileError(`${file}: unknown key ${k} (the file holds "formats:", a list of formats)`);
  }
  if (!Array.isArray(list) || list.length === 0) throw new FormatFileError(`${file}: expected "formats:" with a list of at least one format`);
  const names = new Set<string>();
  const components = new Map<string, string[]>();
  return list.map((raw, i) => {
    const label = raw !== null && typeof raw === 'object' && typeof (raw as { name?: unknown }).name === 'string' ? `format ${(raw as { name: string }).name}` : `format #${i + 1}`;
    const where = (key?: string) => `${file}: ${label}${key ? `: ${key}` : ''}`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new FormatFileError(`${where()}: expected a mapping of keys (name, component, regex or logfmt, time, level, group, fields)`);
    const spec = raw as Record<string, unknown>;
    for (const k of Object.keys(spec)) if (!FORMAT_KEYS.includes(k)) throw new FormatFileError(`${where(k)}: unknown key (expected ${FORMAT_KEYS.join(', ')})`);
    const str = (k: string, required: boolean): string | null => {
      const v = spec[k];
      if (v === undefined || v === null) {
        if (required) throw new FormatFileError(`${where(k)}: missing`);
        return null;
      }
      if (typeof v !== 'string' || v === '') throw new FormatFileError(`${where(k)}: expected a non-empty string, got ${JSON.stringify(v)}`);
      return v;
    };
    const name = str('name', true)!;
    if (!NAME.test(name)) throw new FormatFileError(`${where('name')}: ${JSON.stringify(name)} must be letters, digits, _, . or -`);
    if (names.has(name)) throw new FormatFileError(`${where('name')}: two formats are named ${name}`);
    names.add(name);
    const component = str('component', true)!;
    if (!COMPONENT_NAME.test(component)) throw new FormatFileError(`${where('component')}: ${JSON.stringify(component)} must be lowercase letters, digits, _ or - (starting with a letter)`);
    if (taken.includes(component)) throw new FormatFileError(`${where('component')}: ${component} is the name of a built-in format or a --map mapping`);
    const source = str('regex', false);
    const logfmt = spec.logfmt;
    if (logfmt !== undefined && typeof logfmt !== 'boolean') throw new FormatFileError(`${where('logfmt')}: expected true or false`);
    if ((source === null) === (logfmt !== true)) throw new FormatFileError(`${where('regex')}: give either regex (with named groups) or logfmt: true`);
    let available: Set<string> | null = null;
    if (source !== null) {
      const re = compile(source, where('regex'));
      available = groupNames(re);
      if (available.size === 0) throw new FormatFileError(`${where('regex')}: has no named groups ((?<time>…) at least)`);
    }
    const ref = (k: string, v: string) => {
      if (!NAME.test(v)) throw new FormatFileError(`${where(k)}: ${JSON.stringify(v)} is not a ${available ? 'group' : 'key'} name`);
      if (available && !available.has(v)) throw new FormatFileError(`${where(k)}: the regex has no named group ${v} (it has ${[...available].join(', ')})`);
      return v;
    };
    const time = ref('time', str('time', false) ?? (available ? 'time' : 'ts'));
    const levelGiven = str('level', false);
    const level = levelGiven !== null ? ref('level', levelGiven) : available ? (available.has('level') ? 'level' : null) : 'level';
    const messageGiven = str('message', false);
    const message = messageGiven !== null ? ref('message', messageGiven) : available ? (available.has('message') ? 'message' : null) : 'msg';
    const groupRaw = spec.group ?? [];
    const groupList = typeof groupRaw === 'string' ? [groupRaw] : groupRaw;
    if (!Array.isArray(groupList) || groupList.some((g) => typeof g !== 'string')) throw new FormatFileError(`${where('group')}: expected a list of ${available ? 'group' : 'key'} names`);
    const group = (groupList as string[]).map((g) => ref('group', g));
    const fieldsRaw = spec.fields ?? {};
    if (fieldsRaw === null || typeof fieldsRaw !== 'object' || Array.isArray(fieldsRaw)) throw new FormatFileError(`${where('fields')}: expected a mapping of fact: group name or regex`);
    const fields: UserField[] = [];
    for (const [fact, v] of Object.entries(fieldsRaw as Record<string, unknown>)) {
      const key = `fields.${fact}`;
      if (!(USER_FACTS as readonly string[]).includes(fact)) throw new FormatFileError(`${where(key)}: unknown fact (expected ${USER_FACTS.join(', ')})`);
      if (typeof v !== 'string' || v === '') throw new FormatFileError(`${where(key)}: expected a ${available ? 'group' : 'key'} name or a regex with (?<value>…), got ${JSON.stringify(v)}`);
      const isName = NAME.test(v) && (available === null || available.has(v));
      if (isName) fields.push({ fact: fact as UserFact, from: v, regex: null });
      else {
        const re = compile(v, where(key));
        if (!groupNames(re).has('value')) throw new FormatFileError(`${where(key)}: ${available && NAME.test(v) ? `the regex has no named group ${v}, and as a regex it has` : 'the regex has'} no (?<value>…) group`);
        fields.push({ fact: fact as UserFact, from: null, regex: v });
      }
    }
    if (fields.some((f) => f.fact === 'latency_ms') && fields.some((f) => f.fact === 'latency_s')) throw new FormatFileError(`${where('fields')}: give latency_ms or latency_s, not both`);
    const sameComponent = components.get(component);
    if (sameComponent && sameComponent.join('\u0001') !== group.join('\u0001')) throw new FormatFileError(`${where('group')}: component ${component} is also made by another format with other group labels (${sameComponent.join(', ')})`);
    components.set(component, group);
    return { name, component, regex: source, time, level, message, group, fields };
  });
}

const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const OUTCOMES: Record<string, Outcome> = {
  __proto__: null as never,
  success: Outcome.success, succeeded: Outcome.success, ok: Outcome.success,
  failed: Outcome.failed, failure: Outcome.failed, fail: Outcome.failed, error: Outcome.failed,
  retry: Outcome.retry, up_for_retry: Outcome.retry, retrying: Outcome.retry,
};

interface Compiled {
  f: UserFormat;
  re: RegExp | null;
  fields: Array<{ fact: UserFact; from: string | null; re: RegExp | null }>;
  declaresRecords: boolean;
}

/** The formats compiled, matched line by line. */
export class UserFormatMatcher {
  private readonly formats: Compiled[];
  /** Why the last line was skipped. */
  detail = '';

  constructor(formats: readonly UserFormat[]) {
    this.formats = formats.map((f) => ({
      f,
      re: f.regex === null ? null : new RegExp(f.regex),
      fields: f.fields.map((x) => ({ fact: x.fact, from: x.from, re: x.regex === null ? null : new RegExp(x.regex) })),
      declaresRecords: f.fields.some((x) => x.fact === 'records'),
    }));
  }

  /**
   * The line through the formats in order: undefined when none matches (the built-ins try it
   * next); null when one read it (facts filled); a skip reason when one matched but a value
   * is unusable.
   */
  parse(buf: Buffer, s: number, e: number, facts: LineFacts): SkipReason | null | undefined {
    const line = buf.toString('utf8', s, e);
    let pairs: Map<string, string> | null = null;
    for (const c of this.formats) {
      let get: (name: string) => string | undefined;
      if (c.re !== null) {
        const m = c.re.exec(line);
        if (m === null) continue;
        const groups = m.groups!;
        get = (name) => groups[name];
      } else {
        if (pairs === null) {
          pairs = new Map();
          const p = pairs;
          forEachKeyValue(line, (k, v) => {
            if (!p.has(k)) p.set(k, v);
          });
        }
        if (!pairs.has(c.f.time)) continue;
        const p = pairs;
        get = (name) => p.get(name);
      }
      return this.read(c, get, line, facts);
    }
    return undefined;
  }

  private read(c: Compiled, get: (name: string) => string | undefined, line: string, facts: LineFacts): SkipReason | null {
    const f = c.f;
    const rawTime = get(f.time);
    if (rawTime === undefined || rawTime === '') {
      this.detail = `format ${f.name}: ${f.time} is missing`;
      return 'missing_field';
    }
    const ts = parseTimestampText(rawTime);
    if (Number.isNaN(ts)) {
      this.detail = `format ${f.name}: ${f.time} ${JSON.stringify(rawTime.slice(0, 60))} is not an ISO 8601 time or epoch number`;
      return 'bad_timestamp';
    }
    facts.tsMs = ts;
    if (f.level !== null) {
      facts.error = isErrorLevelText(get(f.level) ?? '');
    }
    const labels = f.group.map((g) => get(g) || '-');
    facts.component = f.component;
    facts.labels = labels;
    facts.groupKey = labels.join('\u0001');
    facts.records = c.declaresRecords ? 0 : 1;
    const message = f.message === null ? line : (get(f.message) ?? '');
    for (const field of c.fields) {
      let raw: string | undefined;
      if (field.from !== null) raw = get(field.from);
      else {
        const m = field.re!.exec(message);
        raw = m?.groups?.value;
      }
      if (raw === undefined || raw === '') continue;
      if (field.fact === 'outcome') {
        const o = OUTCOMES[raw.toLowerCase()];
        if (o === undefined) {
          this.detail = `format ${f.name}: outcome ${JSON.stringify(raw.slice(0, 40))} is not success, failed or retry`;
          return 'mistyped_field';
        }
        facts.outcome = o;
        continue;
      }
      const text = raw.trim();
      const v = NUMBER.test(text) ? Number(text) : NaN;
      if (Number.isNaN(v)) {
        this.detail = `format ${f.name}: ${field.fact} ${JSON.stringify(raw.slice(0, 40))} is not a number`;
        return 'mistyped_field';
      }
      if (!Number.isFinite(v) || Math.abs(v) > MAX_LOG_NUMBER) {
        this.detail = `format ${f.name}: ${field.fact} ${raw.slice(0, 40)} is out of range (beyond ±${MAX_LOG_NUMBER})`;
        return 'mistyped_field';
      }
      switch (field.fact) {
        case 'records': facts.records = v; break;
        case 'failed_records': facts.failedRecords = v; break;
        case 'latency_ms': facts.durationMs = v; break;
        case 'latency_s': facts.durationMs = v * 1000; break;
        case 'lag': facts.lag = v; break;
        case 'throughput': facts.messagesPerSecond = v; break;
        case 'confidence':
          if (v < 0 || v > 1) {
            this.detail = `format ${f.name}: confidence ${v} is outside 0..1`;
            return 'mistyped_field';
          }
          facts.confidence = v;
          break;
      }
    }
    return null;
  }
}
