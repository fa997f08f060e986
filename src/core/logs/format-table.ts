/**
 * What each kind of component means, in one place: its group labels, its table in the text and
 * HTML reports, the words of its summary line, and its own metrics at /metrics. The renderers, the
 * exporter and the report read this table instead of testing component names; a new built-in
 * format adds one entry here (and its parsing in formats.ts, plus a C function when speed needs it).
 *
 * Components without an entry (Python loggers, logfmt, --map mappings, --format-file formats) are
 * described by GENERIC_VIEW and exported through the per-component pipeobs_logs_* metrics.
 */
import type { Cell } from '../output/render.js';
import type { GroupTotals } from './aggregate.js';
import type { ComponentSummary, GroupSummary, LogReport } from './report.js';

export interface ReportColumn {
  header: string;
  value(g: GroupSummary): Cell;
}

/** A metric of one component, one series per group (labels: the group's). */
export type GroupMetric =
  | { name: string; kind: 'value'; value(t: GroupTotals): number; /** Series whose value is NaN are left out (gauges never set). */ skipNaN?: boolean }
  | { name: string; kind: 'latency' | 'confidence' }
  | { name: string; kind: 'outcomes' };

export interface ComponentView {
  /** The columns after the group labels in the text report. */
  textColumns: readonly ReportColumn[];
  /** The last column of the HTML group table (after lines, records, error %, p50–p99). */
  htmlColumn: ReportColumn | null;
  /** What the component's summary line says after errors and latency, or ''. */
  summary(c: ComponentSummary, r: LogReport): string;
}

export interface BuiltinFormat extends ComponentView {
  component: string;
  groupLabels: readonly string[];
  metrics: readonly GroupMetric[];
}

function num(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined) return '–';
  return v.toLocaleString('en-US', { maximumFractionDigits: digits });
}

const latencyColumns: readonly ReportColumn[] = [
  { header: 'p50_ms', value: (g) => g.latency_ms.p50 },
  { header: 'p95_ms', value: (g) => g.latency_ms.p95 },
  { header: 'p99_ms', value: (g) => g.latency_ms.p99 },
];

const column = (header: string, value: (g: GroupSummary) => Cell): ReportColumn => ({ header, value });

/** The built-in formats with a fixed component, in report order. */
export const BUILTIN_FORMATS: readonly BuiltinFormat[] = [
  {
    component: 'airflow',
    groupLabels: ['dag_id', 'task_id'],
    textColumns: [
      column('lines', (g) => g.lines), column('records', (g) => g.records), column('err%', (g) => g.error_rate_pct),
      column('success', (g) => g.tasks.success), column('failed', (g) => g.tasks.failed), column('retry', (g) => g.tasks.retry), ...latencyColumns,
    ],
    htmlColumn: column('failed tasks', (g) => g.tasks.failed),
    summary: (c) => `, tasks ${c.tasks.success} ok / ${c.tasks.failed} failed / ${c.tasks.retry} retry`,
    metrics: [
      { name: 'pipeobs_airflow_task_lines_total', kind: 'value', value: (t) => t.lines },
      { name: 'pipeobs_airflow_task_error_lines_total', kind: 'value', value: (t) => t.errors },
      { name: 'pipeobs_airflow_records_processed_total', kind: 'value', value: (t) => t.records },
      { name: 'pipeobs_airflow_task_runs_total', kind: 'outcomes' },
      { name: 'pipeobs_airflow_task_duration_seconds', kind: 'latency' },
    ],
  },
  {
    component: 'kafka',
    groupLabels: ['topic', 'partition', 'consumer_group'],
    textColumns: [
      column('messages', (g) => g.records), column('err%', (g) => g.error_rate_pct), ...latencyColumns,
      column('lag_last', (g) => g.lag?.last), column('lag_max', (g) => g.lag?.max), column('lag_avg', (g) => g.lag?.avg), column('msg/s', (g) => g.throughput_mps?.avg),
    ],
    htmlColumn: column('lag max', (g) => g.lag?.max ?? null),
    summary: (c) => (c.lag ? `, lag max ${num(c.lag.max, 0)}` : ''),
    metrics: [
      { name: 'pipeobs_kafka_messages_total', kind: 'value', value: (t) => t.records },
      { name: 'pipeobs_kafka_error_lines_total', kind: 'value', value: (t) => t.errors },
      { name: 'pipeobs_kafka_consumer_lag', kind: 'value', value: (t) => t.lagLast, skipNaN: true },
      { name: 'pipeobs_kafka_messages_per_second', kind: 'value', value: (t) => t.mpsLast, skipNaN: true },
      { name: 'pipeobs_kafka_message_latency_seconds', kind: 'latency' },
    ],
  },
  {
    component: 'ml',
    groupLabels: ['service', 'model_version'],
    textColumns: [
      column('predictions', (g) => g.records), column('err%', (g) => g.error_rate_pct), ...latencyColumns,
      column('conf_mean', (g) => g.confidence?.mean), column('conf_p5', (g) => g.confidence?.p5), column('low_conf%', (g) => g.confidence?.low_pct),
    ],
    htmlColumn: column('confidence mean', (g) => g.confidence?.mean ?? null),
    summary: (c, r) => (c.confidence ? `, confidence mean ${num(c.confidence.mean, 3)}, ${num(c.confidence.low_pct, 1)} % below ${r.low_confidence_threshold}` : ''),
    metrics: [
      { name: 'pipeobs_ml_predictions_total', kind: 'value', value: (t) => t.records },
      { name: 'pipeobs_ml_error_lines_total', kind: 'value', value: (t) => t.errors },
      { name: 'pipeobs_ml_low_confidence_predictions_total', kind: 'value', value: (t) => t.lowConfidence },
      { name: 'pipeobs_ml_prediction_latency_seconds', kind: 'latency' },
      { name: 'pipeobs_ml_confidence', kind: 'confidence' },
    ],
  },
];

/** Every other component: lines, records, errors, failed records and latency. */
export const GENERIC_VIEW: ComponentView = {
  textColumns: [column('lines', (g) => g.lines), column('records', (g) => g.records), column('err%', (g) => g.error_rate_pct), ...latencyColumns],
  htmlColumn: column('failed records', (g) => g.failed_records),
  summary: (c) => (c.failed_records ? `, ${num(c.failed_records, 0)} failed records` : ''),
};

const BY_COMPONENT = new Map(BUILTIN_FORMATS.map((f) => [f.component, f]));

export function builtinFormat(component: string): BuiltinFormat | undefined {
  return BY_COMPONENT.get(component);
}

export function viewOf(component: string): ComponentView {
  return BY_COMPONENT.get(component) ?? GENERIC_VIEW;
}

/** Report order: the built-ins in table order, then the others by name. */
export function componentOrder(component: string): number {
  const i = BUILTIN_FORMATS.findIndex((f) => f.component === component);
  return i < 0 ? BUILTIN_FORMATS.length : i;
}
