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

/**
 * Properties whose values are maps keyed by data, not by schema: label names, reasons, table
 * names, the rows of a result (keyed by column names a user's SQL chose). Their keys are printed as
 * they are (of each element, for a list); every other key is printed in snake_case.
 */
export const DATA_MAP_PROPERTIES: ReadonlySet<string> = new Set(['labels', 'metric', 'by_reason', 'invalid_by_reason', 'group', 'tables', 'rows', 'tags']);

/** "validLines" → "valid_lines"; keys already in snake_case (or not identifiers) stay as they are. */
export function snakeCase(key: string): string {
  return /^[a-z][a-zA-Z0-9]*$/.test(key) && /[A-Z]/.test(key) ? key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase() : key;
}

/**
 * One JSON casing for every command (snake_case, as in the Prometheus world), applied here at the
 * output boundary so core types keep TypeScript's names; bigints become numbers.
 */
export function renderJson(doc: unknown): string {
  return JSON.stringify(toJsonCase(doc, false), null, 2) + '\n';
}

function toJsonCase(v: unknown, keepKeys: boolean): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v === null || typeof v !== 'object') return v;
  // A data property holding a list (query rows) keeps the keys of each element.
  if (Array.isArray(v)) return v.map((x) => toJsonCase(x, keepKeys));
  if (v instanceof Date) return v.toISOString();
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return toJsonCase((v as { toJSON(): unknown }).toJSON(), keepKeys);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    const key = keepKeys ? k : snakeCase(k);
    out[key] = toJsonCase(x, DATA_MAP_PROPERTIES.has(key));
  }
  return out;
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

/** "rowsPerSecond" → "rows_per_second", at the type level: what renderJson does to a key. */
export type SnakeCase<S extends string> = S extends `${infer H}${infer T}` ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${SnakeCase<T>}` : S;

/** The shape of a value as renderJson prints it: for typed reading of --output json (tests, scripts). */
export type JsonCase<T> = T extends bigint ? number
  : T extends Date ? string
  : T extends readonly (infer U)[] ? JsonCase<U>[]
  : T extends object ? { [K in keyof T as K extends string ? SnakeCase<K> : K]: JsonCase<T[K]> }
  : T;
