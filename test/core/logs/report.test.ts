/**
 * The report's numbers against an independent computation over the same lines: JSON.parse,
 * exact sorting for percentiles, plain arithmetic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateLogLines } from '../../../src/core/logs/generate.js';
import { LogReader } from '../../../src/core/logs/reader.js';
import { buildReport, reportTable, type HourRow } from '../../../src/core/logs/report.js';

const START = Date.UTC(2026, 2, 1);
const window = { sinceMs: START + 3_600_000, untilMs: START + 7 * 3_600_000 };

interface Acc { lines: number; records: number; errors: number; lat: number[]; lag: Array<[number, number]>; mps: number[]; conf: number[]; success: number; failed: number; retry: number }
const acc = (): Acc => ({ lines: 0, records: 0, errors: 0, lat: [], lag: [], mps: [], conf: [], success: 0, failed: 0, retry: 0 });

function independent(lines: string[]): Map<string, Acc> {
  const out = new Map<string, Acc>();
  for (const line of lines) {
    let ts: number, key: string, a: Acc;
    const get = (k: string) => {
      let v = out.get(k);
      if (!v) out.set(k, (v = acc()));
      return v;
    };
    if (line.startsWith('[')) {
      const m = /^\[(\d{4})-(\d\d)-(\d\d), (\d\d):(\d\d):(\d\d) UTC\] \{[^}]+\} (\w+) - (.*)$/.exec(line)!;
      ts = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
      if (ts < window.sinceMs || ts >= window.untilMs) continue;
      const msg = m[8];
      key = `airflow|${/dag_id=([^,\s]+)/.exec(msg)![1]}|${/task_id=([^,\s]+)/.exec(msg)![1]}|${Math.floor(ts / 3.6e6)}`;
      a = get(key);
      a.errors += m[7] === 'ERROR' ? 1 : 0;
      airflowMessage(msg, a);
    } else {
      const o = JSON.parse(line);
      ts = Date.parse(o.timestamp);
      if (ts < window.sinceMs || ts >= window.untilMs) continue;
      const hour = Math.floor(ts / 3.6e6);
      if ('consumer_lag' in o) {
        a = get(`kafka|${o.topic}|${o.partition}|${o.consumer_group}|${hour}`);
        a.records += 1;
        a.lat.push(o.latency_ms);
        a.lag.push([ts, o.consumer_lag]);
        a.mps.push(o.messages_per_second);
      } else if ('confidence' in o) {
        a = get(`ml|${o.service}|${o.model_version}|${hour}`);
        a.records += 1;
        a.lat.push(o.latency_ms);
        a.conf.push(o.confidence);
      } else {
        a = get(`airflow|${o.dag_id}|${o.task_id}|${hour}`);
        airflowMessage(o.message, a);
      }
      a.errors += o.level === 'ERROR' ? 1 : 0;
    }
    a.lines++;
  }
  return out;
}

function airflowMessage(msg: string, a: Acc) {
  const rec = /records_processed=(\d+)/.exec(msg);
  if (rec) a.records += Number(rec[1]);
  const dur = /duration=([\d.]+)/.exec(msg);
  const outcome = /Marking task as (SUCCESS|FAILED|UP_FOR_RETRY)/.exec(msg);
  if (outcome) a[outcome[1] === 'SUCCESS' ? 'success' : outcome[1] === 'FAILED' ? 'failed' : 'retry']++;
  if (dur) a.lat.push(Number(dur[1]) * 1000);
  else if (outcome) {
    const t = (s: string) => Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(9, 11), +s.slice(11, 13), +s.slice(13, 15));
    a.lat.push(t(/end_date=(\w+)/.exec(msg)![1]) - t(/start_date=(\w+)/.exec(msg)![1]));
  }
}

/** Up to 64 values: numpy's default, linear between the values around rank q·(n−1); past that the value at ⌊rank⌋ (what the sketch estimates within 1%). */
function percentile(sorted: number[], q: number): number {
  const rank = q * (sorted.length - 1);
  const lo = Math.floor(rank);
  if (sorted.length > 64 || lo === rank) return sorted[lo];
  return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (rank - lo);
}

const near = (got: number | null, want: number, rel: number, what: string) => assert.ok(got !== null && Math.abs(got - want) <= rel * Math.abs(want) + 0.0011, `${what}: ${got} vs ${want}`);

test('every row of the report matches an independent computation over the same lines', async () => {
  const text = [...generateLogLines({ formats: ['kafka', 'ml', 'airflow', 'airflow-text'], lines: 40_000, startMs: START, endMs: START + 8 * 3_600_000, errorRate: 0.04, lag: 'growing', confidenceDrift: 0.3, seed: 21 })].join('');
  const lines = text.split('\n').filter(Boolean);
  const want = independent(lines);
  const reader = new LogReader({ mappings: [], window, components: null, maxGroups: 1000, lowConfidence: 0.7, maxLineBytes: 1 << 20 });
  const input = await reader.readStream((async function* () { yield Buffer.from(text); })(), 'gen.log');
  const report = buildReport(reader, [input], window, new Date(window.untilMs));
  assert.equal(report.summary.lines_read, lines.length);
  assert.equal(report.summary.lines_skipped, report.skipped.by_reason.find((b) => b.reason === 'outside_window')!.count, 'only lines outside the window are skipped');
  assert.equal(report.rows.length, want.size);
  const keyOf = (r: HourRow) => `${r.component}|${Object.values(r.group).join('|')}|${Date.parse(r.hour) / 3.6e6}`;
  for (const row of report.rows) {
    const k = keyOf(row);
    const w = want.get(k);
    assert.ok(w, `unexpected row ${k}`);
    assert.equal(row.lines, w.lines, `${k} lines`);
    assert.equal(row.records, w.records, `${k} records`);
    assert.equal(row.errors, w.errors, `${k} errors`);
    near(row.error_rate_pct, (100 * w.errors) / w.lines, 0, `${k} error rate`);
    assert.equal(row.latency_ms.count, w.lat.length, `${k} latency count`);
    const sorted = [...w.lat].sort((a, b) => a - b);
    if (sorted.length) {
      near(row.latency_ms.mean, sorted.reduce((x, y) => x + y, 0) / sorted.length, 1e-9, `${k} mean latency`);
      for (const [q, got] of [[0.5, row.latency_ms.p50], [0.95, row.latency_ms.p95], [0.99, row.latency_ms.p99]] as const) {
        near(got, percentile(sorted, q), 0.01, `${k} p${q * 100}`);
      }
      assert.equal(row.latency_ms.max, sorted[sorted.length - 1]);
    }
    if (w.lag.length) {
      const byTime = [...w.lag].sort((a, b) => a[0] - b[0]);
      assert.equal(row.lag!.last, byTime[byTime.length - 1][1], `${k} last lag`);
      assert.equal(row.lag!.max, Math.max(...w.lag.map((x) => x[1])), `${k} max lag`);
      near(row.lag!.avg, w.lag.reduce((x, y) => x + y[1], 0) / w.lag.length, 1e-9, `${k} avg lag`);
      near(row.throughput_mps!.avg, w.mps.reduce((x, y) => x + y, 0) / w.mps.length, 1e-9, `${k} throughput`);
    } else assert.equal(row.lag, null);
    if (w.conf.length) {
      const c = [...w.conf].sort((a, b) => a - b);
      near(row.confidence!.mean, c.reduce((x, y) => x + y, 0) / c.length, 1e-4, `${k} confidence mean`);
      near(row.confidence!.p5, percentile(c, 0.05), 0.01, `${k} confidence p5`);
      assert.equal(row.confidence!.low_count, c.filter((x) => x < 0.7).length, `${k} low confidence`);
    } else assert.equal(row.confidence, null);
    assert.deepEqual(row.tasks, { success: w.success, failed: w.failed, retry: w.retry }, `${k} tasks`);
  }
  // The component totals are the sums of their rows, and each hour of the window is listed.
  for (const c of report.components) {
    const rows = report.rows.filter((r) => r.component === c.component);
    assert.equal(c.lines, rows.reduce((a, r) => a + r.lines, 0));
    assert.equal(c.hours.length, 6);
    assert.equal(c.hours.reduce((a, h) => a + h.records, 0), c.records);
  }
  assert.equal(reportTable(report).rows.length, report.rows.length);
});

test('groups beyond --max-groups go to "other", counted and reported', async () => {
  const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ timestamp: '2026-03-01T02:00:00Z', consumer_lag: i, topic: `topic-${i}`, partition: 0, consumer_group: 'g' }));
  const reader = new LogReader({ mappings: [], window, components: null, maxGroups: 10, lowConfidence: 0.7, maxLineBytes: 4096 });
  const input = await reader.readStream((async function* () { yield Buffer.from(lines.join('\n') + '\n' + lines.join('\n')); })(), 'burst.log');
  const report = buildReport(reader, [input], window, new Date(window.untilMs));
  const kafka = report.components[0];
  assert.equal(kafka.groups.length, 11);
  assert.equal(kafka.overflow_groups, 40);
  const other = kafka.groups.find((g) => g.group.topic === 'other')!;
  assert.equal(other.lines, 80);
  assert.equal(other.lag!.max, 49);
  assert.equal(kafka.lines, 100);
});
