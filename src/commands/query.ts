/**
 * pipeobs query: PromQL against VictoriaMetrics (instant or range), SQL over the fetched series
 * in DuckDB (joined with Parquet files), and named reports. DuckDB is loaded only when SQL, a
 * report or --parquet needs it, so a plain query starts fast.
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { UsageError } from '../core/errors.js';
import type { Config } from '../core/config/config.js';
import type { Deps } from '../core/deps.js';
import { parseDuration, parseTime, windowFromFlags } from '../core/time/parse.js';
import { renderJson, renderTableCsv, renderTableText, type OutputFormat, type Table } from '../core/output/render.js';
import { colorFor } from '../core/output/terminal.js';
import { exportSamples, samplesFromQuery, samplesTable, type SeriesSample } from '../core/analytics/series.js';
import { REPORTS, REPORT_DESCRIPTIONS, type ReportName } from '../core/analytics/report-names.js';
import { addOutputOption, choiceFlag, configFrom, numberFlag, outputFormat, collectRepeated } from './shared.js';
import { createVmClient } from './vm-client.js';

export interface QueryOptions {
  promql?: string;
  report?: ReportName;
  sql?: string;
  with: [string, string][];
  /** Instant query time; range and report windows use start/end. */
  time?: Date;
  range?: { start: Date; end: Date; stepSeconds: number };
  /** The window reports and --sql without PromQL read. */
  window: { start: Date; end: Date };
  stepSeconds?: number;
  pipeline?: string;
  slaSeconds: number;
  factor: number;
  baselineSeconds: number;
  seasonal: boolean;
  rateWindowSeconds?: number;
  parquet?: string;
  output: OutputFormat;
}

export function registerQuery(program: Command, deps: Deps, run = runQuery): void {
  const cmd = program
    .command('query')
    .description('PromQL against VictoriaMetrics, SQL over the series in DuckDB, and named reports')
    .argument('[promql]', 'a PromQL/MetricsQL query (for --report anomalies: the series to examine)')
    .option('--time <time>', 'evaluation time of an instant query (default now)')
    .option('--since <time>', 'range start: 6h (ago), -6h, now-30m, ISO 8601 or Unix seconds (reports default to 24h)')
    .option('--until <time>', 'range end (default now)')
    .option('--start <time>', 'the same as --since')
    .option('--end <time>', 'the same as --until')
    .option('--step <duration>', 'range step (default: the range / 250, at least 15s; anomalies: 5m)')
    .option('--report <name>', `a named report: ${REPORTS.join(', ')}`)
    .option('--sql <sql>', 'SQL over the fetched series, table metrics(metric, <labels>, ts, value)')
    .option('--with <name=file>', 'attach a Parquet file (or glob) as a table for --sql (repeatable)', collectRepeated, [])
    .option('--pipeline <name>', 'reports: only this pipeline_name')
    .option('--sla <duration>', 'freshness: how old data may be', '15m')
    .option('--factor <x>', 'anomalies: flag points above x times the baseline', '2')
    .option('--baseline <duration>', 'anomalies: window of the rolling median baseline', '1h')
    .option('--seasonal', 'anomalies: compare with the same time of day on the previous 7 days instead')
    .option('--window <duration>', 'anomalies: rate window of the default series (default: the step)')
    .option('--output-dir <dir>', 'business: where run-pipeline wrote its Parquet (env PIPEOBS_OUTPUT_DIR)')
    .option('--parquet <file>', 'also write the result table to this Parquet file (zstd)');
  addOutputOption(cmd).addHelpText('after', `
Reports:
${REPORTS.map((r) => `  ${r.padEnd(10)} ${REPORT_DESCRIPTIONS[r]}`).join('\n')}

Examples:
  $ pipeobs query 'sum by (stage) (rate(pipeline_rows_processed_total[5m]))'
  $ pipeobs query 'pipeline_data_quality_score{check_type="overall"}' --since 6h --step 5m -o csv
  $ pipeobs query --report stages --since 6h
  $ pipeobs query --report freshness --sla 30m
  $ pipeobs query --report anomalies --since 24h --factor 3
  $ pipeobs query 'increase(pipeline_rows_processed_total{stage="load"}[1h])' --since 24h --step 1h \\
      --with orders='pipeobs-output/orders/*.parquet' \\
      --sql 'SELECT m.ts, m.value AS rows, count(o.order_id) AS orders FROM metrics m
             LEFT JOIN orders o ON date_trunc(''hour'', o.ordered_at) = m.ts - INTERVAL 1 HOUR GROUP BY ALL ORDER BY 1'`);
  cmd.action(async (promql: string | undefined, raw: Record<string, unknown>, command: Command) => {
    const config = configFrom(deps, command, { outputDir: raw.outputDir as string | undefined });
    await run(validateQuery(promql, raw, deps.now()), config, deps);
  });
}

export function validateQuery(promql: string | undefined, raw: Record<string, unknown>, now: Date): QueryOptions {
  const report = raw.report === undefined ? undefined : choiceFlag(raw.report, '--report', REPORTS);
  const sql = raw.sql as string | undefined;
  if (!promql && !report && !sql) throw new UsageError('give a PromQL query, --report or --sql', 'see `pipeobs query --help`');
  if (report && sql) throw new UsageError('--report and --sql do not go together');
  if (report && promql && report !== 'anomalies') throw new UsageError(`--report ${report} runs its own queries; a PromQL argument goes only with --report anomalies`);
  const win = windowFromFlags(raw, now);
  const end = win.end ?? now;
  const start = win.start;
  if (start && start.getTime() >= end.getTime()) {
    throw new UsageError(`${win.startFlag} ${start.toISOString()} is not before ${win.endFlag} ${end.toISOString()}`);
  }
  if (raw.time !== undefined && (start || win.end)) throw new UsageError('--time is for instant queries; use --start/--end for a range');
  const stepSeconds = raw.step === undefined ? undefined : parseDuration(String(raw.step), '--step');
  const windowStart = start ?? new Date(end.getTime() - (report ? 86_400_000 : 3_600_000));
  const autoStep = (s: Date) => Math.max(15, Math.ceil((end.getTime() - s.getTime()) / 1000 / 250));
  const withTables = (raw.with as string[]).map((w): [string, string] => {
    const i = w.indexOf('=');
    if (i <= 0) throw new UsageError(`--with ${w} is not name=file.parquet`);
    return [w.slice(0, i), w.slice(i + 1)];
  });
  if (withTables.length && !sql) throw new UsageError('--with attaches tables for --sql');
  return {
    promql,
    report,
    sql,
    with: withTables,
    time: raw.time === undefined ? undefined : parseTime(String(raw.time), '--time', now),
    range: start ? { start, end, stepSeconds: stepSeconds ?? autoStep(start) } : undefined,
    window: { start: windowStart, end },
    stepSeconds,
    pipeline: raw.pipeline as string | undefined,
    slaSeconds: parseDuration(String(raw.sla), '--sla'),
    factor: numberFlag(raw.factor, '--factor', 1, 1e6),
    baselineSeconds: parseDuration(String(raw.baseline), '--baseline'),
    seasonal: Boolean(raw.seasonal),
    rateWindowSeconds: raw.window === undefined ? undefined : parseDuration(String(raw.window), '--window'),
    parquet: raw.parquet as string | undefined,
    output: outputFormat(raw.output),
  };
}

export interface QueryResultDoc {
  schema_version: 1;
  query?: string;
  report?: ReportName;
  sql?: string;
  time?: string;
  start?: string;
  end?: string;
  step_seconds?: number;
  tables: Record<string, { columns: string[]; rows: Record<string, unknown>[] }>;
}

function rowsAsObjects(t: Table): Record<string, unknown>[] {
  return t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, r[i] ?? null])));
}

export async function runQuery(opts: QueryOptions, config: Config, deps: Deps): Promise<void> {
  const client = createVmClient(config, deps);
  const doc: QueryResultDoc = { schema_version: 1, tables: {} };
  const tables: { name: string; table: Table }[] = [];

  if (!opts.report && !opts.sql && !opts.parquet) {
    // The fast path: no DuckDB.
    const samples = await fetchSamples(client, opts);
    tables.push({ name: 'result', table: samplesTable(samples) });
    describe(doc, opts);
  } else {
    const { openDb, loadSamples, attachParquet, queryTable, copyToParquet } = await import('../core/analytics/duckdb.js');
    const db = await openDb();
    try {
      if (opts.report) {
        const { runReport } = await import('../core/analytics/reports.js');
        const step = opts.stepSeconds ?? (opts.report === 'anomalies' ? 300 : Math.max(15, Math.ceil((opts.window.end.getTime() - opts.window.start.getTime()) / 250_000)));
        const result = await runReport(opts.report, client, db.conn, {
          start: opts.window.start,
          end: opts.window.end,
          pipeline: opts.pipeline,
          slaSeconds: opts.slaSeconds,
          factor: opts.factor,
          baselineSeconds: opts.baselineSeconds,
          seasonal: opts.seasonal,
          stepSeconds: step,
          rateWindowSeconds: opts.rateWindowSeconds ?? step,
          promql: opts.promql,
          ordersParquet: path.join(path.resolve(deps.cwd, config.outputDir), 'orders', '*.parquet'),
        });
        tables.push(...result.tables);
        doc.report = opts.report;
        doc.start = opts.window.start.toISOString();
        doc.end = opts.window.end.toISOString();
        if (opts.report === 'anomalies') doc.step_seconds = step;
      } else {
        const samples = opts.promql ? await fetchSamples(client, opts) : await exportWindow(client, opts);
        await loadSamples(db.conn, 'metrics', samples);
        for (const [name, file] of opts.with) await attachParquet(db.conn, name, path.resolve(deps.cwd, file));
        if (opts.sql) {
          tables.push({ name: 'result', table: await queryTable(db.conn, opts.sql) });
          doc.sql = opts.sql;
        } else tables.push({ name: 'result', table: samplesTable(samples) });
        describe(doc, opts);
      }
      if (opts.parquet) {
        const first = tables[0];
        await loadResult(db.conn, first.table);
        await copyToParquet(db.conn, 'SELECT * FROM result_table', path.resolve(deps.cwd, opts.parquet));
      }
    } finally {
      db.close();
    }
  }
  for (const t of tables) doc.tables[t.name] = { columns: t.table.columns, rows: rowsAsObjects(t.table) };

  if (opts.output === 'json') deps.stdout.write(renderJson(doc));
  else if (opts.output === 'csv') deps.stdout.write(renderTableCsv(tables[0].table));
  else deps.stdout.write(renderText(tables, deps, config));
}

function describe(doc: QueryResultDoc, opts: QueryOptions): void {
  if (opts.promql) doc.query = opts.promql;
  if (opts.range) {
    doc.start = opts.range.start.toISOString();
    doc.end = opts.range.end.toISOString();
    doc.step_seconds = opts.range.stepSeconds;
  } else if (opts.promql) doc.time = (opts.time ?? opts.window.end).toISOString();
  else {
    doc.start = opts.window.start.toISOString();
    doc.end = opts.window.end.toISOString();
  }
}

async function fetchSamples(client: ReturnType<typeof createVmClient>, opts: QueryOptions): Promise<SeriesSample[]> {
  if (opts.range) {
    return samplesFromQuery(await client.queryRange(opts.promql!, opts.range.start, opts.range.end, opts.range.stepSeconds));
  }
  // VictoriaMetrics rounds a missing time down to the second; an explicit one keeps fresh samples in view.
  return samplesFromQuery(await client.query(opts.promql!, opts.time ?? new Date(Math.ceil(opts.window.end.getTime() / 1000) * 1000)));
}

/** --sql without PromQL: every raw sample of the catalog's metrics in the window. */
async function exportWindow(client: ReturnType<typeof createVmClient>, opts: QueryOptions): Promise<SeriesSample[]> {
  return exportSamples(client, ['{__name__=~"pipeline_.*"}'], opts.window.start, opts.window.end);
}

/** A time as pipeobs prints it (ISO 8601 in UTC); such columns are written as TIMESTAMP. */
const UTC_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/;

/**
 * Any result table as the DuckDB table result_table, for --parquet: numbers as DOUBLE, times as
 * TIMESTAMP (UTC, as export-parquet writes them), everything else as VARCHAR.
 */
async function loadResult(conn: import('@duckdb/node-api').DuckDBConnection, table: Table): Promise<void> {
  const { timestampValue } = await import('@duckdb/node-api');
  const cols = table.columns.map((c, i) => {
    const values = table.rows.map((r) => r[i]).filter((v) => v !== null && v !== undefined);
    const type =
      values.length === 0 ? 'VARCHAR'
      : values.every((v) => typeof v === 'number') ? 'DOUBLE'
      : values.every((v) => typeof v === 'string' && UTC_ISO.test(v) && Number.isFinite(Date.parse(v))) ? 'TIMESTAMP'
      : 'VARCHAR';
    return { name: c, type };
  });
  await conn.run(`CREATE OR REPLACE TABLE result_table (${cols.map((c) => `"${c.name.replace(/"/g, '""')}" ${c.type}`).join(', ')})`);
  const app = await conn.createAppender('result_table');
  for (const r of table.rows) {
    cols.forEach((c, i) => {
      const v = r[i];
      if (v === null || v === undefined) app.appendNull();
      else if (c.type === 'DOUBLE') app.appendDouble(Number(v));
      else if (c.type === 'TIMESTAMP') app.appendTimestamp(timestampValue(BigInt(Date.parse(String(v))) * 1000n));
      else app.appendVarchar(String(v));
    });
    app.endRow();
  }
  app.closeSync();
}

function renderText(tables: { name: string; table: Table }[], deps: Deps, config: Config): string {
  const c: ChalkInstance = colorFor(deps.stdout, config);
  const style = { tty: Boolean(deps.stdout.isTTY), color: c.level > 0 };
  const parts: string[] = [];
  for (const { name, table } of tables) {
    if (tables.length > 1) parts.push(c.bold(name));
    parts.push(table.rows.length ? renderTableText(table, style) : `${c.dim('(no data in this window)')}\n`);
  }
  return parts.join('\n');
}
