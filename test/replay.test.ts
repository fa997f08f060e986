/**
 * Batch-job semantics, tested by replaying time. A day of history is made by pipeobs itself:
 * run-pipeline runs once an hour, as cron would start it, each with an injected clock set to its
 * hour, pushing real samples with those past timestamps into a real VictoriaMetrics. Then the real
 * `vmalert -replay.timeFrom … -replay.timeTo …` evaluates the shipped rules over that day and writes
 * the ALERTS series back; which alert fired, and when, is read from them. Expected times come from
 * the runs' own summaries and push times, not from pipeobs' queries.
 *
 * Four pipelines share the day:
 *   healthy  24 clean hourly runs: nothing may fire, all day
 *   failing  as healthy, but the run at 10:02 fails (its output directory cannot be created)
 *   quality  as healthy until 12:00, then every run has 80% defective orders
 *   stopped  runs until 11:02, then nothing
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from './helpers/cli.js';
import { requireBinary, startVictoriaMetrics, type VictoriaMetrics } from './helpers/victoria.js';
import type { RunPipelineResult } from '../src/commands/run-pipeline.js';
import type { RunSummary } from '../src/core/pipeline/run.js';
import type { JsonCase } from '../src/core/output/render.js';
import { quantile } from './helpers/known-data.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const H = 3_600_000;
const MIN = 60_000;
const EVAL = 30_000; // the rule groups' interval
/** 00:00 of the simulated day: a whole hour, 30 hours ago. */
const DAY0 = Math.floor(Date.now() / H) * H - 30 * H;
const runStart = (hour: number) => DAY0 + hour * H + 2 * MIN;
const DAY_END = DAY0 + 24 * H;

type Scenario = 'healthy' | 'failing' | 'quality' | 'stopped';
const SCENARIOS: Scenario[] = ['healthy', 'failing', 'quality', 'stopped'];
const runsOf = (s: Scenario) => (s === 'stopped' ? 12 : 24);

interface Run {
  hour: number;
  summary: JsonCase<RunSummary>;
  /** Timestamp (ms) of the push that carried the run's results. */
  pushedAt: number;
}

let vm: VictoriaMetrics;
const runs = new Map<Scenario, Run[]>();
let alerts: { alertname: string; pipeline_name: string; alertstate: string; timestamps: number[] }[] = [];
let replaySeconds = 0;

/** One cron-style run of run-pipeline at the given simulated time: the clock starts there and runs at real speed. */
async function runAt(scenario: Scenario, hour: number, cwd: string): Promise<JsonCase<RunSummary>> {
  const simStart = runStart(hour);
  const real0 = performance.now();
  const now = () => new Date(simStart + (performance.now() - real0));
  const args = ['run-pipeline', '--once', '--rows', '100', '--seed', String(hour + 1), '--push', 'prometheus', '--no-metrics-server',
    '--pipeline-name', scenario, '-o', 'json'];
  if (scenario === 'quality' && hour >= 12) args.push('--inject-errors', '0.8');
  // A run that fails in its first stage: its output directory lies under a file.
  args.push('--output-dir', scenario === 'failing' && hour === 10 ? path.join(cwd, 'a-file', 'out') : path.join(cwd, 'out'));
  const r = await runCli(args, { cwd, now, env: { PIPEOBS_VM_URL: vm.url } });
  const doc = JSON.parse(r.stdout) as JsonCase<RunPipelineResult>;
  const summary = doc.runs[0];
  const shouldFail = scenario === 'failing' && hour === 10;
  assert.equal(summary.status, shouldFail ? 'failed' : 'success', `${scenario} ${hour}: ${r.stderr}`);
  assert.equal(r.code, shouldFail ? 1 : 0, r.stderr);
  assert.ok(doc.metrics.push.pushes.every((p) => p.sent));
  return summary;
}

before(async () => {
  vm = await startVictoriaMetrics(['-search.disableCache']);
  const t0 = performance.now();
  await Promise.all(SCENARIOS.map(async (scenario) => {
    const cwd = tempDir(`pipeobs-replay-${scenario}-`);
    writeFileSync(path.join(cwd, 'a-file'), 'not a directory');
    const list: Run[] = [];
    for (let hour = 0; hour < runsOf(scenario); hour++) list.push({ hour, summary: await runAt(scenario, hour, cwd), pushedAt: 0 });
    // The push after each run is the only one with the run's duration: its timestamps are the push times.
    const pushed = await vm.exportWhen(`pipeline_last_run_duration_seconds{pipeline_name="${scenario}"}`, (r) => r.length === 1 && r[0].timestamps.length === list.length);
    for (const [i, run] of list.entries()) {
      run.pushedAt = pushed[0].timestamps[i];
      assert.ok(run.pushedAt >= Date.parse(run.summary.finished_at) && run.pushedAt - Date.parse(run.summary.finished_at) < 5000, `${scenario} ${run.hour}: pushed at ${run.pushedAt}`);
    }
    runs.set(scenario, list);
  }));
  process.stderr.write(`a day of runs made in ${Math.round(performance.now() - t0)} ms\n`);

  // The real vmalert, replaying the day with the shipped rules.
  const vmalert = requireBinary('vmalert');
  const t1 = performance.now();
  const log = await new Promise<string>((resolve, reject) => {
    const p = spawn(vmalert, [
      `-rule=${path.join(root, 'deploy', 'alerts', '*.yml')}`,
      `-datasource.url=${vm.url}`,
      `-remoteWrite.url=${vm.url}`,
      `-replay.timeFrom=${new Date(DAY0).toISOString()}`,
      `-replay.timeTo=${new Date(DAY_END).toISOString()}`,
      '-replay.disableProgressBar',
      // The SLA recording rules feed alerts several rules later: a second after each rule lets their series become searchable.
      '-replay.rulesDelay=1s',
      '-remoteWrite.flushInterval=100ms',
      // Evaluate every 30 s, as the groups say (by default a replay steps by -datasource.queryStep, 5m).
      '-datasource.queryStep=30s',
      '-loggerLevel=WARN',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`vmalert replay exited ${code}: ${out.slice(-3000)}`))));
  });
  replaySeconds = (performance.now() - t1) / 1000;
  process.stderr.write(`vmalert replay of the day in ${replaySeconds.toFixed(1)} s\n`);
  await vm.flush();
  await new Promise((r) => setTimeout(r, 1500));
  const series = await vm.exportSeries('ALERTS');
  assert.ok(series.length > 0, `no ALERTS written; vmalert said: ${log.slice(-3000)}`);
  alerts = series.map((s) => ({ alertname: s.metric.alertname, pipeline_name: s.metric.pipeline_name, alertstate: s.metric.alertstate, timestamps: s.timestamps }));
});

after(async () => {
  await vm?.cleanup();
});

/** The first evaluation (a multiple of EVAL from DAY0) at or after t. */
const nextEval = (t: number) => DAY0 + Math.ceil((t - DAY0) / EVAL) * EVAL;

function firingOf(pipeline: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const a of alerts) if (a.pipeline_name === pipeline && a.alertstate === 'firing') out.set(a.alertname, [...(out.get(a.alertname) ?? []), ...a.timestamps].sort((x, y) => x - y));
  return out;
}

/** Asserts the alert first fired at the first evaluation at or after `from` + `forMs`, within one evaluation interval. */
function assertFiredAt(pipeline: string, alertname: string, conditionFrom: number, forMs: number) {
  const times = firingOf(pipeline).get(alertname);
  assert.ok(times, `${alertname} did not fire for ${pipeline}; fired: ${JSON.stringify([...firingOf(pipeline).keys()])}`);
  const expected = nextEval(conditionFrom) + forMs;
  assert.ok(times[0] >= expected - 1000 && times[0] <= expected + EVAL, `${alertname} for ${pipeline} first fired at ${new Date(times[0]).toISOString()}, expected ${new Date(expected).toISOString()} (condition from ${new Date(conditionFrom).toISOString()})`);
  return times;
}

const lastSuccess = (list: Run[], before = Infinity) => list.filter((r) => r.summary.status === 'success' && r.pushedAt < before).at(-1)!;

test('the replay of a day with every shipped rule takes under 60 s', () => {
  assert.ok(replaySeconds > 0 && replaySeconds < 60, `${replaySeconds} s`);
});

test('a healthy day: nothing fires for the pipeline that ran every hour', () => {
  const healthy = runs.get('healthy')!;
  assert.equal(healthy.length, 24);
  assert.ok(healthy.every((r) => r.summary.quality!.score === 100 && r.summary.errors.length === 0));
  assert.deepEqual([...firingOf('healthy').keys()], []);
});

test('a failed run fires PipelineRunsFailing at its push; the two-hour gap without success fires PipelineNoSuccessfulRun and PipelineDataStale', () => {
  const list = runs.get('failing')!;
  const failed = list.find((r) => r.summary.status === 'failed')!;
  assert.equal(failed.hour, 10);
  assertFiredAt('failing', 'PipelineRunsFailing', failed.pushedAt, 0);
  const prev = lastSuccess(list, failed.pushedAt);
  const next = list.find((r) => r.hour === 11)!;
  // No success between 09:02 and 11:02: past the 1 h SLA (plus `for: 1m`), until the 11:02 run.
  const noSuccess = assertFiredAt('failing', 'PipelineNoSuccessfulRun', Date.parse(prev.summary.finished_at) + H, MIN);
  assert.ok(noSuccess.at(-1)! < next.pushedAt + EVAL, 'resolved by the next success');
  // Data age = freshness at load + time since that run, past the 75-minute SLA.
  assertFiredAt('failing', 'PipelineDataStale', Date.parse(prev.summary.finished_at) + 4500_000 - prev.summary.freshness_seconds! * 1000, MIN);
  assert.deepEqual([...firingOf('failing').keys()].sort(), ['PipelineDataStale', 'PipelineNoSuccessfulRun', 'PipelineRunsFailing']);
});

test('a quality drop fires PipelineQualityLow and PipelineErrorRateSpike a minute after the first bad run is pushed', () => {
  const list = runs.get('quality')!;
  const bad = list.find((r) => r.hour === 12)!;
  const prev = list.find((r) => r.hour === 11)!;
  assert.ok(bad.summary.quality!.score < 95 && prev.summary.quality!.score >= 95, `${prev.summary.quality!.score} then ${bad.summary.quality!.score}`);
  // Row errors of the runs in the hour before the push, per extracted row: over 5%.
  const rowErrors = (r: Run) => r.summary.errors.reduce((n, e) => n + e.count, 0);
  assert.ok(rowErrors(bad) / (bad.summary.rows_requested + prev.summary.rows_requested) > 0.05);
  assertFiredAt('quality', 'PipelineQualityLow', bad.pushedAt, MIN);
  assertFiredAt('quality', 'PipelineErrorRateSpike', bad.pushedAt, MIN);
  assert.deepEqual([...firingOf('quality').keys()].sort(), ['PipelineErrorRateSpike', 'PipelineQualityLow']);
});

test('a pipeline that stops is not forgotten: PipelineNoSuccessfulRun an hour after its last success, PipelineDataStale past the data-age SLA, firing to the end of the day', () => {
  const list = runs.get('stopped')!;
  const last = list.at(-1)!;
  assert.equal(last.hour, 11);
  const noSuccess = assertFiredAt('stopped', 'PipelineNoSuccessfulRun', Date.parse(last.summary.finished_at) + H, MIN);
  const stale = assertFiredAt('stopped', 'PipelineDataStale', Date.parse(last.summary.finished_at) + 4500_000 - last.summary.freshness_seconds! * 1000, MIN);
  for (const times of [noSuccess, stale]) {
    assert.ok(times.at(-1)! >= DAY_END - EVAL, 'still firing at the end of the day');
    // fired at every evaluation since it started: no gap where the pipeline was forgotten (vmalert's
    // replay may miss the one evaluation on the border between two of its range requests)
    const gaps = times.slice(1).map((t, i) => [times[i], t - times[i]]).filter(([, g]) => g > EVAL);
    // (requests of -replay.maxDatapointsPerQuery=1000 evaluations: the borders are DAY0 + k × 1000 × EVAL)
    assert.ok(gaps.every(([t, g]) => g === 2 * EVAL && (t - DAY0) % (1000 * EVAL) === 0), `gaps: ${gaps.map(([t, g]) => `${new Date(t).toISOString()} +${g / 1000}s`).join(', ')}`);
  }
  assert.deepEqual([...firingOf('stopped').keys()].sort(), ['PipelineDataStale', 'PipelineNoSuccessfulRun']);
});

test('no alert fired without a pipeline, nor for any pipeline outside these scenarios', () => {
  const others = alerts.filter((a) => a.alertstate === 'firing' && !SCENARIOS.includes(a.pipeline_name as Scenario));
  assert.deepEqual(others.map((a) => a.alertname), []);
});

// ---- The dashboards over the same day: every panel of the pipeline dashboard, evaluated as Grafana
// would at chosen moments ($__range 6h, $__rate_interval 5m), against values from the runs' summaries.

type Point = { labels: Record<string, string>; value: number; tolerance?: number };
const RANGE = 6 * H;
const RATE = 5 * MIN;

/** What each panel must show at time t for a pipeline's runs (the runs pushed by then). */
function expectedPanels(all: Run[], t: number): Map<string, Point[] | null> {
  const done = all.filter((r) => r.pushedAt <= t);
  const inRange = done.filter((r) => r.pushedAt > t - RANGE);
  const justRan = done.filter((r) => r.pushedAt > t - RATE);
  const lastOk = done.filter((r) => r.summary.status === 'success').at(-1)!;
  const lastQuality = done.filter((r) => r.summary.quality).at(-1)!;
  const sum = (rs: Run[], f: (r: Run) => number) => rs.reduce((n, r) => n + f(r), 0);
  const stageRows = (r: Run, stage: string) => r.summary.stages.find((s) => s.stage === stage)?.rows_out ?? 0;
  const stageSeconds = (r: Run, stage: string) => r.summary.stages.find((s) => s.stage === stage)?.seconds ?? 0;
  const stages = ['extract', 'transform', 'quality', 'load'];
  const errorSeries = [...new Set(all.flatMap((r) => r.summary.errors.map((e) => `${e.stage}/${e.error_type}`)))];
  const byStageType = (rs: Run[]) => allErrorKeys().map((k) => {
    const [stage, error_type] = k.split('/');
    return { labels: { stage, error_type }, value: sum(rs, (r) => r.summary.errors.filter((e) => `${e.stage}/${e.error_type}` === k).reduce((n, e) => n + e.count, 0)) };
  });
  // every (stage, error_type) series a run creates at 0, whatever happened
  const allErrorKeys = () => [...new Set([...errorSeries, 'transform/type_conversion', 'transform/exact_duplicate',
    ...['null_required', 'out_of_range', 'duplicate_key', 'unknown_foreign_key', 'future_timestamp'].map((c) => `quality/${c}`),
    ...stages.map((s) => `${s}/stage_failure`)])];
  const reasons = ['type_conversion', 'exact_duplicate', 'null_required', 'out_of_range', 'duplicate_key', 'unknown_foreign_key', 'future_timestamp'];
  // Stage times are known to the millisecond (the summary rounds them): throughput and quantiles within that.
  const ms = 0.0005;
  const m = new Map<string, Point[] | null>();
  m.set('Rows loaded', [{ labels: {}, value: sum(inRange, (r) => r.summary.output.rows) }]);
  m.set('Quality score', [{ labels: {}, value: lastQuality.summary.quality!.score }]);
  m.set('Errors', [{ labels: {}, value: sum(inRange, (r) => r.summary.errors.reduce((n, e) => n + e.count, 0)) }]);
  m.set('Failed runs', [{ labels: {}, value: inRange.filter((r) => r.summary.status === 'failed').length }]);
  m.set('Data freshness at load', [{ labels: {}, value: lastOk.summary.freshness_seconds! }]);
  m.set('Since last success', [{ labels: {}, value: (t - Date.parse(lastOk.summary.finished_at)) / 1000, tolerance: 1e-3 }]);
  const ran = justRan.filter((r) => r.summary.status === 'success');
  m.set('Throughput by stage (rows per second of stage time)', ran.length === 0 ? [] : stages.map((stage) => {
    const rows = sum(ran, (r) => stageRows(r, stage));
    const secs = sum(ran, (r) => stageSeconds(r, stage));
    return { labels: { stage }, value: rows / secs, tolerance: rows / (secs - ms * ran.length) - rows / secs };
  }));
  for (const [title, q] of [['p50 stage duration', 0.5], ['p95 stage duration', 0.95]] as const) {
    m.set(title, ran.length !== 1 ? (ran.length === 0 ? [] : null) : stages.map((stage) => {
      const s = stageSeconds(ran[0], stage);
      const lo = quantile(q, [Math.max(1e-6, s - ms)]);
      const hi = quantile(q, [s + ms]);
      // across a bucket bound the quantile jumps: then only the bucket is certain
      return { labels: { stage }, value: (lo + hi) / 2, tolerance: (hi - lo) / 2 + 1e-9 };
    }));
  }
  m.set('Quality score by check', ['overall', ...lastQuality.summary.quality!.checks.map((c) => c.check)].map((check_type) => ({
    labels: { check_type }, value: check_type === 'overall' ? lastQuality.summary.quality!.score : lastQuality.summary.quality!.checks.find((c) => c.check === check_type)!.score,
  })));
  // Between runs a bar panel has no points (nothing was pushed in the window): nothing happened.
  m.set('Errors by stage and type', justRan.length === 0 ? [] : byStageType(justRan));
  m.set('Quarantined rows by reason', reasons.map((reason) => ({ labels: { reason }, value: sum(inRange, (r) => r.summary.quarantine.by_reason[reason] ?? 0) })));
  m.set('Rows per pipeline, stage and environment', stages.map((stage) => ({ labels: { environment: 'dev', stage }, value: sum(inRange, (r) => stageRows(r, stage)) })));
  m.set('Stage breakdown (time spent)', stages.map((stage) => ({ labels: { stage }, value: sum(inRange, (r) => stageSeconds(r, stage)), tolerance: ms * inRange.length + 1e-9 })));
  m.set('Runs by status', justRan.length === 0 ? [] : ['success', 'failed', 'abandoned'].map((status) => ({ labels: { status }, value: justRan.filter((r) => r.summary.status === status).length })));
  m.set('Output size', [{ labels: { dataset: 'orders' }, value: lastOk.summary.output.bytes }, { labels: { dataset: 'quarantine' }, value: done.at(-1)!.summary.quarantine.bytes }]);
  for (const llm of ['LLM requests by model and outcome', 'Tokens used', 'LLM latency p95', 'LLM errors']) m.set(llm, []);
  return m;
}

const dashboard = JSON.parse(readFileSync(path.join(root, 'dashboards', 'pipeline-observability.json'), 'utf8')) as { panels: { type: string; title: string; targets?: { expr: string }[] }[] };

async function assertPanels(pipeline: Scenario, t: number, what: string) {
  const expected = expectedPanels(runs.get(pipeline)!, t);
  const panels = dashboard.panels.filter((p) => p.type !== 'row');
  assert.deepEqual(panels.map((p) => p.title).sort(), [...expected.keys()].sort(), 'every panel has an expectation');
  for (const p of panels) {
    const want = expected.get(p.title);
    if (want === null) continue;
    const expr = p.targets![0].expr.replaceAll('$pipeline', pipeline).replaceAll('$environment', 'dev').replaceAll('$__range', '6h').replaceAll('$__rate_interval', '5m');
    const got = (await vm.query(expr, t / 1000)).filter((r) => r.value[1] !== 'NaN');
    const key = (l: Record<string, string>) => JSON.stringify(Object.entries(l).filter(([k]) => k !== 'pipeline_name').sort());
    const gotBy = new Map(got.map((r) => [key(r.metric), Number(r.value[1])]));
    assert.deepEqual([...gotBy.keys()].sort(), want!.map((w) => key(w.labels)).sort(), `${what}: "${p.title}" series: ${JSON.stringify(got)}`);
    for (const w of want!) {
      const v = gotBy.get(key(w.labels))!;
      assert.ok(Math.abs(v - w.value) <= (w.tolerance ?? 1e-9 * Math.max(1, Math.abs(w.value))), `${what}: "${p.title}" ${key(w.labels)} is ${v}, expected ${w.value}${w.tolerance ? ` ± ${w.tolerance}` : ''}`);
    }
  }
}

test('every panel of the pipeline dashboard shows the right value right after a run, 30 minutes after the last run, and hours after a pipeline stopped', async () => {
  const quality = runs.get('quality')!;
  await assertPanels('quality', quality.find((r) => r.hour === 13)!.pushedAt + MIN, 'a minute after the 13:02 run of quality');
  await assertPanels('quality', quality.at(-1)!.pushedAt + 30 * MIN, '30 minutes after the last run of quality');
  const failing = runs.get('failing')!;
  await assertPanels('failing', failing.find((r) => r.hour === 10)!.pushedAt + MIN, 'a minute after the failed run');
  const stopped = runs.get('stopped')!;
  await assertPanels('stopped', stopped.at(-1)!.pushedAt + 30 * MIN, '30 minutes after the last run of stopped');
  await assertPanels('stopped', stopped.at(-1)!.pushedAt + 3.5 * H, '3.5 hours after the last run of stopped');
});
