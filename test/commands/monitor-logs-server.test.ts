/**
 * monitor-logs --server against the real thing: a real vmagent scrapes its /metrics into a real
 * VictoriaMetrics, and its own pushes land there too, with the exact numbers of the lines written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from '../helpers/cli.js';
import { freePort, requireBinary, startVictoriaMetrics, startVmagent, waitFor } from '../helpers/victoria.js';
import { logrotateCopytruncate, pythonLogWrite } from '../helpers/log-writers.js';

const bin = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..'), 'bin', 'pipeobs');

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
      // Every pushed counter series starts at 0, so increase() over the pushes counts every line read.
      const series = await vm.exportWhen('{__name__="pipeobs_logs_lines_total",job=""}', (x) => x.length === 3);
      for (const one of series) assert.equal(one.values[0], 0, `${one.metric.component} starts at 0`);
      const counted = await vm.query('sum by (component) (increase(pipeobs_logs_lines_total{job=""}[1h]))');
      assert.deepEqual(Object.fromEntries(counted.map((s) => [s.metric.component, Math.round(Number(s.value[1]))])), { airflow: 1, kafka: 302, ml: 40 });
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

/** Peak and current resident memory of a process, in MB (from /proc: measured by the kernel, not by the process). */
function memoryMb(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(/\d+/.exec(status.split('\n').find((l) => l.startsWith(field))!)![0]);
  return { peak: kb('VmHWM:') / 1024, now: kb('VmRSS:') / 1024 };
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: number; encoding: string | undefined; sha: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false, timeout: 60_000 }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (d: Buffer) => {
        bytes += d.length;
        hash.update(d);
      });
      res.on('end', () => resolve({ status: res.statusCode!, bytes, encoding: res.headers['content-encoding'], sha: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

test('200 concurrent scrapes of a 5 MB /metrics: all answered, the same exposition, memory bounded', async () => {
  const dir = tempDir();
  // 1,000 topics × 2 partitions: 2,000 Kafka groups, about 5.6 MB of exposition.
  let text = '';
  for (let t = 0; t < 1000; t++) for (let p = 0; p < 2; p++) text += JSON.stringify({ timestamp: new Date(Date.now() - 60_000).toISOString(), consumer_lag: t * 10 + p, topic: `topic-${String(t).padStart(4, '0')}`, partition: p, consumer_group: 'etl', latency_ms: 5 + p }) + '\n';
  writeFileSync(path.join(dir, 'kafka.log'), text);
  const child = spawn(process.execPath, [bin, 'monitor-logs', 'kafka.log', '--server', '--port', '0', '--start-at', 'beginning', '--no-state', '--max-groups', '10000', '--interval', '1h', '-o', 'json'], {
    cwd: dir,
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    const url = await waitFor('the server to start', async () => /serving metrics at (http:\S+\/metrics)/.exec(stderr)?.[1] ?? null, 20_000);
    const first = await waitFor('the exposition to hold every group', async () => {
      const r = await get(url);
      return r.bytes > 5_000_000 ? r : null;
    }, 20_000);
    const before = memoryMb(child.pid!);
    const plain = await Promise.all(Array.from({ length: 200 }, () => get(url)));
    const after = memoryMb(child.pid!);
    assert.deepEqual(new Set(plain.map((r) => `${r.status} ${r.bytes} ${r.sha}`)), new Set([`200 ${first.bytes} ${first.sha}`]), 'every scrape got the whole exposition, the same one');
    // One rendering shared by all: the peak grows by a few copies of the text at most (it was 1.8 GB with a rendering per scrape; 14 MB measured here).
    assert.ok(after.peak - before.peak < 80, `peak resident memory went from ${before.peak.toFixed(0)} MB to ${after.peak.toFixed(0)} MB`);
    // Scrapers that accept gzip get it, compressed once.
    const gz = await Promise.all(Array.from({ length: 50 }, () => get(url, { 'Accept-Encoding': 'gzip' })));
    assert.ok(gz.every((r) => r.status === 200 && r.encoding === 'gzip' && r.bytes < first.bytes / 5 && r.sha === gz[0].sha));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  }
  assert.match(stderr, /stopped: 2,000 lines read/);
});

// --- kill -9 with rotations: a real RotatingFileHandler (rename) and a real logrotate (copytruncate) ---

function startServer(dir: string, stateFile: string, input: string) {
  const child = spawn(process.execPath, [bin, 'monitor-logs', input, '--server', '--port', '0', '--poll', '50ms', '--interval', '1h', '--start-at', 'beginning', '--state-file', stateFile, '-o', 'json'], {
    cwd: dir,
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const url = () => waitFor('the server to start', async () => /serving metrics at (http:\S+\/metrics)/.exec(stderr)?.[1] ?? null, 20_000);
  /** Lines counted so far, from /metrics. */
  const counted = async () => {
    const text = await (await fetch(await url())).text();
    return Number(/^pipeobs_logs_lines_total\{component="kafka"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };
  return { child, closed, counted, out: () => stdout, err: () => stderr };
}

/** Waits until the server has counted `n` lines, then a while longer to be sure it counts no more. */
async function countsExactly(server: ReturnType<typeof startServer>, n: number, what: string): Promise<void> {
  await waitFor(`${what}: ${n} lines counted`, async () => (await server.counted()) >= n, 30_000);
  await new Promise((r) => setTimeout(r, 1500)); // more than a rescan
  assert.equal(await server.counted(), n, what);
}

for (const input of ['logs', 'logs/*.log*']) test(`kill -9 between rotations (rename and copytruncate, while running and while stopped), input ${input}: every line counted once`, async () => {
  const dir = tempDir();
  const logs = path.join(dir, 'logs');
  mkdirSync(logs);
  const stateFile = path.join(dir, 'state.json');
  const app = path.join(logs, 'app.log'); // rotated by renaming (Python's RotatingFileHandler, ~40 lines a file)
  const svc = path.join(logs, 'svc.log'); // rotated by logrotate copytruncate
  let appNext = 0;
  let svcNext = 0;
  const writeApp = (n: number) => {
    pythonLogWrite(app, appNext, n, 6000, 't');
    appNext += n;
  };
  const writeSvc = (n: number) => {
    pythonLogWrite(svc, svcNext, n, 0, 't');
    svcNext += n;
  };
  writeApp(50);
  writeSvc(50);
  let countedBefore = 0;
  for (let run = 1; run <= 3; run++) {
    const server = startServer(dir, stateFile, input);
    try {
      await countsExactly(server, appNext + svcNext - countedBefore, `run ${run}, at start`);
      // While running: rotations of both kinds, with lines before and after each.
      for (let step = 0; step < 3; step++) {
        writeApp(60);
        writeSvc(30);
        logrotateCopytruncate(svc);
        writeSvc(20);
        await new Promise((r) => setTimeout(r, 200));
      }
      await countsExactly(server, appNext + svcNext - countedBefore, `run ${run}, after rotations while running`);
      await new Promise((r) => setTimeout(r, 300)); // the pass that counted them has saved the state
    } finally {
      server.child.kill('SIGKILL');
      await server.closed;
    }
    assert.doesNotMatch(server.err(), /warning/, server.err());
    countedBefore = appNext + svcNext;
    // While stopped: more lines and rotations of both kinds.
    writeApp(45);
    writeSvc(25);
    logrotateCopytruncate(svc);
    writeSvc(300); // longer than before the truncate: the offset alone would be trusted
  }
  // Last run stopped by SIGTERM: its final report counts exactly what was written since the last kill.
  const server = startServer(dir, stateFile, input);
  await countsExactly(server, appNext + svcNext - countedBefore, 'last run');
  server.child.kill('SIGTERM');
  assert.equal(await server.closed, 0, server.err());
  const reports = server.out().trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(reports[reports.length - 1].summary.lines_used, appNext + svcNext - countedBefore);
  assert.ok(readdirSync(logs).filter((n) => n.startsWith('app.log.')).length >= 8 && readdirSync(logs).filter((n) => n.startsWith('svc.log.')).length === 12, readdirSync(logs).join(' '));
});

test('a corrupt state file stops --server with a configuration error naming the field (exit 3), not a crash', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'app.log'), kafka(0, 0));
  const stateFile = path.join(dir, 'state.json');
  const entry = { path: path.join(dir, 'app.log'), dev: 1, ino: 2, offset: 0, line: 0, fp: 'c'.repeat(32), fp_bytes: 0 };
  for (const [bad, message] of [
    [{ offset: 10.5 }, 'files\\[0\\]\\.offset is 10\\.5, not a whole number ≥ 0'],
    [{ offset: 'abc' }, 'files\\[0\\]\\.offset is "abc", not a whole number ≥ 0'],
  ] as const) {
    writeFileSync(stateFile, JSON.stringify({ version: 2, files: [{ ...entry, ...bad }] }));
    const r = await runCli(['monitor-logs', 'app.log', '--server', '--port', '0', '--state-file', stateFile], { cwd: dir });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`the state file ${stateFile.replace(/[.]/g, '\\.')} is not valid: ${message}`));
    assert.match(r.stderr, /hint: move it away to start over/);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  }
});
