/**
 * The file a wrapped job writes its own figures to (PIPEOBS_METRICS_FILE): Prometheus text
 * (`name{label="v"} 12`) or InfluxDB line protocol (`measurement,tag=v field=12`), one sample or
 * point per line, both kinds allowed in one file. Parsing is pure (text in, samples and problems
 * out); a bad line is reported by its number and the good lines are kept.
 *
 * Timestamps written in the file are not used: every sample is the job's figure at its end.
 * When a series appears more than once, the last line wins (write the run's total, not deltas).
 */
import { seriesKey } from '../metrics/zeros.js';
import { checkLine, type ParsedPoint } from '../influx/line-protocol.js';
import type { Sample } from '../metrics/registry.js';

export interface MetricsFileProblem {
  line: number;
  reason: string;
  /** The line as written, cut to 120 characters. */
  text: string;
}

export interface MetricsFileResult {
  samples: Sample[];
  problems: MetricsFileProblem[];
  /** Lines that held a sample or point (blank lines and comments not counted). */
  lines: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NAME_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const PROM_NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const PROM_SPECIAL: Record<string, number> = { NaN: Number.NaN, '+Inf': Infinity, Inf: Infinity, '-Inf': -Infinity };
/** Line protocol timestamps are ignored, so any value in range is accepted. */
const ANY_TIME = { precision: 'ns' as const, minMs: -Infinity, maxMs: Infinity };

/** Parses one Prometheus sample line; returns the sample or the reason it is invalid. */
export function parsePromSample(line: string): Sample | string {
  const m = NAME_PREFIX.exec(line);
  if (!m) return 'a sample must start with a metric name';
  const name = m[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const key = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
      if (!key) return `label ${i < line.length ? `at column ${i + 1}` : 'list'} is not closed or has no name`;
      i += key[0].length;
      while (line[i] === ' ') i++;
      if (line[i] !== '=') return `label ${key[0]} has no "="`;
      i++;
      while (line[i] === ' ') i++;
      if (line[i] !== '"') return `label ${key[0]}: the value must be in double quotes`;
      i++;
      let value = '';
      for (;;) {
        if (i >= line.length) return `label ${key[0]}: the quoted value is not closed`;
        const c = line[i];
        if (c === '"') break;
        if (c === '\\') {
          const n = line[i + 1];
          if (n === 'n') value += '\n';
          else if (n === '\\' || n === '"') value += n;
          else return `label ${key[0]}: unknown escape \\${n ?? ''}`;
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      i++;
      if (key[0] in labels) return `label ${key[0]} is given twice`;
      labels[key[0]] = value;
      while (line[i] === ' ') i++;
      if (line[i] === ',') {
        i++;
        continue;
      }
      if (line[i] === '}') {
        i++;
        break;
      }
      return `labels of ${name}: expected "," or "}" at column ${i + 1}`;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  if (rest[0] === '') return `${name} has no value`;
  if (rest.length > 2) return `${name}: unexpected text after the value and timestamp`;
  const raw = rest[0];
  const value = PROM_NUMBER.test(raw) ? Number(raw) : PROM_SPECIAL[raw];
  if (value === undefined) return `${name}: value ${JSON.stringify(raw.slice(0, 40))} is not a number`;
  if (rest.length === 2 && !/^-?\d+$/.test(rest[1])) return `${name}: timestamp ${JSON.stringify(rest[1].slice(0, 40))} is not an integer`;
  return { name, labels, value };
}

/** Whether a line reads as line protocol (`m,tag=v f=1`, `m f=1`) rather than Prometheus text. */
function looksLikeLineProtocol(line: string): boolean {
  const m = NAME_PREFIX.exec(line);
  if (!m) return true;
  const next = line[m[0].length];
  if (next === '{') return false;
  if (next !== ' ' && next !== '\t') return true; // a comma (tags), an escape, or a name Prometheus cannot have
  const token = line.slice(m[0].length).trim().split(/\s+/)[0] ?? '';
  return token.includes('=');
}

function pointSamples(p: ParsedPoint): Sample[] | string {
  const labels: Record<string, string> = {};
  for (const [k, v] of p.tags) {
    if (!LABEL_NAME.test(k)) return `tag key ${JSON.stringify(k)} is not a valid label name`;
    labels[k] = v;
  }
  const out: Sample[] = [];
  for (const [field, value] of p.fields) {
    // VictoriaMetrics names a line-protocol sample {measurement}_{field}.
    const name = `${p.measurement}_${field}`;
    if (!METRIC_NAME.test(name)) return `${JSON.stringify(name)} (measurement_field) is not a valid metric name`;
    out.push({ name, labels: { ...labels }, value });
  }
  return out;
}

/** Parses the whole file. Samples keep the order of their first appearance; the last value of a series wins. */
export function parseMetricsFile(text: string): MetricsFileResult {
  const bySeries = new Map<string, Sample>();
  const problems: MetricsFileProblem[] = [];
  let lines = 0;
  const all = text.split('\n');
  for (let n = 0; n < all.length; n++) {
    const line = all[n].replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    lines++;
    let parsed: Sample[] | string;
    if (looksLikeLineProtocol(line)) {
      const point: ParsedPoint = { measurement: '', tags: [], fields: [] };
      const verdict = checkLine(line, ANY_TIME, point);
      parsed = typeof verdict === 'string' ? `line protocol: ${verdict}` : pointSamples(point);
    } else {
      const s = parsePromSample(line);
      parsed = typeof s === 'string' ? `Prometheus text: ${s}` : [s];
    }
    if (typeof parsed === 'string') {
      problems.push({ line: n + 1, reason: parsed, text: line.length > 120 ? `${line.slice(0, 120)}…` : line });
      continue;
    }
    for (const s of parsed) bySeries.set(seriesKey(s), s);
  }
  return { samples: [...bySeries.values()], problems, lines };
}
