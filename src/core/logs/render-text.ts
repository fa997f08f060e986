/**
 * The monitor-logs report for people: summary cards, a records-per-hour sparkline and a table
 * per component, and what was skipped. Tables are aligned on a terminal and tab-separated in a
 * pipe (renderTableText).
 */
import type { ChalkInstance } from 'chalk';
import { formatCell, renderTableText, type Cell, type TextStyle } from '../output/render.js';
import { viewOf } from './format-table.js';
import type { ComponentSummary, GroupSummary, LogReport } from './report.js';

const BARS = '▁▂▃▄▅▆▇█';

/** One character per point, scaled to the largest; at most `width` points (neighbours summed). */
export function sparkline(values: readonly number[], width = 48): string {
  if (values.length === 0) return '';
  const per = Math.ceil(values.length / width);
  const points: number[] = [];
  for (let i = 0; i < values.length; i += per) points.push(values.slice(i, i + per).reduce((a, b) => a + b, 0));
  const max = Math.max(...points);
  return points.map((v) => (max <= 0 || v <= 0 ? ' ' : BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1) + 0.5))])).join('');
}

function num(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined) return '–';
  return v.toLocaleString('en-US', { maximumFractionDigits: digits });
}

function groupCells(g: GroupSummary, labels: readonly string[]): Cell[] {
  return labels.map((l) => g.group[l]);
}

/** The groups of a component to show: all, or the `top` with the most lines, in label order. */
function shownGroups(c: ComponentSummary, top: number): GroupSummary[] {
  if (c.groups.length <= top) return c.groups;
  const keep = new Set([...c.groups].sort((a, b) => b.lines - a.lines).slice(0, top));
  return c.groups.filter((g) => keep.has(g));
}

function componentTable(c: ComponentSummary, groups: GroupSummary[]): { columns: string[]; rows: Cell[][] } {
  const cols = viewOf(c.component).textColumns;
  return {
    columns: [...c.group_labels, ...cols.map((k) => k.header)],
    rows: groups.map((g) => [...groupCells(g, c.group_labels), ...cols.map((k) => k.value(g))]),
  };
}

export function renderReportText(r: LogReport, style: TextStyle, c: ChalkInstance, top = 20): string {
  const out: string[] = [];
  const s = r.summary;
  const when = (iso: string) => iso.slice(0, 16).replace('T', ' ');
  out.push(`${c.bold('pipeobs monitor-logs')}  ${when(r.window.since)} → ${when(r.window.until)} UTC (${r.window.hours} h)  ${r.inputs.length} input(s), ${num(s.lines_read, 0)} lines`);
  out.push('');
  const cards: Array<[string, string]> = [
    ['Total records', num(s.total_records, 0)],
    // Task durations and message latencies are not averaged together: one component's mean, or per component below.
    ['Avg latency', s.avg_latency_ms !== null ? `${num(s.avg_latency_ms)} ms (${s.latency_components[0]})` : s.latency_components.length > 1 ? 'per component' : '–'],
    ['Error rate', s.error_rate_pct === null ? '–' : `${num(s.error_rate_pct, 2)} %`],
    ['Active components', s.active_components.length ? s.active_components.join(', ') : 'none'],
  ];
  // Each card as wide as its own label or value: one long value (many components) does not widen the others.
  const widths = cards.map(([k, v]) => Math.max(k.length, v.length, 12) + 2);
  out.push(cards.map(([k], i) => c.dim(k.padEnd(widths[i]))).join('').trimEnd());
  out.push(cards.map(([, v], i) => c.bold(v.padEnd(widths[i]))).join('').trimEnd());
  for (const comp of r.components) {
    out.push('');
    const errPart = comp.error_rate_pct === null ? '' : `, ${num(comp.error_rate_pct, 2)} % errors`;
    const extra = viewOf(comp.component).summary(comp, r);
    const l = comp.latency_ms;
    const latencyPart = l.count ? `, latency mean ${num(l.mean)} ms (min ${num(l.min)}, p95 ${num(l.p95)})` : '';
    out.push(`${c.bold.cyan(comp.component)}  ${num(comp.lines, 0)} lines, ${num(comp.records, 0)} records (${num(comp.records_per_hour_avg, 1)}/h)${errPart}${latencyPart}${extra}`);
    out.push(`records/hour ${c.green(sparkline(comp.hours.map((h) => h.records)))}`);
    const groups = shownGroups(comp, top);
    out.push(renderTableText(componentTable(comp, groups), style).trimEnd());
    const hidden = comp.groups.length - groups.length;
    if (hidden > 0) out.push(c.dim(`… and ${hidden} smaller group${hidden === 1 ? '' : 's'} (--top ${top}; -o csv or -o json list them all)`));
    if (comp.overflow_groups > 0) out.push(c.yellow(`${comp.overflow_groups} more groups were counted as "other" (over --max-groups)`));
  }
  if (r.components.length === 0) {
    out.push('');
    out.push(c.yellow('No usable lines in the window.') + (s.lines_read > 0 ? ' See what was skipped below, or widen the window (--hours, --since).' : ''));
  }
  if (r.skipped.total > 0) {
    out.push('');
    out.push(`${c.yellow('Skipped')} ${num(r.skipped.total, 0)} lines:`);
    for (const b of r.skipped.by_reason) {
      const first = b.examples.slice(0, 3).map((e) => `${e.file}:${e.line} (${e.detail})`).join('; ');
      out.push(`  ${b.reason.padEnd(15)} ${formatCell(b.count).padStart(9)}  ${c.dim(first)}`);
    }
  }
  if (r.interrupted) out.push(c.yellow('Interrupted: these numbers cover the lines read before the signal.'));
  const failed = r.inputs.filter((i) => i.error);
  for (const f of failed) out.push(c.red(`reading ${f.file} stopped after ${f.lines} lines: ${f.error}`));
  return out.join('\n') + '\n';
}
