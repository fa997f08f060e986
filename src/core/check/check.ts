/**
 * `pipeobs check`: data quality rules, schema and volume of a dataset, read by DuckDB in one
 * scan. Returns every check's rows checked, rows failing, score and a few failing examples,
 * the schema changes and volume verdict since the last check, and the samples for the catalog.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { ConfigError, InterruptedError, UsageError, WorkFailedError } from '../errors.js';
import type { Sample } from '../metrics/registry.js';
import { compileRules, type Column, type Reference } from './compile.js';
import { parseRules, ruleError, type Rule, type RuleKind, type RuleSet, type Severity } from './rules.js';
import { resolveSource, SourceError, type DataFormat } from './source.js';
import { diffSchema, judgeVolume, readState, SCHEMA_CHANGE_TYPES, VOLUME_MIN_HISTORY, VOLUME_WINDOW, writeState, type SchemaChange, type VolumeVerdict } from './state.js';
import { sample } from '../exec/one-shot.js';

/** DuckDB's memory budget: the 10M-row benchmark must stay under 1 GB of RSS; beyond it DuckDB spills to disk. */
export const DUCKDB_MEMORY_LIMIT = '600MB';

export interface CheckOptions {
  paths: string[];
  cwd: string;
  rulesFile: string | null;
  stateFile: string | null;
  datasetName: string | null;
  now(): Date;
  onPhase?(text: string): void;
  /** Aborting interrupts the query in progress; the check then ends with InterruptedError. */
  signal?: AbortSignal;
}

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'unknown';

export interface CheckOutcome {
  name: string;
  kind: RuleKind | 'schema' | 'volume';
  severity: Severity;
  /** Line of the rule in the rules file (null for schema and volume). */
  line: number | null;
  status: CheckStatus;
  rows_checked: number;
  /** Failing rows; null for checks of the whole dataset (row_count, freshness, schema, volume). */
  rows_failing: number | null;
  /** 0-100; null when there is nothing to judge yet (no schema baseline, too little volume history). */
  score: number | null;
  /** What was measured, in words. */
  detail: string;
  examples: Record<string, unknown>[];
}

export interface CheckResult {
  schema_version: 1;
  dataset: string;
  paths: string[];
  format: DataFormat;
  rules_file: string | null;
  state_file: string | null;
  rows: number;
  /** Mean of the checks' scores (those that have one). */
  score: number;
  /** No check of severity error failed. */
  passed: boolean;
  checks: CheckOutcome[];
  schema: { columns: Column[]; baseline: boolean; changes: SchemaChange[] };
  volume: VolumeVerdict | null;
  freshness_seconds: number | null;
  seconds: number;
}

/** A failing check gets at most 99.99, so that a score of 100 always means no failing row. */
export function scoreOf(checked: number, failing: number): number {
  if (checked === 0 || failing === 0) return 100;
  return Math.min(99.99, Math.round((10_000 * (checked - failing)) / checked) / 100);
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].replace(/^[A-Za-z ]+Error: /, '');
}

/** A DuckDB value as JSON can hold it: big integers as numbers while exact (else text), times as ISO text. */
function jsValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(jsValue);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsValue(x)]));
}

async function rowsOf(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJS().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, jsValue(v)])));
}

async function describe(conn: DuckDBConnection, sql: string): Promise<Column[]> {
  const rows = await rowsOf(conn, `DESCRIBE SELECT * FROM ${sql}`);
  return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
}

export async function runCheck(opts: CheckOptions): Promise<CheckResult> {
  const t0 = performance.now();
  const phase = opts.onPhase ?? (() => {});
  let set: RuleSet | null = null;
  if (opts.rulesFile) {
    let text: string;
    try {
      text = await readFile(opts.rulesFile, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read the rules file ${opts.rulesFile}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : firstLine(err)}`);
    }
    set = parseRules(text, opts.rulesFile);
  }
  let source;
  try {
    source = await resolveSource(opts.paths, opts.cwd);
  } catch (err) {
    if (err instanceof SourceError) throw new UsageError(err.message, err.hint);
    throw err;
  }
  const dataset = set?.dataset ?? opts.datasetName ?? (path.basename(opts.paths[0]).replace(/\.[^.]*(\.(gz|zst))?$/, '').replace(/[*?[\]]/g, '') || 'dataset');

  const tmp = await mkdtemp(path.join(os.tmpdir(), 'pipeobs-check-'));
  const instance = await DuckDBInstance.create(':memory:', {
    memory_limit: DUCKDB_MEMORY_LIMIT,
    temp_directory: tmp,
    preserve_insertion_order: 'false',
  });
  const conn = await instance.connect();
  const onAbort = () => conn.interrupt();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const interrupted = () => {
    if (opts.signal?.aborted) throw new InterruptedError('interrupted: the check was stopped; nothing was recorded');
  };
  try {
    // Timestamps without a zone are read as UTC, as the freshness of a TIMESTAMPTZ column is.
    await conn.run("SET TimeZone = 'UTC'");
    phase('reading the schema');
    let columns: Column[];
    try {
      columns = await describe(conn, source.sql);
    } catch (err) {
      throw new UsageError(`cannot read ${opts.paths.join(' ')}: ${firstLine(err)}`, 'check the path, the format and the permissions');
    }
    const startedAt = opts.now();
    const outcomes: CheckOutcome[] = [];
    let rows: number;
    let freshnessSeconds: number | null = null;

    if (set) {
      const refs = new Map<string, Reference>();
      for (const rule of set.rules) {
        if (rule.kind !== 'relationships') continue;
        try {
          const ref = await resolveSource([rule.to], opts.cwd);
          refs.set(rule.name, { sql: ref.sql, columns: await describe(conn, ref.sql) });
        } catch (err) {
          throw ruleError(set.file, rule.line, `relationships (${rule.name}): ${err instanceof SourceError ? err.message : `cannot read ${rule.to}: ${firstLine(err)}`}`, 'the path is relative to the current directory');
        }
      }
      const plan = compileRules(set, columns, refs, source.sql);
      for (const rule of set.rules) {
        if (rule.kind !== 'expression') continue;
        let type: string;
        try {
          type = (await rowsOf(conn, `DESCRIBE SELECT (${rule.sql}) AS e FROM ${source.sql} AS t`))[0].column_type as string;
        } catch (err) {
          throw ruleError(set.file, rule.line, `expression (${rule.name}): ${firstLine(err)}`, `its columns: ${columns.map((c) => c.name).join(', ')}`);
        }
        if (type !== 'BOOLEAN') throw ruleError(set.file, rule.line, `expression (${rule.name}): the condition gives ${type}, not true or false`, 'write a comparison, e.g. quantity * unit_price = revenue');
      }
      for (const c of plan.casts) {
        try {
          await conn.run(`SELECT ${c.sql}`);
        } catch (err) {
          throw ruleError(set.file, c.rule.line, `${c.rule.kind} (${c.rule.name}): ${firstLine(err)}`);
        }
      }
      phase(`checking ${set.rules.length} rules in one scan`);
      let scan: Record<string, unknown>;
      try {
        [scan] = await rowsOf(conn, plan.scanSql);
      } catch (err) {
        interrupted();
        throw new WorkFailedError(`checking ${opts.paths.join(' ')} failed: ${firstLine(err)}`, 'a value DuckDB could not convert? Check the expression rules and the file types');
      }
      rows = Number(scan.rows);
      const nowMs = opts.now().getTime();
      for (const c of plan.rules) {
        const r = c.rule;
        const o = await ruleOutcome(r, c.alias ? scan[c.alias] : null, rows, nowMs);
        if (r.kind === 'freshness' && freshnessSeconds === null && o.measured !== null) freshnessSeconds = o.measured;
        if (c.examplesAlias) o.outcome.examples = (scan[c.examplesAlias] as Record<string, unknown>[] | null) ?? [];
        if (o.outcome.rows_failing !== null && o.outcome.rows_failing > 0 && c.examplesSql) {
          phase(`fetching examples of ${r.name}`);
          try {
            o.outcome.examples = await rowsOf(conn, c.examplesSql);
          } catch (err) {
            interrupted();
            o.outcome.detail += ` (examples not fetched: ${firstLine(err)})`;
          }
        }
        outcomes.push(o.outcome);
      }
    } else {
      phase('counting rows');
      rows = Number((await rowsOf(conn, `SELECT count(*) AS n FROM ${source.sql}`))[0].n);
    }

    interrupted();
    // Schema and volume, against the last check's state.
    const state = opts.stateFile ? await readState(opts.stateFile) : null;
    const changes = state ? diffSchema(state.schema, columns) : [];
    const volume = opts.stateFile ? judgeVolume(rows, (state?.volumes ?? []).map((v) => v.rows)) : null;
    if (opts.stateFile) {
      outcomes.push({
        name: 'schema',
        kind: 'schema',
        severity: 'warn',
        line: null,
        status: state ? (changes.length ? 'warn' : 'pass') : 'unknown',
        rows_checked: rows,
        rows_failing: null,
        score: state ? (changes.length ? 0 : 100) : null,
        detail: state ? (changes.length ? changes.map(describeChange).join('; ') : `${columns.length} columns, unchanged`) : `${columns.length} columns recorded (first check)`,
        examples: [],
      });
      outcomes.push({
        name: 'volume',
        kind: 'volume',
        severity: 'warn',
        line: null,
        status: volume!.anomaly === null ? 'unknown' : volume!.anomaly ? 'warn' : 'pass',
        rows_checked: rows,
        rows_failing: null,
        score: volume!.anomaly === null ? null : volume!.anomaly ? 0 : 100,
        detail:
          volume!.anomaly === null
            ? `${rows} rows; ${volume!.history.length} of ${VOLUME_MIN_HISTORY} earlier checks needed for a band`
            : `${rows} rows, band ${volume!.band![0]}-${volume!.band![1]} (median ${volume!.median} of the last ${volume!.history.length} checks, MAD ${volume!.mad})`,
        examples: [],
      });
      const at = startedAt.toISOString();
      await writeState(opts.stateFile, {
        version: 1,
        dataset,
        schema: columns,
        volumes: [...(state?.volumes ?? []), { at, rows }].slice(-VOLUME_WINDOW),
      });
    }
    const scored = outcomes.filter((o) => o.score !== null);
    const score = scored.length ? Math.round((100 * scored.reduce((s, o) => s + o.score!, 0)) / scored.length) / 100 : 100;
    return {
      schema_version: 1,
      dataset,
      paths: opts.paths,
      format: source.format,
      rules_file: opts.rulesFile,
      state_file: opts.stateFile,
      rows,
      score: scored.some((o) => o.score! < 100) ? Math.min(score, 99.99) : score,
      passed: !outcomes.some((o) => o.status === 'fail'),
      checks: outcomes,
      schema: { columns, baseline: state !== null, changes },
      volume,
      freshness_seconds: freshnessSeconds,
      seconds: Math.round(performance.now() - t0) / 1000,
    };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    conn.closeSync();
    instance.closeSync();
    await rm(tmp, { recursive: true, force: true });
  }
}

function describeChange(c: SchemaChange): string {
  if (c.change === 'added') return `${c.column} added (${c.after})`;
  if (c.change === 'dropped') return `${c.column} dropped (was ${c.before})`;
  return `${c.column} retyped ${c.before} → ${c.after}`;
}

async function ruleOutcome(r: Rule, value: unknown, rows: number, nowMs: number): Promise<{ outcome: CheckOutcome; measured: number | null }> {
  const base = { name: r.name, kind: r.kind, severity: r.severity, line: r.line, rows_checked: rows, examples: [] as Record<string, unknown>[] };
  const judged = (failed: boolean) => (failed ? (r.severity === 'error' ? 'fail' : 'warn') : 'pass') as CheckStatus;
  if (r.kind === 'row_count') {
    const failed = (r.min !== undefined && rows < r.min) || (r.max !== undefined && rows > r.max);
    const range = `${r.min ?? 0}-${r.max ?? '∞'}`;
    return { outcome: { ...base, status: judged(failed), rows_failing: null, score: failed ? 0 : 100, detail: `${rows} rows, expected ${range}` }, measured: rows };
  }
  if (r.kind === 'freshness') {
    if (value === null || value === undefined) {
      return { outcome: { ...base, status: judged(true), rows_failing: null, score: 0, detail: `no ${r.column} value: the dataset is empty or the column all NULL` }, measured: null };
    }
    const age = Math.max(0, Math.round(nowMs - Number(value)) / 1000);
    const failed = age > r.maxAgeSeconds;
    return {
      outcome: { ...base, status: judged(failed), rows_failing: null, score: failed ? 0 : 100, detail: `newest ${r.column} is ${age} s old, at most ${r.maxAgeSeconds} s allowed` },
      measured: age,
    };
  }
  const failing = Number(value);
  return {
    outcome: { ...base, status: judged(failing > 0), rows_failing: failing, score: scoreOf(rows, failing), detail: `${failing} of ${rows} rows fail` },
    measured: null,
  };
}

/** The catalog samples of a check: scores, errors per check, rows checked, freshness, schema changes. */
export function checkSamples(r: CheckResult, base: { pipeline_name: string; environment: string }): Sample[] {
  const out: Sample[] = [];
  for (const c of r.checks) {
    if (c.score !== null) out.push(sample('pipeline_data_quality_score', { ...base, check_type: c.name }, c.score));
    if (c.status === 'unknown') continue;
    const errors = c.rows_failing ?? (c.status === 'pass' ? 0 : 1);
    out.push(sample('pipeline_errors_total', { ...base, stage: 'check', error_type: c.name }, errors));
  }
  out.push(sample('pipeline_data_quality_score', { ...base, check_type: 'overall' }, r.score));
  out.push(sample('pipeline_rows_processed_total', { ...base, stage: 'check', data_source: r.dataset }, r.rows));
  if (r.freshness_seconds !== null) out.push(sample('pipeline_data_freshness_seconds', { ...base, data_source: r.dataset }, r.freshness_seconds));
  if (r.state_file) {
    for (const t of SCHEMA_CHANGE_TYPES) {
      out.push(sample('pipeline_schema_changes_total', { ...base, data_source: r.dataset, change_type: t }, r.schema.changes.filter((c) => c.change === t).length));
    }
  }
  return out;
}
