/**
 * monitor-logs --server against the real thing: a real vmagent scrapes its /metrics into a real
 * VictoriaMetrics, and its own pushes land there too, with the exact numbers of the lines written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from '../helpers/cli.js';
import { freePort, requireBinary, startVictoriaMetrics, startVmagent } from '../helpers/victoria.js';

function kafka(i: number, partition: number): string {
  return JSON.stringify({ timestamp: new Date(Date.now() - 60_000 + i).toISOString(), level: i % 10 === 0 ? 'ERROR' : 'INFO', consumer_lag: 1000 + i, topic: 'orders', partition, consumer_group: 'etl', latency_ms: 5 + (i % 7), messages_per_second: 900 }) + '\n';
}

test('vmagent scrapes monitor-logs --server into VictoriaMetrics; pushes arrive too; SIGTERM saves the offsets', async () => {
  requireBinary('victoria-metrics');
  requireBinary('vmagent');
  const vm = await startVictoriaMetrics();
  const dir = tempDir();
  mkdirSync(path.join(dir, 'kafka'));
  mkdirSync(path.join(dir, 'ml'));
  const kafkaLog = path.join(dir, 'kafka', 'consumer.log');
  let text = '';
  for (let i = 0; i < 300; i++) text += kafka(i, i % 3);
  writeFileSync(kafkaLog, text);
  writeFileSync(path.join(dir, 'ml', 'predictions.log'), Array.from({ length: 40 }, (_, i) => JSON.stringify({ timestamp: new Date().toISOString(), service: 'scorer', level: 'INFO', model_version: 'v2', confidence: i < 10 ? 0.5 : 0.95, latency_ms: 20 })).join('\n') + '\n');
  writeFileSync(path.join(dir, 'airflow.log'), `[${new Date().toISOString()}] {taskinstance.py:1345} INFO - Marking task as SUCCESS. dag_id=etl, task_id=load, start_date=20261121T100000, end_date=20261121T100030\n`);
  const port = await freePort();
  const stateFile = path.join(dir, 'state.json');
  let fire: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
  const server = runCli(
    ['monitor-logs', `${dir}/**/*.log`, path.join(dir, 'airflow.log'), '--server', '--port', String(port), '--interval', '1s', '--poll', '50ms', '--start-at', 'beginning', '--state-file', stateFile, '--push', 'prometheus', '-o', 'json'],
    { env: { PIPEOBS_VM_URL: vm.url }, onSignalRegistered: (f) => (fire = f) },
  );
  const agent = await startVmagent(vm.url, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: monitor-logs\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`);
  try {
    const scraped = (q: string) => `${q.replace(/\}$/, '')}${q.endsWith('}') ? ',' : '{'}job="monitor-logs"}`;
    const lines = await vm.queryWhen(scraped('pipeobs_logs_lines_total'), (r) => r.length === 3 && r.every((s) => Number(s.value[1]) > 0), 30_000);
    assert.deepEqual(Object.fromEntries(lines.map((s) => [s.metric.component, Number(s.value[1])])), { airflow: 1, kafka: 300, ml: 40 });
    const lag = await vm.queryWhen(scraped('pipeobs_kafka_consumer_lag'), (r) => r.length === 3);
    assert.deepEqual(Object.fromEntries(lag.map((s) => [s.metric.partition, Number(s.value[1])])), { 0: 1297, 1: 1298, 2: 1299 });
    // Counters exist at 0 for every group seen, so increase() works from the first scrape.
    const mlErrors = await vm.queryWhen(scraped('pipeobs_ml_error_lines_total'), (r) => r.length === 1);
    assert.equal(mlErrors[0].value[1], '0');
    const runs = await vm.queryWhen(scraped('pipeobs_airflow_task_runs_total'), (r) => r.length === 3);
    assert.deepEqual(Object.fromEntries(runs.map((s) => [s.metric.outcome, Number(s.value[1])])), { success: 1, failed: 0, up_for_retry: 0 });
    const low = await vm.queryWhen(scraped('pipeobs_ml_low_confidence_predictions_total'), (r) => r.length === 1);
    assert.equal(low[0].value[1], '10');
    const p50 = await vm.queryWhen(`histogram_quantile(0.5, sum by (le) (${scraped('pipeobs_ml_confidence_bucket')}))`, (r) => r.length === 1);
    assert.ok(Number(p50[0].value[1]) > 0.9, 'the confidence histogram is queryable');
    // Appended lines arrive.
    appendFileSync(kafkaLog, kafka(300, 0) + kafka(301, 0));
    await vm.queryWhen(scraped('pipeobs_kafka_messages_total{partition="0"}'), (r) => r.length === 1 && r[0].value[1] === '102');
  } finally {
    fire?.('SIGTERM');
    const r = await server;
    await agent.cleanup();
    try {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /following 3 file\(s\); serving metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);
      assert.match(r.stderr, /SIGTERM: saving the read offsets and stopping\nstopped: 343 lines read/);
      const reports = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      assert.ok(reports.length >= 2, 'a report every interval and a final one');
      const last = reports[reports.length - 1];
      assert.equal(last.schema_version, 1);
      assert.equal(last.summary.lines_used, 343);
      const state = JSON.parse(readFileSync(stateFile, 'utf8'));
      assert.equal(state.files.find((f: { path: string }) => f.path === kafkaLog).line, 302);
      // The final push carries the final numbers (pushed series have no job label).
      await vm.flush();
      const pushed = await vm.queryWhen('pipeobs_logs_lines_total{job=""}', (s) => s.length === 3 && s.some((x) => x.value[1] === '302'));
      assert.deepEqual(Object.fromEntries(pushed.map((s) => [s.metric.component, Number(s.value[1])])), { airflow: 1, kafka: 302, ml: 40 });
    } finally {
      await vm.cleanup();
    }
  }
});

test('server mode refuses stdin and an html report without a file', async () => {
  const a = await runCli(['monitor-logs', '-', '--server']);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /stdin \("-"\) cannot be followed/);
  const b = await runCli(['monitor-logs', 'x.log', '--server', '-o', 'html']);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /needs --out <file>/);
});
