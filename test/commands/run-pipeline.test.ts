import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { JsonCase } from '../../src/core/output/render.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { startVictoriaMetrics, startVmagent, freePort, waitFor, requireBinary, type VictoriaMetrics } from '../helpers/victoria.js';
import { DEFECT_ERROR, type Defect } from '../../src/core/pipeline/generate.js';
import { QUALITY_CHECKS } from '../../src/core/metrics/catalog.js';
import type { RunPipelineResult } from '../../src/commands/run-pipeline.js';

let vm: VictoriaMetrics;
before(async () => {
  vm = await startVictoriaMetrics();
});
after(async () => {
  await vm?.cleanup();
});

async function runPipeline(args: string[], env: Record<string, string> = {}) {
  const cwd = tempDir();
  const r = await runCli(['run-pipeline', '--metrics-port', '0', '-o', 'json', ...args], { cwd, env: { PIPEOBS_VM_URL: vm.url, ...env } });
  const doc = r.stdout ? (JSON.parse(r.stdout) as JsonCase<RunPipelineResult>) : null;
  return { ...r, doc, cwd };
}

const value = async (promql: string): Promise<number> => {
  const r = await vm.queryWhen(promql, (x) => x.length > 0);
  assert.equal(r.length, 1, `${promql} should give one series, got ${JSON.stringify(r)}`);
  return Number(r[0].value[1]);
};

/** The errors each stage/type must show, from the defects the generator says it injected. */
function expectedErrors(injected: Record<Defect, number>): Map<string, number> {
  const m = new Map<string, number>();
  for (const [defect, n] of Object.entries(injected) as [Defect, number][]) {
    const key = DEFECT_ERROR[defect].join('/');
    m.set(key, (m.get(key) ?? 0) + n);
  }
  return m;
}

for (const push of ['prometheus', 'influx'] as const) {
  test(`--once --push ${push}: the run's metrics arrive with the right names, labels and values`, async () => {
    const p = `orders_${push}`;
    const { code, stderr, doc } = await runPipeline(['--once', '--push', push, '--rows', '3000', '--seed', '11', '--inject-errors', '0.05', '--pipeline-name', p]);
    assert.equal(code, 0, stderr);
    assert.ok(doc);
    const run = doc.runs[0];
    assert.equal(run.status, 'success');
    assert.equal(doc.metrics.push.pushes.length, 2);
    assert.ok(doc.metrics.push.pushes.every((x) => x.sent));
    const sel = `pipeline_name="${p}",environment="dev"`;

    // rows processed equal the rows generated, and each later stage's rows equal the summary's
    assert.equal(await value(`pipeline_rows_processed_total{${sel},stage="extract",data_source="orders"}`), 3000);
    for (const s of run.stages) assert.equal(await value(`pipeline_rows_processed_total{${sel},stage="${s.stage}",data_source="orders"}`), s.rows_out, s.stage);
    // quality score equal to the summary's, per check and overall
    assert.equal(await value(`pipeline_data_quality_score{${sel},check_type="overall"}`), run.quality!.score);
    for (const c of run.quality!.checks) assert.equal(await value(`pipeline_data_quality_score{${sel},check_type="${c.check}"}`), c.score, c.check);
    // every error the generator injected, by stage and type
    const expected = expectedErrors(run.injected_defects!);
    for (const [key, n] of expected) {
      const [stage, type] = key.split('/');
      assert.equal(await value(`pipeline_errors_total{${sel},stage="${stage}",error_type="${type}"}`), n, key);
    }
    assert.equal(await value(`sum(pipeline_errors_total{${sel}})`), [...expected.values()].reduce((a, b) => a + b, 0));
    assert.equal(await value(`pipeline_runs_total{${sel},status="success"}`), 1);
    assert.equal(await value(`pipeline_runs_total{${sel},status="failed"}`), 0);
    assert.equal(await value(`pipeline_last_success_timestamp_seconds{${sel}}`), Date.parse(run.finished_at) / 1000);
    assert.equal(await value(`pipeline_output_size_bytes{${sel},dataset="orders"}`), run.output.bytes);
    assert.equal(await value(`pipeline_data_freshness_seconds{${sel},data_source="orders"}`), run.freshness_seconds);
    assert.equal(await value(`pipeline_stage_duration_seconds_count{${sel},stage="load"}`), 1);
    // counters were pushed at 0 first, so increase() over the run is exact
    const series = await vm.exportWhen(`pipeline_rows_processed_total{${sel},stage="extract",data_source="orders"}`, (r) => r.length > 0 && r[0].values.length >= 2);
    assert.equal(series.length, 1);
    assert.deepEqual(series[0].values, [0, 3000]);
  });
}

test('the Parquet output holds the clean rows and the quarantine holds every failing row, by reason', async () => {
  const { code, doc, stderr } = await runPipeline(['--once', '--rows', '2000', '--seed', '5', '--inject-errors', '0.1', '--no-metrics-server']);
  assert.equal(code, 0, stderr);
  const run = doc!.runs[0];
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const q = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS();
  const orders = await q(`SELECT count(*)::INT AS n, count(*) FILTER (WHERE quantity <= 0 OR unit_price < 0 OR customer_id IS NULL)::INT AS bad,
    count(*) FILTER (WHERE revenue <> quantity * unit_price)::INT AS wrong_revenue, count(DISTINCT order_id)::INT AS ids, any_value(run_id) AS run_id
    FROM '${run.output.path}'`);
  assert.deepEqual(orders, [{ n: run.output.rows, bad: 0, wrong_revenue: 0, ids: run.output.rows, run_id: run.run_id }]);
  const reasons = await q(`SELECT reason, count(*)::INT AS n FROM '${run.quarantine.path}' GROUP BY reason ORDER BY reason`);
  assert.deepEqual(Object.fromEntries(reasons.map((r) => [r.reason, r.n])), Object.fromEntries(Object.entries(run.quarantine.by_reason).sort()));
  // nothing silently dropped: clean + quarantined = generated
  assert.equal(run.output.rows + run.quarantine.rows, 2000);
  const failed = await q(`SELECT count(*)::INT AS n FROM '${run.quarantine.path}' WHERE len(failed_checks) = 0`);
  assert.deepEqual(failed, [{ n: 0 }]);
  // no temporary files left behind
  assert.deepEqual(readdirSync(path.dirname(run.output.path!)).filter((f) => f.includes('.tmp')), []);
  conn.closeSync();
  db.closeSync();
});

const HOSTILE = 'we"ird \\ name,with=stuff and 🚀 ünïcode';

test('hostile label values survive both push paths exactly and create no extra series', async () => {
  for (const [push, name] of [['prometheus', `${HOSTILE}\nsecond line`], ['influx', `${HOSTILE} influx`]] as const) {
    const before = (await vm.query('count({__name__=~"pipeline_.*"})'))[0];
    const { code, stderr, doc } = await runPipeline(['--once', '--push', push, '--rows', '200', '--seed', '3', '--pipeline-name', name, '--environment', 'prod "eu", west']);
    assert.equal(code, 0, stderr);
    assert.ok(doc!.metrics.push.pushes.every((x) => x.sent));
    // exactly the registry's series arrived, all carrying the exact labels
    const expectedSeries = doc!.metrics.push.pushes[1].samples;
    const series = await vm.exportWhen(`{pipeline_name=${JSON.stringify(name)},environment="prod \\"eu\\", west"}`, (r) => r.length >= expectedSeries);
    const values = await (await fetch(`${vm.url}/api/v1/label/pipeline_name/values`)).json() as { data: string[] };
    assert.ok(values.data.includes(name), `${JSON.stringify(name)} not among ${JSON.stringify(values.data)}`);
    assert.equal(series.length, expectedSeries, `${push}: series count`);
    const after = (await vm.queryWhen('count({__name__=~"pipeline_.*"})', (r) => r.length === 1))[0];
    assert.equal(Number(after.value[1]) - Number(before?.value[1] ?? 0), expectedSeries, `${push}: no other series appeared`);
  }
});

test('a line break in a label is refused for the influx path before any work', async () => {
  const { code, stderr } = await runPipeline(['--once', '--push', 'influx', '--pipeline-name', 'a\nb']);
  assert.equal(code, 2);
  assert.match(stderr, /the pipeline_name label "a\\nb" holds a line break, which InfluxDB line protocol cannot carry/);
  assert.match(stderr, /hint: use --push prometheus/);
});

test('with VictoriaMetrics stopped, the run completes, its samples wait in the spool and arrive exactly once later', async () => {
  const cwd = tempDir();
  const env = { PIPEOBS_VM_URL: vm.url, PIPEOBS_VM_RETRIES: '1' };
  const args = ['run-pipeline', '--once', '--push', 'prometheus', '--rows', '300', '--metrics-port', '0', '--pipeline-name', 'spooled', '-o', 'json'];
  await vm.stop();
  try {
    const down = await runCli([...args, '--seed', '1'], { cwd, env });
    assert.equal(down.code, 0, down.stderr);
    const doc = JSON.parse(down.stdout) as JsonCase<RunPipelineResult>;
    assert.equal(doc.runs[0].status, 'success');
    assert.deepEqual(doc.metrics.push.pushes.map((p) => p.sent), [false, false]);
    assert.equal(doc.metrics.push.spooled_files, 2);
    assert.match(down.stderr, /cannot reach VictoriaMetrics .* samples kept in .*spool/s);
    // one spool per target: a directory named after VictoriaMetrics' address, holding the two payloads
    const [dir] = readdirSync(path.join(cwd, 'spool'));
    assert.match(dir, /^127\.0\.0\.1_\d+-[0-9a-f]{10}$/);
    assert.equal(readdirSync(path.join(cwd, 'spool', dir)).filter((n) => n.endsWith('.prom.txt')).length, 2);
  } finally {
    await vm.start();
  }
  const up = await runCli([...args, '--seed', '2'], { cwd, env });
  assert.equal(up.code, 0, up.stderr);
  const doc = JSON.parse(up.stdout) as JsonCase<RunPipelineResult>;
  assert.equal(doc.metrics.push.pushes[0].flushed.sent_files, 2);
  assert.equal(doc.metrics.push.spooled_files, 0);
  const [dir] = readdirSync(path.join(cwd, 'spool'));
  assert.deepEqual(readdirSync(path.join(cwd, 'spool', dir)), ['target']);
  // two processes, two pushes each: four samples at four distinct times, none twice
  const runs = await vm.exportWhen('pipeline_runs_total{pipeline_name="spooled",status="success"}', (r) => r.length > 0 && r[0].values.length >= 4);
  assert.equal(runs.length, 1);
  assert.deepEqual(runs[0].values, [0, 1, 0, 1]);
  assert.equal(new Set(runs[0].timestamps).size, 4);
  const rows = await vm.exportWhen('pipeline_rows_processed_total{pipeline_name="spooled",stage="extract",data_source="orders"}', (r) => r.length > 0 && r[0].values.length >= 4);
  assert.deepEqual(rows[0].values, [0, 300, 0, 300]);
});

test('/metrics is valid Prometheus exposition (promtool) and a real vmagent delivers the same series to VictoriaMetrics', async () => {
  const promtool = requireBinary('promtool', 'prometheus');
  const port = await freePort();
  let stop: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
  const running = runCli(['run-pipeline', '--once', '--keep-serving', '--rows', '500', '--seed', '9', '--inject-errors', '0.05',
    '--metrics-port', String(port), '--pipeline-name', 'scraped', '-o', 'json'], { onSignalRegistered: (f) => (stop = f) });
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const text = await waitFor('the run to finish', async () => {
    const t = await (await fetch(metricsUrl)).text();
    return /pipeline_runs_total\{[^}]*status="success"\} 1/.test(t) ? t : null;
  }, 30_000);
  const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);

  const agent = await startVmagent(vm.url, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pipeobs\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`);
  try {
    const samples = text.split('\n').filter((l) => l.startsWith('pipeline_'));
    // New series become searchable over about a second: wait until every one of them is.
    await waitFor('vmagent to deliver the scrape', async () => {
      const r = await vm.query('count({job="pipeobs",pipeline_name="scraped"})');
      return r.length === 1 && Number(r[0].value[1]) === samples.length;
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\nvmagent log: ${agent.logs()}`);
    });
    assert.ok(samples.length > 100);
    for (const line of samples) {
      const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
      assert.ok(m, line);
      const r = await vm.queryWhen(`${m[1]}{${m[2]},job="pipeobs"}`, (x) => x.length === 1);
      assert.equal(r.length, 1, line);
      // VictoriaMetrics stores floats as decimals with about 15 significant digits.
      const got = Number(r[0].value[1]);
      const want = Number(m[3]);
      assert.ok(Math.abs(got - want) <= Math.abs(want) * 1e-12, `${line}: VictoriaMetrics has ${got}`);
      assert.equal(r[0].metric.instance, `127.0.0.1:${port}`);
    }
  } finally {
    await agent.cleanup();
    stop?.('SIGINT');
  }
  const done = await running;
  assert.equal(done.code, 0, done.stderr);
  assert.equal((JSON.parse(done.stdout) as JsonCase<RunPipelineResult>).runs.length, 1);
});

test('every quality check has a score series even when nothing failed', async () => {
  const { code, doc } = await runPipeline(['--once', '--push', 'prometheus', '--rows', '100', '--seed', '4', '--pipeline-name', 'clean_run']);
  assert.equal(code, 0);
  assert.equal(doc!.runs[0].quality!.score, 100);
  for (const c of QUALITY_CHECKS) assert.equal(await value(`pipeline_data_quality_score{pipeline_name="clean_run",check_type="${c}"}`), 100);
  assert.equal(await value(`pipeline_errors_total{pipeline_name="clean_run",stage="quality",error_type="duplicate_key"}`), 0);
});

test('the quality gate gates: below --fail-under nothing reaches orders/, the batch waits in rejected/ with its reasons, the run counts as failed, exit 5', async () => {
  const { code, stderr, doc, cwd } = await runPipeline(['--once', '--push', 'prometheus', '--rows', '2000', '--seed', '8', '--inject-errors', '0.1', '--fail-under', '99', '--pipeline-name', 'gated', '--output-dir', 'out']);
  assert.equal(code, 5, stderr);
  const run = doc!.runs[0];
  assert.equal(run.status, 'failed');
  assert.ok(run.quality!.score < 99, `score ${run.quality!.score}`);
  assert.match(stderr, new RegExp(`error: 1 of 1 runs failed the quality gate: quality score ${run.quality!.score} is below --fail-under 99 \\(failing checks: [a-z_, ]+\\); the batch was not published`));
  // Nothing published where downstream readers look.
  const out = path.join(cwd, 'out');
  assert.deepEqual(readdirSync(path.join(out, 'orders')), []);
  assert.equal(run.output.path, null);
  assert.deepEqual(readdirSync(path.join(out, 'rejected')).sort(), [`orders-${run.run_id}.parquet`, `orders-${run.run_id}.reasons.json`]);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const [kept] = (await conn.runAndReadAll(`SELECT count(*)::INT AS n, any_value(run_id) AS run_id FROM '${run.rejected!.path}'`)).getRowObjectsJS();
  const [quarantined] = (await conn.runAndReadAll(`SELECT count(*)::INT AS n FROM '${run.quarantine.path}'`)).getRowObjectsJS();
  conn.closeSync();
  db.closeSync();
  // every generated row is somewhere a person can look: the rejected batch or the quarantine
  assert.equal(Number(kept.n) + Number(quarantined.n), 2000);
  assert.equal(kept.run_id, run.run_id);
  const reasons = JSON.parse(readFileSync(run.rejected!.reasons_path, 'utf8'));
  assert.equal(reasons.reason, `overall quality score ${run.quality!.score} is below --fail-under 99`);
  assert.equal(reasons.rows, Number(kept.n));
  assert.deepEqual(reasons.failing_checks, run.quality!.failing_checks);
  // The metrics say failed, not success, and there was no successful run.
  const sel = 'pipeline_name="gated"';
  assert.equal(await value(`pipeline_runs_total{${sel},status="failed"}`), 1);
  assert.equal(await value(`pipeline_runs_total{${sel},status="success"}`), 0);
  assert.equal(await value(`pipeline_data_quality_score{${sel},check_type="overall"}`), run.quality!.score);
  assert.equal(await value(`pipeline_output_size_bytes{${sel},dataset="orders"}`), 0);
  assert.deepEqual(await vm.query(`pipeline_last_success_timestamp_seconds{${sel}}`), []);
  assert.equal(await value(`pipeline_rows_processed_total{${sel},stage="load",data_source="orders"}`), 0);

  // Above the gate, the same data is published as usual.
  const pass = await runPipeline(['--once', '--rows', '2000', '--seed', '8', '--inject-errors', '0.1', '--fail-under', '50', '--no-metrics-server']);
  assert.equal(pass.code, 0, pass.stderr);
  assert.equal(pass.doc!.runs[0].status, 'success');
  assert.equal(pass.doc!.runs[0].rejected, undefined);
  assert.equal(pass.doc!.runs[0].output.rows, Number(kept.n));
});
