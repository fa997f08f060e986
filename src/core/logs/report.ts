/**
 * The monitor-logs report as data: one document with a stable schema (schema_version 1) that
 * the json output prints as is and the text, csv and html outputs render. Numbers are rounded
 * for reading (3 significant decimals); percentiles come from the sketches (≤ 1% relative error).
 */
import { HOUR_MS, HourStats, OTHER, type GroupStats } from './aggregate.js';
import { groupLabelsOf, SKIP_REASONS, type FieldMapping } from './formats.js';
import type { UserFormat } from './user-formats.js';
import { componentOrder } from './format-table.js';
import type { InputResult, LogReader, TimeWindow } from './reader.js';

export const REPORT_SCHEMA_VERSION = 1;

export interface LatencySummary {
  count: number;
  min: number | null;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}
export interface LagSummary {
  last: number | null;
  max: number | null;
  avg: number | null;
}
export interface ConfidenceSummary {
  count: number;
  mean: number | null;
  p5: number | null;
  low_count: number;
  low_pct: number | null;
}
export interface Measures {
  lines: number;
  records: number;
  errors: number;
  error_rate_pct: number | null;
  failed_records: number;
  tasks: { success: number; failed: number; retry: number };
  latency_ms: LatencySummary;
  lag: LagSummary | null;
  throughput_mps: { avg: number | null; max: number | null } | null;
  confidence: ConfidenceSummary | null;
}
export interface HourRow extends Measures {
  hour: string;
  component: string;
  group: Record<string, string>;
}
export interface GroupSummary extends Measures {
  group: Record<string, string>;
  first_seen: string | null;
  last_seen: string | null;
}
export interface ComponentSummary extends Measures {
  component: string;
  group_labels: string[];
  groups: GroupSummary[];
  /** Records per hour of the window: records ÷ the window's hours (partial hours counted by their share). */
  records_per_hour_avg: number | null;
  /** Every hour of the window, oldest first, including empty ones; partial when the window covers only part of it. */
  hours: Array<{ hour: string; partial: boolean; lines: number; records: number; errors: number; error_rate_pct: number | null; latency_ms: LatencySummary }>;
  /** Distinct groups beyond --max-groups, counted in the "other" group. */
  overflow_groups: number;
}
export interface LogReport {
  schema_version: number;
  generated_at: string;
  /** Reading was stopped by a signal: the numbers cover the lines read before it. */
  interrupted: boolean;
  window: { since: string; until: string; hours: number };
  low_confidence_threshold: number;
  inputs: InputResult[];
  summary: {
    lines_read: number;
    lines_used: number;
    lines_skipped: number;
    blank_lines: number;
    other_component_lines: number;
    total_records: number;
    /**
     * The mean latency when one component logs latencies; null when several do, as their
     * latencies measure different things (task durations, message and prediction latencies):
     * each component's latency_ms has its own.
     */
    avg_latency_ms: number | null;
    /** The components whose lines carry latencies. */
    latency_components: string[];
    error_rate_pct: number | null;
    active_components: string[];
  };
  components: ComponentSummary[];
  rows: HourRow[];
  skipped: { total: number; by_reason: Array<{ reason: string; count: number; examples: Array<{ file: string; line: number; detail: string }> }> };
}

export function round(v: number | null, digits = 3): number | null {
  if (v === null || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function pct(part: number, whole: number): number | null {
  return whole > 0 ? round((part / whole) * 100) : null;
}

export function measures(s: HourStats): Measures {
  const lat = s.latency;
  const conf = s.confidence;
  return {
    lines: s.lines,
    records: round(s.records)!,
    errors: s.errors,
    error_rate_pct: pct(s.errors, s.lines),
    failed_records: s.failedRecords,
    tasks: { success: s.success, failed: s.failed, retry: s.retry },
    latency_ms: {
      count: lat.count,
      min: round(lat.count ? lat.min : null),
      mean: round(lat.mean()),
      p50: round(lat.quantile(0.5)),
      p95: round(lat.quantile(0.95)),
      p99: round(lat.quantile(0.99)),
      max: round(lat.count ? lat.max : null),
    },
    lag: s.lagCount ? { last: round(s.lagLast), max: round(s.lagMax), avg: round(s.lagSum / s.lagCount) } : null,
    throughput_mps: s.mpsCount ? { avg: round(s.mpsSum / s.mpsCount), max: round(s.mpsMax) } : null,
    confidence: conf
      ? { count: conf.count, mean: round(conf.mean(), 4), p5: round(conf.quantile(0.05), 4), low_count: s.lowConfidence, low_pct: pct(s.lowConfidence, conf.count) }
      : null,
  };
}

export function groupLabelNames(component: string, mappings: readonly FieldMapping[], formats: readonly UserFormat[] = []): string[] {
  return groupLabelsOf(component, mappings, formats);
}

function labelsOf(names: readonly string[], values: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? '']));
}

const isoCache = new Map<number, string>();
/** ISO text of a time; hour starts repeat on every row, so they are made once. */
function iso(ms: number): string {
  let s = isoCache.get(ms);
  if (s === undefined) {
    s = new Date(ms).toISOString();
    if (isoCache.size < 100_000 && ms % HOUR_MS === 0) isoCache.set(ms, s);
  }
  return s;
}

export function buildReport(reader: LogReader, inputs: InputResult[], window: TimeWindow, now: Date, interrupted = false): LogReport {
  const { mappings, lowConfidence } = reader.options;
  const firstHour = Math.floor(window.sinceMs / HOUR_MS);
  const lastHour = Math.floor((window.untilMs - 1) / HOUR_MS);
  const byComponent = new Map<string, GroupStats[]>();
  for (const g of reader.aggregator.groups.values()) {
    if (g.hours.size === 0) continue;
    const list = byComponent.get(g.component) ?? [];
    list.push(g);
    byComponent.set(g.component, list);
  }
  const order = componentOrder;
  const names = [...byComponent.keys()].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  const rows: HourRow[] = [];
  const components: ComponentSummary[] = [];
  const everything = new HourStats();
  const latencyComponents: string[] = [];
  let onlyLatency: HourStats | null = null;
  for (const component of names) {
    const labelNames = groupLabelNames(component, mappings, reader.options.formats);
    const groups = byComponent.get(component)!.sort((a, b) => (a.labels[0] === OTHER ? 1 : 0) - (b.labels[0] === OTHER ? 1 : 0) || a.labels.join('\u0001').localeCompare(b.labels.join('\u0001')));
    const total = new HourStats();
    const perHour = new Map<number, HourStats>();
    const groupSummaries: GroupSummary[] = [];
    for (const g of groups) {
      const gTotal = new HourStats();
      for (const [h, s] of [...g.hours].sort((a, b) => a[0] - b[0])) {
        rows.push({ hour: iso(h * HOUR_MS), component, group: labelsOf(labelNames, g.labels), ...measures(s) });
        gTotal.merge(s);
        let ph = perHour.get(h);
        if (!ph) perHour.set(h, (ph = new HourStats()));
        ph.merge(s);
      }
      total.merge(gTotal);
      groupSummaries.push({
        group: labelsOf(labelNames, g.labels),
        ...measures(gTotal),
        first_seen: Number.isFinite(gTotal.firstTs) ? iso(gTotal.firstTs) : null,
        last_seen: Number.isFinite(gTotal.lastTs) ? iso(gTotal.lastTs) : null,
      });
    }
    everything.merge(total);
    if (total.latency.count > 0) onlyLatency = total;
    const hours: ComponentSummary['hours'] = [];
    for (let h = firstHour; h <= lastHour; h++) {
      const s = perHour.get(h) ?? new HourStats();
      const m = measures(s);
      const partial = h * HOUR_MS < window.sinceMs || (h + 1) * HOUR_MS > window.untilMs;
      hours.push({ hour: iso(h * HOUR_MS), partial, lines: m.lines, records: m.records, errors: m.errors, error_rate_pct: m.error_rate_pct, latency_ms: m.latency_ms });
    }
    const componentMeasures = measures(total);
    if (total.latency.count > 0) latencyComponents.push(component);
    components.push({
      component,
      group_labels: labelNames,
      ...componentMeasures,
      records_per_hour_avg: round(total.records / ((window.untilMs - window.sinceMs) / HOUR_MS)),
      groups: groupSummaries,
      hours,
      overflow_groups: reader.aggregator.overflowCount(component),
    });
  }
  rows.sort((a, b) => (a.hour < b.hour ? -1 : a.hour > b.hour ? 1 : order(a.component) - order(b.component)));
  const skips = reader.skips;
  const byReason = SKIP_REASONS.filter((r) => skips.counts.has(r)).map((reason) => ({ reason, count: skips.counts.get(reason)!, examples: skips.examples.get(reason) ?? [] }));
  return {
    schema_version: REPORT_SCHEMA_VERSION,
    generated_at: now.toISOString(),
    interrupted,
    window: { since: iso(window.sinceMs), until: iso(window.untilMs), hours: round((window.untilMs - window.sinceMs) / HOUR_MS)! },
    low_confidence_threshold: lowConfidence,
    inputs,
    summary: {
      lines_read: reader.linesRead,
      lines_used: reader.aggregator.linesUsed,
      lines_skipped: skips.total(),
      blank_lines: reader.blankLines,
      other_component_lines: reader.otherComponentLines,
      total_records: round(everything.records)!,
      avg_latency_ms: latencyComponents.length === 1 ? round(onlyLatency!.latency.mean()) : null,
      latency_components: latencyComponents,
      error_rate_pct: pct(everything.errors, everything.lines),
      active_components: names,
    },
    components,
    rows,
    skipped: { total: skips.total(), by_reason: byReason },
  };
}

/** The csv output: one row per component × group × hour. */
export function reportTable(report: LogReport): { columns: string[]; rows: Array<Array<string | number | null>> } {
  const columns = [
    'hour', 'component', 'group', 'lines', 'records', 'errors', 'error_rate_pct', 'failed_records', 'tasks_success', 'tasks_failed', 'tasks_retry',
    'latency_count', 'latency_min_ms', 'latency_mean_ms', 'latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms', 'latency_max_ms',
    'lag_last', 'lag_max', 'lag_avg', 'throughput_avg_mps', 'throughput_max_mps', 'confidence_mean', 'confidence_p5', 'low_confidence_pct',
  ];
  const rows = report.rows.map((r) => [
    r.hour, r.component, Object.entries(r.group).map(([k, v]) => `${k}=${v}`).join(','), r.lines, r.records, r.errors, r.error_rate_pct, r.failed_records,
    r.tasks.success, r.tasks.failed, r.tasks.retry, r.latency_ms.count, r.latency_ms.min, r.latency_ms.mean, r.latency_ms.p50, r.latency_ms.p95, r.latency_ms.p99, r.latency_ms.max,
    r.lag?.last ?? null, r.lag?.max ?? null, r.lag?.avg ?? null, r.throughput_mps?.avg ?? null, r.throughput_mps?.max ?? null,
    r.confidence?.mean ?? null, r.confidence?.p5 ?? null, r.confidence?.low_pct ?? null,
  ]);
  return { columns, rows };
}

/** Lines skipped as unusable (everything but outside_window): how many, and the first by file and line. */
export function unusableLines(report: LogReport): { total: number; first: { file: string; line: number; reason: string; detail: string } | null } {
  const bad = report.skipped.by_reason.filter((b) => b.reason !== 'outside_window');
  const first = bad.flatMap((b) => b.examples.map((e) => ({ ...e, reason: b.reason }))).sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1))[0] ?? null;
  return { total: bad.reduce((a, b) => a + b.count, 0), first };
}
