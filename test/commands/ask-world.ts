/**
 * Known data for the offline ask tests, written into a real VictoriaMetrics: real run-pipeline
 * runs (fixed seeds, injected errors, pushed), and series this module writes itself with known
 * values (a second pipeline with failures and stage durations, what monitor-logs exports from
 * Kafka, ML and Airflow logs, and a metric outside the catalog). Every number a question's
 * answer must hold is computed here from that raw data: from what the generator says it
 * injected, the Parquet files the runs wrote, and the samples this module wrote. Never from
 * the engine's own queries.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { runCli, tempDir } from '../helpers/cli.js';
import type { VictoriaMetrics } from '../helpers/victoria.js';
import { DEFECT_ERROR, type Defect } from '../../src/core/pipeline/generate.js';
import { STAGE_DURATION_BUCKETS } from '../../src/core/metrics/catalog.js';
import type { RunPipelineResult } from '../../src/commands/run-pipeline.js';
import type { JsonCase } from '../../src/core/output/render.js';

export const MIN = 60_000;

export interface Sample {
  name: string;
  labels: Record<string, string>;
  points: [number, number][];
}

export interface RunPipelineFacts {
  pipeline: string;
  environment: string;
  runs: number;
  rowsExtracted: number;
  customers: number;
  products: number;
  rowsLoaded: number;
  quarantinedByReason: Record<string, number>;
  errorsByType: Record<string, number>;
  qualityOverall: number;
  qualityByCheck: Record<string, number>;
  lastSuccess: number;
  freshnessAtLoad: number;
  outputBytes: number;
  quarantineBytes: number;
  /** Rows out of each stage, over all runs, as the runs reported them. */
  stageRows: Record<string, number>;
  errorsByStage: Record<string, number>;
}

export interface World {
  /** The moment questions are asked at. */
  now: Date;
  /** When the written series end (the "now" of the synthetic data). */
  s: number;
  samples: Sample[];
  pipelines: RunPipelineFacts[];
  /** Stage observations of the synthetic pipeline, by stage: [time, seconds][]. */
  billingStages: Record<string, [number, number][]>;
}

/** Samples every 5 minutes from -120 min to 0, holding the value of the last step at or before each. */
function steps(s: number, changes: [number, number][], from = -120, every = 5): [number, number][] {
  const out: [number, number][] = [];
  for (let m = from; m <= 0; m += every) {
    let v = 0;
    for (const [at, val] of changes) if (at <= m) v = val;
    out.push([s + m * MIN, v]);
  }
  return out;
}

/** A stage-duration histogram from observations at known times, sampled every 5 minutes. */
function histogramSamples(name: string, labels: Record<string, string>, s: number, obs: [number, number][], buckets: readonly number[]): Sample[] {
  const out: Sample[] = [];
  const upTo = (m: number) => obs.filter(([at]) => at <= m).map(([, v]) => v);
  const series = (suffix: string, extra: Record<string, string>, f: (o: number[]) => number): Sample => ({
    name: `${name}_${suffix}`,
    labels: { ...labels, ...extra },
    points: steps(s, [], -120).map(([t]) => [t, f(upTo((t - s) / MIN))]),
  });
  for (const le of [...buckets.map(String), '+Inf']) out.push(series('bucket', { le }, (o) => o.filter((x) => le === '+Inf' || x <= Number(le)).length));
  out.push(series('sum', {}, (o) => o.reduce((a, b) => a + b, 0)));
  out.push(series('count', {}, (o) => o.length));
  return out;
}

function promText(samples: Sample[]): string {
  let out = '';
  for (const x of samples) {
    const l = Object.entries(x.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',');
    for (const [t, v] of x.points) out += `${x.name}{${l}} ${v} ${t}\n`;
  }
  return out;
}

async function runPipeline(vm: VictoriaMetrics, args: string[]): Promise<{ doc: JsonCase<RunPipelineResult>; dir: string }> {
  const dir = tempDir('pipeobs-ask-run-');
  const r = await runCli(['run-pipeline', '--push', 'prometheus', '--no-metrics-server', '-o', 'json', '--output-dir', path.join(dir, 'out'), ...args], { cwd: dir, env: { PIPEOBS_VM_URL: vm.url } });
  assert.equal(r.code, 0, r.stderr);
  return { doc: JSON.parse(r.stdout) as JsonCase<RunPipelineResult>, dir: path.join(dir, 'out') };
}

/** What the runs did, from the generator's own record of injected defects and the Parquet files they wrote. */
async function facts(doc: JsonCase<RunPipelineResult>, dir: string, rowsPerRun: number): Promise<RunPipelineFacts> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const count = async (sql: string) => Number((await conn.runAndReadAll(sql)).getRowsJS()[0][0]);
  const rowsLoaded = await count(`SELECT count(*) FROM read_parquet('${dir}/orders/*.parquet')`);
  const q = await conn.runAndReadAll(`SELECT reason, count(*) FROM read_parquet('${dir}/quarantine/*.parquet') GROUP BY reason`);
  const quarantinedByReason = Object.fromEntries(q.getRowsJS().map(([r, n]) => [String(r), Number(n)]));
  conn.closeSync();
  const errorsByType: Record<string, number> = {};
  const errorsByStage: Record<string, number> = {};
  const stageRows: Record<string, number> = {};
  for (const run of doc.runs) {
    for (const [defect, n] of Object.entries(run.injected_defects ?? {}) as [Defect, number][]) {
      const [stage, type] = DEFECT_ERROR[defect];
      errorsByType[type] = (errorsByType[type] ?? 0) + n;
      errorsByStage[stage] = (errorsByStage[stage] ?? 0) + n;
    }
    for (const st of run.stages) stageRows[st.stage] = (stageRows[st.stage] ?? 0) + st.rows_out;
  }
  const last = doc.runs[doc.runs.length - 1];
  return {
    pipeline: doc.pipeline_name,
    environment: doc.environment,
    runs: doc.runs.length,
    rowsExtracted: rowsPerRun * doc.runs.length,
    // The generator makes one customer per 20 orders (50 at least) and one product per 500 (20 at least).
    customers: doc.runs.length * Math.max(50, Math.ceil(rowsPerRun / 20)),
    products: doc.runs.length * Math.max(20, Math.ceil(rowsPerRun / 500)),
    rowsLoaded,
    quarantinedByReason,
    errorsByType,
    qualityOverall: last.quality!.score,
    qualityByCheck: Object.fromEntries(last.quality!.checks.map((c) => [c.check, c.score])),
    lastSuccess: Date.parse(last.finished_at) / 1000,
    freshnessAtLoad: last.freshness_seconds!,
    outputBytes: last.output.bytes,
    quarantineBytes: last.quarantine.bytes,
    stageRows,
    errorsByStage,
  };
}

export async function buildWorld(vm: VictoriaMetrics): Promise<World> {
  // Real runs: two of ecommerce_orders in prod, one of customer_sync in dev, with injected defects.
  const a = await runPipeline(vm, ['--runs', '2', '--rows', '2000', '--seed', '7', '--inject-errors', '0.05', '--pipeline-name', 'ecommerce_orders', '--environment', 'prod']);
  const b = await runPipeline(vm, ['--once', '--rows', '600', '--seed', '3', '--inject-errors', '0.03', '--pipeline-name', 'customer_sync', '--environment', 'dev']);
  const pipelines = [await facts(a.doc, a.dir, 2000), await facts(b.doc, b.dir, 600)];
  // The runs' last pushes searchable before any question (new samples become visible over about a second).
  for (const p of pipelines) {
    const sel = `pipeline_name="${p.pipeline}"`;
    for (const [promql, want] of [
      [`sum(last_over_time(pipeline_rows_processed_total{${sel},stage="load"}[1h]))`, p.rowsLoaded],
      [`sum(last_over_time(pipeline_rows_quarantined_total{${sel}}[1h]))`, Object.values(p.quarantinedByReason).reduce((x, y) => x + y, 0)],
      [`sum(last_over_time(pipeline_errors_total{${sel}}[1h]))`, Object.values(p.errorsByType).reduce((x, y) => x + y, 0)],
      [`sum(last_over_time(pipeline_runs_total{${sel}}[1h]))`, p.runs],
      [`count(last_over_time(pipeline_last_success_timestamp_seconds{${sel}}[1h]) == ${p.lastSuccess})`, 1],
    ] as const) {
      await vm.queryWhen(promql, (r) => r.length === 1 && Number(r[0].value[1]) === want, 30_000);
    }
  }

  const s = Math.floor(Date.now() / 1000) * 1000;
  const samples: Sample[] = [];
  const add = (name: string, labels: Record<string, string>, points: [number, number][]) => samples.push({ name, labels, points });
  const B = { pipeline_name: 'billing', environment: 'staging' };
  // billing: 3 successful runs (2 by -70 min, 1 at -20), 2 failed (-50 and -5), each failure a load stage_failure.
  add('pipeline_runs_total', { ...B, status: 'success' }, steps(s, [[-70, 2], [-20, 3]]));
  add('pipeline_runs_total', { ...B, status: 'failed' }, steps(s, [[-50, 1], [-5, 2]]));
  add('pipeline_runs_total', { ...B, status: 'abandoned' }, steps(s, []));
  add('pipeline_errors_total', { ...B, stage: 'load', error_type: 'stage_failure' }, steps(s, [[-50, 1], [-5, 2]]));
  add('pipeline_errors_total', { ...B, stage: 'quality', error_type: 'null_required' }, steps(s, [[-70, 40], [-20, 70]]));
  add('pipeline_rows_processed_total', { ...B, stage: 'extract', data_source: 'orders' }, steps(s, [[-70, 1100], [-20, 1650]]));
  add('pipeline_rows_processed_total', { ...B, stage: 'load', data_source: 'orders' }, steps(s, [[-70, 1000], [-20, 1500]]));
  add('pipeline_rows_quarantined_total', { ...B, reason: 'null_required' }, steps(s, [[-70, 40], [-20, 70]]));
  // The last success at -20 min; the data it loaded was 45 s old. Gauges every minute for the last hour.
  add('pipeline_last_success_timestamp_seconds', B, steps(s, [[-20, (s - 20 * MIN) / 1000]], -20, 1));
  add('pipeline_data_freshness_seconds', { ...B, data_source: 'orders' }, steps(s, [[-20, 45]], -20, 1));
  add('pipeline_last_run_duration_seconds', B, steps(s, [[-60, 12.5], [-5, 8.25]], -60, 1));
  add('pipeline_last_run_rows', B, steps(s, [[-60, 500], [-20, 500]], -60, 1));
  add('pipeline_output_size_bytes', { ...B, dataset: 'orders' }, steps(s, [[-60, 3 * 1024 * 1024]], -60, 1));
  for (const [check, score] of [['overall', 93.5], ['null_required', 88], ['out_of_range', 99]] as const) add('pipeline_data_quality_score', { ...B, check_type: check }, steps(s, [[-60, score]], -60, 1));
  // Stage durations: extract took 1 and 3 s in the hour before the last, 2, 4 and 6 s in the last hour.
  const billingStages: Record<string, [number, number][]> = {
    extract: [[-90, 1], [-90, 3], [-40, 2], [-40, 4], [-10, 6]],
    transform: [[-90, 0.2], [-30, 0.2]],
    load: [[-90, 0.5], [-40, 0.5], [-10, 0.7]],
  };
  for (const [stage, obs] of Object.entries(billingStages)) samples.push(...histogramSamples('pipeline_stage_duration_seconds', { ...B, stage }, s, obs, STAGE_DURATION_BUCKETS));

  // What monitor-logs --server exports from Kafka, ML and Airflow logs.
  for (const [partition, topic, lag] of [['0', 'orders', [[-60, 100], [-30, 400], [-2, 1000]]], ['1', 'orders', [[-60, 700]]], ['0', 'payments', [[-60, 50]]]] as const) {
    add('pipeobs_kafka_consumer_lag', { topic, partition, consumer_group: 'etl' }, steps(s, lag.map(([m, v]) => [m, v]), -60, 1));
  }
  add('pipeobs_kafka_messages_total', { topic: 'orders', partition: '0', consumer_group: 'etl' }, steps(s, [[-90, 5000], [-30, 8000]]));
  add('pipeobs_kafka_messages_total', { topic: 'payments', partition: '0', consumer_group: 'etl' }, steps(s, [[-90, 300], [-30, 1200]]));
  for (const [service, version, sumBefore, countBefore, sum, count, low] of [['churn', 'v2', 45, 50, 84, 100, 25], ['fraud_features', 'v1', 18, 20, 36, 40, 2]] as const) {
    const M = { service, model_version: version };
    add('pipeobs_ml_confidence_sum', M, steps(s, [[-90, sumBefore], [-30, sumBefore + sum]]));
    add('pipeobs_ml_confidence_count', M, steps(s, [[-90, countBefore], [-30, countBefore + count]]));
    add('pipeobs_ml_predictions_total', M, steps(s, [[-90, countBefore], [-30, countBefore + count]]));
    add('pipeobs_ml_low_confidence_predictions_total', M, steps(s, [[-30, low]]));
  }
  for (const [component, lines, errors, lastLine] of [['kafka', 1000, 25, -1], ['ml', 400, 0, -40], ['airflow', 250, 15, -3]] as const) {
    add('pipeobs_logs_lines_total', { component }, steps(s, [[-30, lines]]));
    add('pipeobs_logs_error_lines_total', { component }, steps(s, [[-30, errors]]));
    add('pipeobs_logs_last_line_timestamp_seconds', { component }, steps(s, [[-60, (s + lastLine * MIN) / 1000]], -60, 1));
  }
  add('pipeobs_logs_skipped_lines_total', { reason: 'malformed_json' }, steps(s, [[-30, 7]]));
  add('pipeobs_logs_skipped_lines_total', { reason: 'bad_timestamp' }, steps(s, [[-30, 2]]));
  for (const [dag, task, ok, failed, retry] of [['etl_daily', 'load', 10, 1, 2], ['etl_daily', 'extract', 11, 0, 0], ['reporting', 'render', 4, 0, 1]] as const) {
    add('pipeobs_airflow_task_runs_total', { dag_id: dag, task_id: task, outcome: 'success' }, steps(s, [[-45, ok]]));
    add('pipeobs_airflow_task_runs_total', { dag_id: dag, task_id: task, outcome: 'failed' }, steps(s, [[-45, failed]]));
    add('pipeobs_airflow_task_runs_total', { dag_id: dag, task_id: task, outcome: 'up_for_retry' }, steps(s, [[-45, retry]]));
  }
  // A metric outside the catalog.
  add('my_job_rows_total', { host: 'alpha' }, steps(s, [[-50, 120], [-10, 300]]));
  add('my_job_rows_total', { host: 'beta' }, steps(s, [[-50, 40]]));

  const body = promText(samples);
  const res = await fetch(`${vm.url}/api/v1/import/prometheus`, { method: 'POST', body });
  assert.equal(res.status, 204);
  const series = samples.length;
  await vm.queryWhen(`count(last_over_time({__name__=~"pipeline_.*|pipeobs_.*|my_job_.*", pipeline_name!~"ecommerce_orders|customer_sync"}[3h]))`, (r) => r.length === 1 && Number(r[0].value[1]) === series, 30_000);
  const now = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);
  // Right after writes, VictoriaMetrics sometimes answers from part of the new samples for a moment (while it
  // turns them into parts): wait until the answer at `now` has held for a second before any question.
  const stable = `sum by (pipeline_name) (increase(pipeline_rows_quarantined_total[1d]))`;
  const want = JSON.stringify(pipelines.map((p) => [p.pipeline, Object.values(p.quarantinedByReason).reduce((x, y) => x + y, 0)]).concat([['billing', 70]]).sort());
  let held = 0;
  for (let tries = 0; held < 5; tries++) {
    assert.ok(tries < 150, `the written data did not settle: ${stable} at ${now.toISOString()}`);
    await new Promise((r) => setTimeout(r, 200));
    const res = await fetch(`${vm.url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: stable, time: String(now.getTime() / 1000) }) });
    const doc = (await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    const got = JSON.stringify(doc.data.result.map((x) => [x.metric.pipeline_name, Number(x.value[1])]).sort());
    held = got === want ? held + 1 : 0;
  }
  return { now, s, samples, pipelines, billingStages };
}

/** The value of a written series at time t: its last sample at or before t. */
function valueAt(points: [number, number][], t: number): number | null {
  let v: number | null = null;
  for (const [at, x] of points) if (at <= t) v = x;
  return v;
}

/** Increase of the written counters matching `match` over (now - seconds, now]. */
export function increase(w: World, name: string, match: Record<string, string>, seconds: number): number {
  const end = w.now.getTime();
  const start = end - seconds * 1000;
  let total = 0;
  for (const x of w.samples) {
    if (x.name !== name || !Object.entries(match).every(([k, v]) => x.labels[k] === v)) continue;
    total += (valueAt(x.points, end) ?? 0) - (valueAt(x.points, start) ?? 0);
  }
  return total;
}

/** Observations of the billing pipeline's stage inside (now - seconds, now]. */
export function observations(w: World, stage: string, seconds: number): number[] {
  const from = (w.now.getTime() - seconds * 1000 - w.s) / MIN;
  return w.billingStages[stage].filter(([at]) => at > from).map(([, v]) => v);
}

/** Prometheus' histogram_quantile over these observations and the stage buckets. */
export function quantile(q: number, obs: number[]): number {
  const bounds = [...STAGE_DURATION_BUCKETS];
  const counts = bounds.map((b) => obs.filter((o) => o <= b).length);
  const rank = q * obs.length;
  const i = counts.findIndex((c) => c >= rank);
  const lower = i === 0 ? 0 : bounds[i - 1];
  const below = i === 0 ? 0 : counts[i - 1];
  return lower + ((bounds[i] - lower) * (rank - below)) / (counts[i] - below);
}
