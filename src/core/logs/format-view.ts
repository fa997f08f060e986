/**
 * What a built-in format declares besides its parsing: how its component is shown (text and HTML
 * tables, summary words) and what it exports. The types and small helpers the format modules
 * (formats/*.ts) share; format-table.ts lists the formats.
 */
import type { Cell } from '../output/render.js';
import type { GroupTotals } from './aggregate.js';
import type { FileContext, SkipReason } from './formats.js';
import type { JsonLine } from './json-line.js';
import type { ComponentSummary, GroupSummary, LogReport } from './report.js';

/** What a component may be called: built-in, a Python logger's first name part, or a user format's. */
export const COMPONENT_NAME = /^[a-z][a-z0-9_-]{0,39}$/;

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

/** How a format reads JSON lines: slots bound once (jsonReader), then line after line. */
export interface JsonReader {
  /** Whether the line (already scanned) is this format's, by the fields it has. */
  claims(j: JsonLine): boolean;
  /** Fills j.facts (null), or says why the line cannot be used (j.detail). */
  read(j: JsonLine, ctx: FileContext): SkipReason | null;
}

/** One line to write for gen-logs: its time, level and the shared random stream (generate.ts). */
export interface GenLine {
  rand: () => number;
  /** The line's number, from 0. */
  i: number;
  t: number;
  /** t as ISO 8601. */
  ts: string;
  /** How far into the range t is, 0..1. */
  progress: number;
  isError: boolean;
  level: 'ERROR' | 'WARNING' | 'INFO';
  lag: 'steady' | 'growing' | 'spike';
  confidenceDrift: number;
  /** Per Kafka topic/partition/group, its base lag. */
  lagBase: Map<string, number>;
}

export function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

export interface BuiltinFormat extends ComponentView {
  component: string;
  groupLabels: readonly string[];
  metrics: readonly GroupMetric[];
  /** The top-level JSON fields the format reads. */
  jsonFields: readonly string[];
  /** JSON lines are offered to the formats by this order, lowest first: a Kafka line may also hold an Airflow-like "message". */
  jsonPrecedence: number;
  jsonReader(slotOf: (field: string) => number): JsonReader;
  /** gen-logs' writers of realistic lines, by --format name. */
  generators: Readonly<Record<string, (g: GenLine) => string>>;
}

export function num(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined) return '–';
  return v.toLocaleString('en-US', { maximumFractionDigits: digits });
}

export const column = (header: string, value: (g: GroupSummary) => Cell): ReportColumn => ({ header, value });

export const latencyColumns: readonly ReportColumn[] = [
  column('p50_ms', (g) => g.latency_ms.p50),
  column('p95_ms', (g) => g.latency_ms.p95),
  column('p99_ms', (g) => g.latency_ms.p99),
];
