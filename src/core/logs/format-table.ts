/**
 * The built-in formats with a fixed component, in report order: each is one module
 * (formats/*.ts) declaring its group labels, how it reads its lines into facts, its tables in the
 * text and HTML reports, its summary words and its own metrics. The parser, the renderers, the
 * exporter and the report read this table instead of testing component names; a new built-in
 * format is one module added here (plus a C function in native/logscan.c where speed needs it).
 *
 * Components without an entry (Python loggers, logfmt, --map mappings, --format-file formats) are
 * shown by GENERIC_VIEW and exported through the per-component pipeobs_logs_* metrics.
 */
import { column, latencyColumns, num, type BuiltinFormat, type ComponentView } from './format-view.js';
import { AIRFLOW } from './formats/airflow.js';
import { KAFKA } from './formats/kafka.js';
import { ML } from './formats/ml.js';

export type { BuiltinFormat, ComponentView, GroupMetric, ReportColumn } from './format-view.js';

export const BUILTIN_FORMATS: readonly BuiltinFormat[] = [AIRFLOW, KAFKA, ML];

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
