/**
 * Rendering of command results. Core code returns data ({ columns, rows } tables or plain
 * documents); this module turns them into text, JSON or CSV. Text is an aligned table on a
 * terminal and tab-separated (no colour, no padding) when piped, so `cut` and `awk` work.
 */
import { UsageError } from '../errors.js';

export const OUTPUT_FORMATS = ['text', 'json', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(raw: string, allowed: readonly string[] = OUTPUT_FORMATS): OutputFormat {
  if (!allowed.includes(raw)) {
    throw new UsageError(`--output ${raw} is not supported`, `use one of: ${allowed.join(', ')}`);
  }
  return raw as OutputFormat;
}

export type Cell = string | number | boolean | null | undefined;
export interface Table {
  columns: string[];
  rows: Cell[][];
}

export interface TextStyle {
  /** Output goes to a terminal: align columns. */
  tty: boolean;
  color: boolean;
}

export function formatCell(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    return Number.isFinite(v) ? String(Number(v.toPrecision(6))) : String(v);
  }
  return String(v);
}

export function renderTableText(table: Table, style: TextStyle): string {
  const cells = table.rows.map((r) => r.map(formatCell));
  if (!style.tty) {
    const clean = (s: string) => s.replace(/[\t\n]/g, ' ');
    return [table.columns, ...cells].map((r) => r.map(clean).join('\t')).join('\n') + '\n';
  }
  const widths = table.columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = table.columns.map((_, i) => table.rows.length > 0 && table.rows.every((r) => typeof r[i] === 'number' || r[i] == null));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(table.columns), line(widths.map((w) => '─'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function renderTableCsv(table: Table): string {
  return [table.columns, ...table.rows.map((r) => r.map(formatCell))].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

export function renderJson(doc: unknown): string {
  return JSON.stringify(doc, (_k, v) => (typeof v === 'bigint' ? Number(v) : v), 2) + '\n';
}

/** Human-readable byte size: 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${(seconds * 1000).toFixed(0)} ms`;
  if (seconds < 60) return `${seconds.toFixed(2)} s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${(seconds - m * 60).toFixed(0).padStart(2, '0')}s`;
}
