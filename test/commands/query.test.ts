import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { runCli, tempDir } from '../helpers/cli.js';
import { startVictoriaMetrics, freePort, type VictoriaMetrics } from '../helpers/victoria.js';
import { histogram as knownHistogram, prom, quantile } from '../helpers/known-data.js';
import type { QueryResultDoc } from '../../src/commands/query.js';
import type { RunPipelineResult } from '../../src/commands/run-pipeline.js';
import type { JsonCase } from '../../src/core/output/render.js';

let vm: VictoriaMetrics;
const MIN = 60_000;
// Known data starts at T (a minute boundary 30 minutes ago); reports end at END.
const T = Math.floor(Date.now() / MIN) * MIN - 30 * MIN;
const END = T + 10 * MIN;

function histogram(labels: Record<string, string>, at: number, observations: number[]): string {
  return knownHistogram(labels, T, at, observations);
}

const ALPHA = { pipeline_name: 'alpha', environment: 'prod' };
const BETA = { pipeline_name: 'beta', environment: 'dev' };
const EXTRACT_OBS = [0.3, 0.4, 2.5];
const LOAD_OBS = [0.01, 0.02, 0.05, 0.07];

before(async () => {
  vm = await startVictoriaMetrics();
  const t1 = T + MIN;
  const t2 = T + 2 * MIN;
  const data =
    prom('pipeline_rows_processed_total', { ...ALPHA, stage: 'load', data_source: 'orders' }, [[T, 0], [t1, 1000], [t2, 2500]]) +
    prom('pipeline_rows_processed_total', { ...ALPHA, stage: 'extract', data_source: 'orders' }, [[T, 0], [t2, 3000]]) +
    prom('pipeline_runs_total', { ...ALPHA, status: 'success' }, [[T, 0], [t1, 1], [t2, 2]]) +
    prom('pipeline_runs_total', { ...ALPHA, status: 'failed' }, [[T, 0], [t1, 0], [t2, 1]]) +
    prom('pipeline_data_quality_score', { ...ALPHA, check_type: 'overall' }, [[t1, 98], [t2, 97.5]]) +
    prom('pipeline_data_quality_score', { ...ALPHA, check_type: 'null_required' }, [[t1, 99], [t2, 96]]) +
    prom('pipeline_errors_total', { ...ALPHA, stage: 'quality', error_type: 'null_required' }, [[T, 0], [t1, 10], [t2, 25]]) +
    prom('pipeline_errors_total', { ...ALPHA, stage: 'transform', error_type: 'type_conversion' }, [[T, 0], [t1, 5], [t2, 5]]) +
    prom('pipeline_data_freshness_seconds', { ...ALPHA, data_source: 'orders' }, [[t2, 120]]) +
    prom('pipeline_last_success_timestamp_seconds', ALPHA, [[t2, t2 / 1000]]) +
    histogram({ ...ALPHA, stage: 'extract' }, t2, EXTRACT_OBS) +
    histogram({ ...ALPHA, stage: 'load' }, t2, LOAD_OBS) +
    prom('pipeline_rows_processed_total', { ...BETA, stage: 'load', data_source: 'orders' }, [[T, 0], [t1, 400]]) +
    prom('pipeline_runs_total', { ...BETA, status: 'success' }, [[T, 0], [t1, 1]]) +
    prom('pipeline_data_quality_score', { ...BETA, check_type: 'overall' }, [[t1, 100]]) +
    prom('pipeline_data_freshness_seconds', { ...BETA, data_source: 'orders' }, [[t1, 5]]) +
    prom('pipeline_last_success_timestamp_seconds', BETA, [[t1, t1 / 1000]]);
  const res = await fetch(`${vm.url}/api/v1/import/prometheus`, { method: 'POST', body: data });
  assert.equal(res.status, 204, await res.text());
  // Every imported series searchable (new series become visible over about a second).
  const series = new Set(data.trim().split('\n').map((l) => l.slice(0, l.lastIndexOf(' ', l.lastIndexOf(' ') - 1)))).size;
  await vm.queryWhen('count(last_over_time({__name__=~"pipeline_.*"}[1h]))', (r) => r.length === 1 && Number(r[0].value[1]) === series);
});
after(async () => {
  await vm?.cleanup();
});

async function query(args: string[], opts: { cwd?: string } = {}) {
  const r = await runCli(['query', ...args], { cwd: opts.cwd, env: { PIPEOBS_VM_URL: vm.url } });
  return { ...r, doc: r.code === 0 && args.includes('json') ? (JSON.parse(r.stdout) as QueryResultDoc) : null };
}
const win = ['--start', String(T / 1000), '--end', String(END / 1000), '-o', 'json'];
const rows = (doc: QueryResultDoc | null, table: string) => doc!.tables[table].rows;

test('summary: rows, runs, success rate, quality and errors per pipeline', async () => {
  const r = await query(['--report', 'summary', ...win]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(rows(r.doc, 'summary'), [
    { pipeline_name: 'alpha', environment: 'prod', rows_loaded: 2500, runs: 3, succeeded: 2, failed: 1, success_rate_pct: Math.round(1000 * 2 / 3) / 10, quality_score: 97.5, errors: 30 },
    { pipeline_name: 'beta', environment: 'dev', rows_loaded: 400, runs: 1, succeeded: 1, failed: 0, success_rate_pct: 100, quality_score: 100, errors: 0 },
  ]);
});

test('stages: throughput and mean, p50, p95 duration per stage, from the histogram', async () => {
  const r = await query(['--report', 'stages', '--pipeline', 'alpha', ...win]);
  assert.equal(r.code, 0, r.stderr);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const round4 = (x: number) => Math.round(x * 1e4) / 1e4;
  const got = rows(r.doc, 'stages');
  assert.deepEqual(got.map((x) => [x.stage, x.executions, x.rows, x.rows_per_second, x.mean_seconds]), [
    ['extract', 3, 3000, Math.round(3000 / sum(EXTRACT_OBS)), round4(sum(EXTRACT_OBS) / 3)],
    ['load', 4, 2500, Math.round(2500 / sum(LOAD_OBS)), round4(sum(LOAD_OBS) / 4)],
  ]);
  for (const [i, obs] of [EXTRACT_OBS, LOAD_OBS].entries()) {
    assert.ok(Math.abs((got[i].p50_seconds as number) - quantile(0.5, obs)) < 1e-4, `p50 ${got[i].p50_seconds} vs ${quantile(0.5, obs)}`);
    assert.ok(Math.abs((got[i].p95_seconds as number) - quantile(0.95, obs)) < 1e-4, `p95 ${got[i].p95_seconds} vs ${quantile(0.95, obs)}`);
  }
});

test('quality: first, last, min, max, mean and change per check', async () => {
  const r = await query(['--report', 'quality', '--pipeline', 'alpha', ...win]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(rows(r.doc, 'quality').map(({ last_at: _, ...x }) => x), [
    { pipeline_name: 'alpha', environment: 'prod', check_type: 'overall', samples: 2, first: 98, last: 97.5, min: 97.5, max: 98, mean: 97.75, change: -0.5 },
    { pipeline_name: 'alpha', environment: 'prod', check_type: 'null_required', samples: 2, first: 99, last: 96, min: 96, max: 99, mean: 97.5, change: -3 },
  ]);
});

test('errors: by stage and type with their share', async () => {
  const r = await query(['--report', 'errors', ...win]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(rows(r.doc, 'errors'), [
    { pipeline_name: 'alpha', stage: 'quality', error_type: 'null_required', errors: 25, share_pct: Math.round(1000 * 25 / 30) / 10 },
    { pipeline_name: 'alpha', stage: 'transform', error_type: 'type_conversion', errors: 5, share_pct: Math.round(1000 * 5 / 30) / 10 },
  ]);
});

test('freshness: data age = freshness at load + time since the last success, against the SLA', async () => {
  const r = await query(['--report', 'freshness', '--sla', '590s', ...win]);
  assert.equal(r.code, 0, r.stderr);
  const t1 = T + MIN;
  const t2 = T + 2 * MIN;
  assert.deepEqual(rows(r.doc, 'freshness').map((x) => [x.pipeline_name, x.freshness_at_load_seconds, x.since_last_success_seconds, x.data_age_seconds, x.status]), [
    ['alpha', 120, (END - t2) / 1000, 120 + (END - t2) / 1000, 'STALE'],
    ['beta', 5, (END - t1) / 1000, 5 + (END - t1) / 1000, 'ok'],
  ]);
});

test('anomalies: a known spike is flagged with its baseline and ratio, and nothing else', async () => {
  const base = Math.floor(Date.now() / MIN) * MIN - 180 * MIN;
  const values = Array.from({ length: 180 }, (_, i) => 1 + ((i * 7) % 5) / 100); // 1.00 .. 1.04
  values[150] = 5;
  await fetch(`${vm.url}/api/v1/import/prometheus`, { method: 'POST', body: prom('job_latency_seconds', { job: 'etl', host: 'a b' }, values.map((v, i) => [base + i * MIN, v])) });
  await vm.queryWhen(`count_over_time(job_latency_seconds[4h])`, (x) => x.length === 1 && Number(x[0].value[1]) === 180);
  const r = await query(['job_latency_seconds', '--report', 'anomalies', '--start', String((base + 60 * MIN) / 1000), '--end', String((base + 179 * MIN) / 1000),
    '--step', '1m', '--baseline', '30m', '--factor', '2', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const expectedBaseline = [...values.slice(120, 150)].sort((a, b) => a - b);
  const median = (expectedBaseline[14] + expectedBaseline[15]) / 2;
  assert.deepEqual(rows(r.doc, 'anomalies'), [
    { at: new Date(base + 150 * MIN).toISOString().replace('.000Z', 'Z'), metric: 'job_latency_seconds', series: 'host=a b,job=etl', value: 5, baseline: median, ratio: Math.round((500 / median)) / 100 },
  ]);
});

test('anomalies --seasonal: compared with the same hour on previous days, a daily pattern is not an anomaly', async () => {
  const H = 3_600_000;
  const base = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 4 * 86_400_000;
  const points: [number, number][] = [];
  for (let h = 0; h < 4 * 24; h++) points.push([base + h * H, ((h % 24) + 1) * (h === 3 * 24 + 10 ? 3 : 1)]);
  await fetch(`${vm.url}/api/v1/import/prometheus`, { method: 'POST', body: prom('daily_orders', { shop: 'x' }, points) });
  await vm.queryWhen(`count_over_time(daily_orders[5d])`, (x) => x.length === 1 && Number(x[0].value[1]) === 96);
  const r = await query(['daily_orders', '--report', 'anomalies', '--seasonal', '--start', String((base + 3 * 86_400_000) / 1000), '--end', String((base + 4 * 86_400_000 - H) / 1000),
    '--step', '1h', '--factor', '2', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(rows(r.doc, 'anomalies'), [
    { at: new Date(base + (3 * 24 + 10) * H).toISOString().replace('.000Z', 'Z'), metric: 'daily_orders', series: 'shop=x', value: 33, baseline: 11, ratio: 3 },
  ]);
});

test('instant and range PromQL, as JSON and CSV', async () => {
  const inst = await query(['pipeline_data_quality_score{pipeline_name="alpha",check_type="overall"}', '--time', String((T + 5 * MIN) / 1000), '-o', 'json']);
  assert.equal(inst.code, 0, inst.stderr);
  assert.deepEqual(inst.doc!.tables.result.rows, [
    { metric: 'pipeline_data_quality_score', check_type: 'overall', environment: 'prod', pipeline_name: 'alpha', timestamp: new Date(T + 5 * MIN).toISOString(), value: 97.5 },
  ]);
  const range = await query(['sum(pipeline_rows_processed_total{stage="load"})', '--start', String(T / 1000), '--end', String((T + 2 * MIN) / 1000), '--step', '1m', '-o', 'csv']);
  assert.equal(range.code, 0, range.stderr);
  assert.equal(range.stdout, [
    'metric,timestamp,value',
    `,${new Date(T).toISOString()},0`,
    `,${new Date(T + MIN).toISOString()},1400`,
    `,${new Date(T + 2 * MIN).toISOString()},2900`,
  ].join('\n') + '\n');
});

test('--sql over the fetched series, joined with a Parquet file given with --with; --parquet writes the result', async () => {
  const cwd = tempDir();
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run(`COPY (SELECT * FROM (VALUES ('alpha', 1200.5), ('beta', 80.0)) t(pipeline_name, revenue)) TO '${path.join(cwd, 'revenue.parquet')}' (FORMAT parquet)`);
  const r = await query(['sum by (pipeline_name) (pipeline_rows_processed_total{stage="load"})', '--time', String((T + 5 * MIN) / 1000),
    '--with', 'biz=revenue.parquet', '--sql', 'SELECT m.pipeline_name, m.value AS rows, b.revenue, round(b.revenue / m.value, 4) AS revenue_per_row FROM metrics m JOIN biz b USING (pipeline_name) ORDER BY 1',
    '--parquet', 'out.parquet', '-o', 'json'], { cwd });
  assert.equal(r.code, 0, r.stderr);
  const expected = [
    { pipeline_name: 'alpha', rows: 2500, revenue: 1200.5, revenue_per_row: Math.round(1200.5 / 2500 * 1e4) / 1e4 },
    { pipeline_name: 'beta', rows: 400, revenue: 80, revenue_per_row: 0.2 },
  ];
  assert.deepEqual(r.doc!.tables.result.rows, expected);
  const back = (await conn.runAndReadAll(`SELECT * FROM '${path.join(cwd, 'out.parquet')}' ORDER BY 1`)).getRowObjectsJS();
  assert.deepEqual(back, expected);
  conn.closeSync();
  db.closeSync();
});

test('business: each run of run-pipeline joined with its Parquet output, and the correlations', async () => {
  const cwd = tempDir();
  const summaries: JsonCase<RunPipelineResult>[] = [];
  for (const [seed, rate] of [[1, 0.01], [2, 0.08], [3, 0.15], [4, 0.03]] as const) {
    const run = await runCli(['run-pipeline', '--once', '--rows', '800', '--seed', String(seed), '--inject-errors', String(rate), '--push', 'prometheus',
      '--pipeline-name', 'biz', '--metrics-port', '0', '--output-dir', 'out', '-o', 'json'], { cwd, env: { PIPEOBS_VM_URL: vm.url } });
    assert.equal(run.code, 0, run.stderr);
    summaries.push(JSON.parse(run.stdout));
    await new Promise((res) => setTimeout(res, 1100)); // distinct run ids and push times
  }
  await vm.exportWhen('pipeline_data_quality_score{pipeline_name="biz",check_type="overall"}', (x) => x.length === 1 && x[0].values.length === 4);
  const r = await query(['--report', 'business', '--pipeline', 'biz', '--since', '10m', '--output-dir', 'out', '-o', 'json'], { cwd });
  assert.equal(r.code, 0, r.stderr);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const expected = [];
  for (const s of summaries) {
    const run = s.runs[0];
    const [o] = (await conn.runAndReadAll(`SELECT count(*)::INT AS orders, round(sum(revenue)::DOUBLE, 2) AS revenue FROM '${run.output.path}'`)).getRowObjectsJS();
    expected.push({ run_id: run.run_id, pipeline_name: 'biz', environment: 'dev', orders: o.orders, revenue: o.revenue, quality_score: run.quality!.score,
      errors: run.errors.reduce((n, e) => n + e.count, 0) });
  }
  conn.closeSync();
  db.closeSync();
  const got = rows(r.doc, 'runs');
  assert.deepEqual(got.map(({ rows_per_second: _, ...x }) => x), expected);
  const pearson = (xs: number[], ys: number[]) => {
    const mx = xs.reduce((a, b) => a + b) / xs.length;
    const my = ys.reduce((a, b) => a + b) / ys.length;
    const cov = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0);
    return cov / Math.sqrt(xs.reduce((a, x) => a + (x - mx) ** 2, 0) * ys.reduce((a, y) => a + (y - my) ** 2, 0));
  };
  const corr = Object.fromEntries(rows(r.doc, 'correlations').map((x) => [x.pair, x.correlation]));
  assert.equal(corr["orders ~ errors"], Math.round(pearson(expected.map((e) => Number(e.orders)), expected.map((e) => e.errors)) * 1000) / 1000);
  assert.equal(corr["revenue ~ quality_score"], Math.round(pearson(expected.map((e) => Number(e.revenue)), expected.map((e) => e.quality_score)) * 1000) / 1000);
});

test('bad input: each a clear error and the documented exit code', async () => {
  const bad = await query(['sum(rate(x[5m])']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /error: VictoriaMetrics rejected query sum\(rate\(x\[5m\]\) \(HTTP 422\): .*unparsed data/);
  const order = await query(['up', '--start', '-1h', '--end', '-2h']);
  assert.equal(order.code, 2);
  assert.match(order.stderr, /--start .* is not before --end/);
  const report = await query(['--report', 'weekly']);
  assert.equal(report.code, 2);
  assert.match(report.stderr, /--report weekly is not valid: expected one of summary, stages, quality, errors, freshness, anomalies, business/);
  const sql = await query(['up', '--sql', 'SELEC 1']);
  assert.equal(sql.code, 2);
  assert.match(sql.stderr, /SQL failed: Parser Error: syntax error at or near "SELEC"\nhint: the fetched series are in the table metrics/);
  const time = await query(['up', '--since', 'yesterday']);
  assert.equal(time.code, 2);
  assert.match(time.stderr, /--since yesterday is not a time/);
  const port = await freePort();
  const down = await runCli(['query', 'up'], { env: { PIPEOBS_VM_URL: `http://127.0.0.1:${port}`, PIPEOBS_VM_RETRIES: '0' } });
  assert.equal(down.code, 4);
  assert.match(down.stderr, /cannot reach VictoriaMetrics at http:\/\/127.0.0.1:\d+\/api\/v1\/query for query up \(request failed: ECONNREFUSED\)/);
  const noBiz = await query(['--report', 'business', '--output-dir', '/nonexistent/dir']);
  assert.equal(noBiz.code, 2);
  assert.match(noBiz.stderr, /cannot read run-pipeline's output \/nonexistent\/dir\/orders\/\*\.parquet/);
});
