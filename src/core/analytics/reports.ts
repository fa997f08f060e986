/**
 * Named reports: each fetches what it needs from VictoriaMetrics with PromQL (or raw samples
 * through export), loads the results into DuckDB tables, and answers with SQL. Windows are
 * whole time ranges [start, end]; counters are read with increase() over the window, so values
 * are what happened in it, not lifetime totals.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { UsageError } from '../errors.js';
import type { Table } from '../output/render.js';
import type { VmClient } from '../victoria/client.js';
import { formatDurationShort } from '../time/parse.js';
import { loadSamples, queryTable, quoteLiteral } from './duckdb.js';
import { exportSamples, samplesFromQuery } from './series.js';
import { anomalySql } from './anomalies.js';
import { computeFreshness } from './freshness.js';

import { type ReportName } from './report-names.js';

export { REPORTS, REPORT_DESCRIPTIONS, type ReportName } from './report-names.js';

export interface ReportOptions {
  start: Date;
  end: Date;
  /** Only these pipelines (pipeline_name), when given. */
  pipeline?: string;
  slaSeconds: number;
  factor: number;
  baselineSeconds: number;
  seasonal: boolean;
  stepSeconds: number;
  rateWindowSeconds: number;
  /** anomalies: the user's PromQL instead of the default per-stage series. */
  promql?: string;
  /** business: glob of run-pipeline's orders Parquet files. */
  ordersParquet: string;
}

export interface ReportResult {
  report: ReportName;
  tables: { name: string; table: Table }[];
}

interface Ctx {
  client: VmClient;
  conn: DuckDBConnection;
  opts: ReportOptions;
}

function selector(opts: ReportOptions, extra = ''): string {
  const parts = [extra, opts.pipeline ? `pipeline_name=${JSON.stringify(opts.pipeline)}` : ''].filter(Boolean);
  return `{${parts.join(',')}}`;
}

function windowOf(opts: ReportOptions): string {
  return formatDurationShort(Math.max(1, Math.round((opts.end.getTime() - opts.start.getTime()) / 1000)));
}

/** Runs an instant query at the window's end and loads the result as a table. */
async function instant(ctx: Ctx, name: string, promql: string, labels: string[]): Promise<void> {
  const data = await ctx.client.query(promql, ctx.opts.end);
  await loadSamples(ctx.conn, name, samplesFromQuery(data), labels);
}

async function raw(ctx: Ctx, name: string, match: string, labels: string[]): Promise<void> {
  await loadSamples(ctx.conn, name, await exportSamples(ctx.client, [match], ctx.opts.start, ctx.opts.end), labels);
}

async function range(ctx: Ctx, name: string, promql: string, labels: string[]): Promise<void> {
  const { start, end, stepSeconds } = ctx.opts;
  // Steps aligned to multiples of the step, so the same hour on different days lines up.
  const alignedStart = Math.floor(start.getTime() / 1000 / stepSeconds) * stepSeconds;
  const data = await ctx.client.queryRange(promql, alignedStart, end, stepSeconds);
  await loadSamples(ctx.conn, name, samplesFromQuery(data), labels);
}

const PE = ['pipeline_name', 'environment'];

async function summary(ctx: Ctx): Promise<ReportResult> {
  const w = windowOf(ctx.opts);
  const by = 'pipeline_name, environment';
  await instant(ctx, 'rows_loaded', `sum by (${by}) (increase(pipeline_rows_processed_total${selector(ctx.opts, 'stage="load"')}[${w}]))`, PE);
  await instant(ctx, 'runs', `sum by (${by}, status) (increase(pipeline_runs_total${selector(ctx.opts)}[${w}]))`, [...PE, 'status']);
  await instant(ctx, 'quality', `max by (${by}) (last_over_time(pipeline_data_quality_score${selector(ctx.opts, 'check_type="overall"')}[${w}]))`, PE);
  await instant(ctx, 'errors', `sum by (${by}) (increase(pipeline_errors_total${selector(ctx.opts)}[${w}]))`, PE);
  const table = await queryTable(ctx.conn, `
    WITH p AS (SELECT pipeline_name, environment FROM runs UNION SELECT pipeline_name, environment FROM rows_loaded)
    SELECT p.pipeline_name, p.environment,
      round(coalesce(any_value(r.value), 0))::BIGINT AS rows_loaded,
      round(coalesce(sum(u.value), 0))::BIGINT AS runs,
      round(coalesce(sum(u.value) FILTER (WHERE u.status = 'success'), 0))::BIGINT AS succeeded,
      round(coalesce(sum(u.value) FILTER (WHERE u.status = 'failed'), 0))::BIGINT AS failed,
      CASE WHEN sum(u.value) > 0 THEN round(100 * coalesce(sum(u.value) FILTER (WHERE u.status = 'success'), 0) / sum(u.value), 1) END AS success_rate_pct,
      any_value(q.value) AS quality_score,
      round(coalesce(any_value(e.value), 0))::BIGINT AS errors
    FROM p
    LEFT JOIN rows_loaded r USING (pipeline_name, environment)
    LEFT JOIN runs u USING (pipeline_name, environment)
    LEFT JOIN quality q USING (pipeline_name, environment)
    LEFT JOIN errors e USING (pipeline_name, environment)
    GROUP BY ALL ORDER BY p.pipeline_name, p.environment`, 'the summary report');
  return { report: 'summary', tables: [{ name: 'summary', table }] };
}

async function stages(ctx: Ctx): Promise<ReportResult> {
  const w = windowOf(ctx.opts);
  const by = 'pipeline_name, stage';
  const L = ['pipeline_name', 'stage'];
  await instant(ctx, 'rows', `sum by (${by}) (increase(pipeline_rows_processed_total${selector(ctx.opts, 'data_source="orders"')}[${w}]))`, L);
  await instant(ctx, 'secs', `sum by (${by}) (increase(pipeline_stage_duration_seconds_sum${selector(ctx.opts)}[${w}]))`, L);
  await instant(ctx, 'execs', `sum by (${by}) (increase(pipeline_stage_duration_seconds_count${selector(ctx.opts)}[${w}]))`, L);
  for (const [name, q] of [['p50', 0.5], ['p95', 0.95]] as const) {
    await instant(ctx, name, `histogram_quantile(${q}, sum by (${by}, le) (increase(pipeline_stage_duration_seconds_bucket${selector(ctx.opts)}[${w}])))`, L);
  }
  const table = await queryTable(ctx.conn, `
    SELECT x.pipeline_name, x.stage,
      round(x.value)::BIGINT AS executions,
      round(coalesce(r.value, 0))::BIGINT AS rows,
      CASE WHEN s.value > 0 THEN round(coalesce(r.value, 0) / s.value) END AS rows_per_second,
      CASE WHEN x.value > 0 THEN round(s.value / x.value, 4) END AS mean_seconds,
      round(p50.value, 4) AS p50_seconds,
      round(p95.value, 4) AS p95_seconds
    FROM execs x
    LEFT JOIN rows r USING (pipeline_name, stage)
    LEFT JOIN secs s USING (pipeline_name, stage)
    LEFT JOIN p50 USING (pipeline_name, stage)
    LEFT JOIN p95 USING (pipeline_name, stage)
    WHERE x.value > 0
    ORDER BY x.pipeline_name, array_position(['extract', 'transform', 'quality', 'load'], x.stage), x.stage`, 'the stages report');
  return { report: 'stages', tables: [{ name: 'stages', table }] };
}

async function quality(ctx: Ctx): Promise<ReportResult> {
  await raw(ctx, 'scores', `pipeline_data_quality_score${selector(ctx.opts)}`, [...PE, 'check_type']);
  const table = await queryTable(ctx.conn, `
    SELECT pipeline_name, environment, check_type,
      count(*) AS samples,
      arg_min(value, ts) AS first, arg_max(value, ts) AS last,
      min(value) AS min, max(value) AS max, round(avg(value), 2) AS mean,
      round(arg_max(value, ts) - arg_min(value, ts), 2) AS change,
      strftime(max(ts), '%Y-%m-%dT%H:%M:%SZ') AS last_at
    FROM scores
    GROUP BY pipeline_name, environment, check_type
    ORDER BY pipeline_name, environment, check_type <> 'overall', check_type`, 'the quality report');
  return { report: 'quality', tables: [{ name: 'quality', table }] };
}

async function errors(ctx: Ctx): Promise<ReportResult> {
  const w = windowOf(ctx.opts);
  const L = ['pipeline_name', 'stage', 'error_type'];
  await instant(ctx, 'errs', `sum by (pipeline_name, stage, error_type) (increase(pipeline_errors_total${selector(ctx.opts)}[${w}]))`, L);
  const table = await queryTable(ctx.conn, `
    SELECT pipeline_name, stage, error_type, round(value)::BIGINT AS errors,
      round(100 * value / sum(value) OVER (PARTITION BY pipeline_name), 1) AS share_pct
    FROM errs WHERE value > 0
    ORDER BY pipeline_name, errors DESC, stage, error_type`, 'the errors report');
  return { report: 'errors', tables: [{ name: 'errors', table }] };
}

async function freshness(ctx: Ctx): Promise<ReportResult> {
  // The same computation ask uses for "is the data fresh?", at the window's end.
  const { rows } = await computeFreshness(ctx.client, {
    at: ctx.opts.end,
    lookbackSeconds: (ctx.opts.end.getTime() - ctx.opts.start.getTime()) / 1000,
    slaSeconds: ctx.opts.slaSeconds,
    matchers: ctx.opts.pipeline ? [`pipeline_name=${JSON.stringify(ctx.opts.pipeline)}`] : [],
  });
  const iso = (s: number | null) => (s === null ? null : new Date(Math.floor(s) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const table: Table = {
    columns: ['pipeline_name', 'environment', 'freshness_at_load_seconds', 'last_success', 'since_last_success_seconds', 'data_age_seconds', 'sla_seconds', 'status'],
    rows: rows.map((r) => [r.pipeline_name, r.environment, r.freshness_at_load_seconds, iso(r.last_success), r.since_last_success_seconds, r.data_age_seconds, r.sla_seconds, r.status]),
  };
  return { report: 'freshness', tables: [{ name: 'freshness', table }] };
}

/** Mean stage duration over rate windows: a ratio of windowed rates, not a lifetime average. */
export function defaultAnomalyPromql(opts: ReportOptions): string {
  const r = formatDurationShort(opts.rateWindowSeconds);
  const s = selector(opts);
  return `sum by (pipeline_name, stage) (rate(pipeline_stage_duration_seconds_sum${s}[${r}])) / sum by (pipeline_name, stage) (rate(pipeline_stage_duration_seconds_count${s}[${r}]))`;
}

async function anomalies(ctx: Ctx): Promise<ReportResult> {
  const promql = ctx.opts.promql ?? defaultAnomalyPromql(ctx.opts);
  const lookback = ctx.opts.seasonal ? 7 * 86_400 : ctx.opts.baselineSeconds;
  // Fetch the baseline's history too, so the first points of the window have a baseline.
  const start = new Date(ctx.opts.start.getTime() - lookback * 1000);
  const data = await ctx.client.queryRange(promql, Math.floor(start.getTime() / 1000 / ctx.opts.stepSeconds) * ctx.opts.stepSeconds, ctx.opts.end, ctx.opts.stepSeconds);
  const labels = await loadSamples(ctx.conn, 'points', samplesFromQuery(data));
  const table = await queryTable(ctx.conn, anomalySql({ labels, factor: ctx.opts.factor, baselineSeconds: ctx.opts.baselineSeconds, seasonal: ctx.opts.seasonal, from: ctx.opts.start }), 'the anomalies report');
  return { report: 'anomalies', tables: [{ name: 'anomalies', table }] };
}

async function business(ctx: Ctx): Promise<ReportResult> {
  const glob = ctx.opts.ordersParquet;
  try {
    await ctx.conn.run(`CREATE TABLE runs AS
      SELECT run_id, any_value(pipeline_name) AS pipeline_name, any_value(environment) AS environment, min(run_started_at) AS started_at,
        count(*) AS orders, sum(revenue)::DOUBLE AS revenue
      FROM read_parquet(${quoteLiteral(glob)}) GROUP BY run_id`);
  } catch (err) {
    throw new UsageError(`cannot read run-pipeline's output ${glob}: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`, 'point --output-dir (or PIPEOBS_OUTPUT_DIR) at the directory run-pipeline wrote to');
  }
  const L = [...PE, 'check_type', 'stage', 'error_type', 'data_source'];
  await raw(ctx, 'm', `{__name__=~"pipeline_data_quality_score|pipeline_errors_total|pipeline_rows_processed_total|pipeline_last_run_duration_seconds"${ctx.opts.pipeline ? `,pipeline_name=${JSON.stringify(ctx.opts.pipeline)}` : ''}}`, L);
  // Each run pushes (or is scraped) after it finishes: the first sample at or after a run's start is its result.
  // Counters become per-push increments (a drop is a reset: a new process starting from 0).
  await sql(ctx.conn, `CREATE TABLE per_run AS
    WITH inc AS (
      SELECT *, CASE WHEN value >= lag(value) OVER w THEN value - lag(value) OVER w ELSE value END AS delta
      FROM m WHERE metric IN ('pipeline_errors_total', 'pipeline_rows_processed_total')
      WINDOW w AS (PARTITION BY metric, pipeline_name, environment, stage, error_type, data_source ORDER BY ts)),
    pushes AS (
      SELECT pipeline_name, environment, ts,
        sum(delta) FILTER (WHERE metric = 'pipeline_errors_total') AS errors,
        sum(delta) FILTER (WHERE metric = 'pipeline_rows_processed_total' AND stage = 'load') AS rows_loaded
      FROM inc GROUP BY ALL),
    gauges AS (
      SELECT pipeline_name, environment, ts,
        max(value) FILTER (WHERE metric = 'pipeline_data_quality_score' AND check_type = 'overall') AS quality,
        max(value) FILTER (WHERE metric = 'pipeline_last_run_duration_seconds') AS duration
      FROM m GROUP BY ALL),
    per_push AS (SELECT * FROM pushes JOIN gauges USING (pipeline_name, environment, ts) WHERE rows_loaded > 0)
    SELECT r.run_id, r.pipeline_name, r.environment, r.orders, round(r.revenue, 2) AS revenue,
      p.quality AS quality_score, round(p.errors)::BIGINT AS errors,
      CASE WHEN p.duration > 0 THEN round(p.rows_loaded / p.duration) END AS rows_per_second
    FROM runs r ASOF JOIN per_push p ON r.pipeline_name = p.pipeline_name AND r.environment = p.environment AND p.ts >= r.started_at
    ORDER BY r.started_at`, 'the business report');
  const perRun = await queryTable(ctx.conn, 'SELECT * FROM per_run', 'the business report');
  const correlations = await queryTable(ctx.conn, `
    SELECT pair, round(c, 3) AS correlation, n AS runs FROM (
      SELECT 'revenue ~ quality_score' AS pair, corr(revenue, quality_score) AS c, count(*) AS n FROM per_run
      UNION ALL SELECT 'revenue ~ errors', corr(revenue, errors), count(*) FROM per_run
      UNION ALL SELECT 'orders ~ errors', corr(orders, errors), count(*) FROM per_run
      UNION ALL SELECT 'orders ~ rows_per_second', corr(orders, rows_per_second), count(*) FROM per_run)`, 'the business report');
  return { report: 'business', tables: [{ name: 'runs', table: perRun }, { name: 'correlations', table: correlations }] };
}

/** Runs a statement; an error is reported as the report's failure with DuckDB's words. */
async function sql(conn: DuckDBConnection, statement: string, what: string): Promise<void> {
  try {
    await conn.run(statement);
  } catch (err) {
    throw new UsageError(`${what} failed: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`);
  }
}

const RUNNERS: Record<ReportName, (ctx: Ctx) => Promise<ReportResult>> = { summary, stages, quality, errors, freshness, anomalies, business };

export async function runReport(name: ReportName, client: VmClient, conn: DuckDBConnection, opts: ReportOptions): Promise<ReportResult> {
  return RUNNERS[name]({ client, conn, opts });
}
