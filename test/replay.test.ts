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
  summary: RunSummary;
  /** Timestamp (ms) of the push that carried the run's results. */
  pushedAt: number;
}

let vm: VictoriaMetrics;
const runs = new Map<Scenario, Run[]>();
let alerts: { alertname: string; pipeline_name: string; alertstate: string; timestamps: number[] }[] = [];
let replaySeconds = 0;

/** One cron-style run of run-pipeline at the given simulated time: the clock starts there and runs at real speed. */
async function runAt(scenario: Scenario, hour: number, cwd: string): Promise<RunSummary> {
  const simStart = runStart(hour);
  const real0 = performance.now();
  const now = () => new Date(simStart + (performance.now() - real0));
  const args = ['run-pipeline', '--once', '--rows', '100', '--seed', String(hour + 1), '--push', 'prometheus', '--no-metrics-server',
    '--pipeline-name', scenario, '-o', 'json'];
  if (scenario === 'quality' && hour >= 12) args.push('--inject-errors', '0.8');
  // A run that fails in its first stage: its output directory lies under a file.
  args.push('--output-dir', scenario === 'failing' && hour === 10 ? path.join(cwd, 'a-file', 'out') : path.join(cwd, 'out'));
  const r = await runCli(args, { cwd, now, env: { PIPEOBS_VM_URL: vm.url } });
  const doc = JSON.parse(r.stdout) as RunPipelineResult;
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
      assert.ok(run.pushedAt >= Date.parse(run.summary.finishedAt) && run.pushedAt - Date.parse(run.summary.finishedAt) < 5000, `${scenario} ${run.hour}: pushed at ${run.pushedAt}`);
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
  const noSuccess = assertFiredAt('failing', 'PipelineNoSuccessfulRun', Date.parse(prev.summary.finishedAt) + H, MIN);
  assert.ok(noSuccess.at(-1)! < next.pushedAt + EVAL, 'resolved by the next success');
  // Data age = freshness at load + time since that run, past the 75-minute SLA.
  assertFiredAt('failing', 'PipelineDataStale', Date.parse(prev.summary.finishedAt) + 4500_000 - prev.summary.freshnessSeconds! * 1000, MIN);
  assert.deepEqual([...firingOf('failing').keys()].sort(), ['PipelineDataStale', 'PipelineNoSuccessfulRun', 'PipelineRunsFailing']);
});

test('a quality drop fires PipelineQualityLow and PipelineErrorRateSpike a minute after the first bad run is pushed', () => {
  const list = runs.get('quality')!;
  const bad = list.find((r) => r.hour === 12)!;
  const prev = list.find((r) => r.hour === 11)!;
  assert.ok(bad.summary.quality!.score < 95 && prev.summary.quality!.score >= 95, `${prev.summary.quality!.score} then ${bad.summary.quality!.score}`);
  // Row errors of the runs in the hour before the push, per extracted row: over 5%.
  const rowErrors = (r: Run) => r.summary.errors.reduce((n, e) => n + e.count, 0);
  assert.ok(rowErrors(bad) / (bad.summary.rowsRequested + prev.summary.rowsRequested) > 0.05);
  assertFiredAt('quality', 'PipelineQualityLow', bad.pushedAt, MIN);
  assertFiredAt('quality', 'PipelineErrorRateSpike', bad.pushedAt, MIN);
  assert.deepEqual([...firingOf('quality').keys()].sort(), ['PipelineErrorRateSpike', 'PipelineQualityLow']);
});

test('a pipeline that stops is not forgotten: PipelineNoSuccessfulRun an hour after its last success, PipelineDataStale past the data-age SLA, firing to the end of the day', () => {
  const list = runs.get('stopped')!;
  const last = list.at(-1)!;
  assert.equal(last.hour, 11);
  const noSuccess = assertFiredAt('stopped', 'PipelineNoSuccessfulRun', Date.parse(last.summary.finishedAt) + H, MIN);
  const stale = assertFiredAt('stopped', 'PipelineDataStale', Date.parse(last.summary.finishedAt) + 4500_000 - last.summary.freshnessSeconds! * 1000, MIN);
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
