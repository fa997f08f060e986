import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync, mkdirSync, writeFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from '../helpers/cli.js';
import { startVictoriaMetrics, freePort, waitFor, type VictoriaMetrics } from '../helpers/victoria.js';
import type { ExecResult } from '../../src/core/exec/exec.js';
import { parseMetricsFile, parsePromSample } from '../../src/core/exec/metrics-file.js';
import type { JsonCase } from '../../src/core/output/render.js';
import { parsedRun } from '../helpers/run-seam.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(root, 'bin', 'pipeobs');

let vm: VictoriaMetrics;
before(async () => {
  vm = await startVictoriaMetrics();
});
after(async () => {
  await vm?.cleanup();
});

interface ExecRun {
  code: number;
  stdout: string;
  stderr: string;
  doc: ExecResult | null;
  cwd: string;
}

async function exec(pipeline: string, args: string[], opts: { env?: Record<string, string>; cwd?: string; onSignalRegistered?: (fire: (s: 'SIGINT' | 'SIGTERM') => void) => void } = {}): Promise<ExecRun> {
  const cwd = opts.cwd ?? tempDir();
  const r = await runCli(['exec', '--pipeline', pipeline, '-o', 'json', ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PIPEOBS_VM_URL: vm.url, ...opts.env },
    onSignalRegistered: opts.onSignalRegistered,
  });
  return { ...r, doc: r.stdout ? (JSON.parse(r.stdout) as JsonCase<ExecResult>) : null, cwd };
}

/**
 * Waits until the query gives one series with the expected value (a run pushes 0 first, then its
 * value: right after the push, VictoriaMetrics may still answer with the 0); fails with the last answer.
 */
const expectValue = (promql: string, expected: number) => vm.queryWhen(promql, (x) => x.length === 1 && Number(x[0].value[1]) === expected);

// ---- the metrics file parser ----

test('Prometheus sample lines: success cases', () => {
  const f = (line: string, expected: unknown) => {
    assert.deepEqual(parsePromSample(line), expected, line);
    assert.deepEqual(parsePromSample(line), expected, `${line} (twice)`);
  };
  f('m 1', { name: 'm', labels: {}, value: 1 });
  f('pipeline_rows_processed_total{stage="load"} 1200', { name: 'pipeline_rows_processed_total', labels: { stage: 'load' }, value: 1200 });
  f('m{a="x\\"y",b="1\\\\2\\n",} 2.5e3 1700000000000', { name: 'm', labels: { a: 'x"y', b: '1\\2\n' }, value: 2500 });
  f('m{} NaN', { name: 'm', labels: {}, value: Number.NaN });
  f('m -Inf', { name: 'm', labels: {}, value: -Infinity });
});

test('Prometheus sample lines: failure cases name what is wrong', () => {
  const f = (line: string, hint: RegExp) => assert.match(String(parsePromSample(line)), hint, line);
  f('m', /has no value/);
  f('m abc', /value "abc" is not a number/);
  f('m{a=1} 2', /value must be in double quotes/);
  f('m{a="1" 2', /expected "," or "}"/);
  f('m{a="1} 2', /not closed/);
  f('m{a="1",a="2"} 2', /given twice/);
  f('m 1 2 3', /unexpected text/);
  f('m 1 soon', /timestamp "soon" is not an integer/);
});

test('a metrics file mixes Prometheus text and line protocol; bad lines are reported by number, the last value of a series wins', () => {
  const text = [
    '# HELP x something',
    'pipeline_rows_processed_total{stage="load"} 1200',
    '',
    'etl_batch,table=orders rows=3i,bytes=2048 1700000000000000000',
    'pipeline_data_quality_score{check_type="overall"} 99.5',
    'broken line here',
    'pipeline_rows_processed_total{stage="load"} 1300',
    'etl_batch,table=orders rows="many"',
  ].join('\n');
  const r = parseMetricsFile(text);
  assert.deepEqual(r.samples, [
    { name: 'pipeline_rows_processed_total', labels: { stage: 'load' }, value: 1300 },
    { name: 'etl_batch_rows', labels: { table: 'orders' }, value: 3 },
    { name: 'etl_batch_bytes', labels: { table: 'orders' }, value: 2048 },
    { name: 'pipeline_data_quality_score', labels: { check_type: 'overall' }, value: 99.5 },
  ]);
  assert.deepEqual(r.problems.map((p) => p.line), [6, 8]);
  assert.match(r.problems[0].reason, /^Prometheus text: broken: value "line" is not a number$/);
  assert.match(r.problems[1].reason, /line protocol: field "rows" is a string/);
  assert.equal(r.lines, 6);
});

// ---- runs, read back from VictoriaMetrics ----

test('a command that succeeds: exit 0, its figures and the run\'s metrics arrive with the pipeline\'s labels', async () => {
  const script = [
    'echo "pipeline_rows_processed_total{stage=\\"load\\",data_source=\\"orders\\"} 1200" >> "$PIPEOBS_METRICS_FILE"',
    'echo "this is not a metric" >> "$PIPEOBS_METRICS_FILE"',
    'echo "etl_batch,table=orders rows=7i" >> "$PIPEOBS_METRICS_FILE"',
    'echo "pipeline_data_quality_score{check_type=\\"overall\\"} 99.5" >> "$PIPEOBS_METRICS_FILE"',
    'echo done > out.txt',
  ].join('; ');
  const r = await exec('exec_ok', ['--stage', 'load', '--', 'sh', '-c', script]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.doc);
  assert.equal(r.doc.status, 'success');
  assert.equal(r.doc.exit_code, 0);
  assert.equal(readFileSync(path.join(r.cwd, 'out.txt'), 'utf8'), 'done\n');
  assert.match(r.stderr, /PIPEOBS_METRICS_FILE line 2: .*this is not a metric/);
  assert.deepEqual(r.doc.metrics_file.problems.map((p) => p.line), [2]);
  assert.equal(r.doc.metrics_file.samples, 3);
  assert.ok(r.doc.metrics.push.pushes.length >= 2 && r.doc.metrics.push.pushes.every((p) => p.sent));

  const sel = 'pipeline_name="exec_ok",environment="dev"';
  await expectValue(`pipeline_runs_total{${sel},status="success"}`, 1);
  await expectValue(`pipeline_runs_total{${sel},status="failed"}`, 0);
  await expectValue(`pipeline_runs_total{${sel},status="abandoned"}`, 0);
  await expectValue(`pipeline_last_success_timestamp_seconds{${sel}}`, Date.parse(r.doc.finished_at) / 1000);
  await expectValue(`pipeline_stage_duration_seconds_count{${sel},stage="load"}`, 1);
  await expectValue(`pipeline_stage_duration_seconds_sum{${sel},stage="load"}`, r.doc.duration_seconds);
  await expectValue(`pipeline_last_run_duration_seconds{${sel}}`, r.doc.duration_seconds);
  await expectValue(`pipeline_errors_total{${sel},stage="load",error_type="stage_failure"}`, 0);
  await expectValue(`pipeline_rows_processed_total{${sel},stage="load",data_source="orders"}`, 1200);
  await expectValue(`etl_batch_rows{${sel},table="orders"}`, 7);
  await expectValue(`pipeline_data_quality_score{${sel},check_type="overall"}`, 99.5);
  // counters start at 0 at the start of the run, so increase() counts this run exactly
  const runs = await vm.exportWhen(`pipeline_runs_total{${sel},status="success"}`, (x) => x.length > 0 && x[0].values.length >= 2);
  assert.deepEqual(runs[0].values, [0, 1]);
  assert.equal(runs[0].timestamps[0], Date.parse(r.doc.started_at));
  const rows = await vm.exportWhen(`pipeline_rows_processed_total{${sel}}`, (x) => x.length > 0 && x[0].values.length >= 2);
  assert.deepEqual(rows[0].values, [0, 1200]);
});

test('a command that fails: its exit code, status failed, a stage_failure error; the next success counts one more run', async () => {
  const r = await exec('exec_fail', ['--', 'sh', '-c', 'exit 3']);
  assert.equal(r.code, 3);
  assert.equal(r.doc?.status, 'failed');
  assert.equal(r.doc?.reason, 'exit_code');
  assert.match(r.stderr, /error: the command exited with code 3/);
  const sel = 'pipeline_name="exec_fail",environment="dev"';
  await expectValue(`pipeline_runs_total{${sel},status="failed"}`, 1);
  await expectValue(`pipeline_errors_total{${sel},stage="run",error_type="stage_failure"}`, 1);
  assert.deepEqual(await vm.query(`pipeline_last_success_timestamp_seconds{${sel}}`), []);

  const ok = await exec('exec_fail', ['--', 'true']);
  assert.equal(ok.code, 0);
  const end = Date.parse(ok.doc!.finished_at) / 1000 + 1;
  const inc = await vm.queryWhen(`increase(pipeline_runs_total{${sel}}[1h])`, (x) => x.length === 3);
  const byStatus = Object.fromEntries(inc.map((s) => [s.metric.status, Number(s.value[1])]));
  assert.deepEqual(byStatus, { success: 1, failed: 1, abandoned: 0 }, `at ${end}`);
});

test('a command killed by a signal: exit 128+n; SIGKILL is a failure, SIGTERM an abandoned run', async () => {
  const killed = await exec('exec_killed', ['--', 'sh', '-c', 'kill -KILL $$']);
  assert.equal(killed.code, 137);
  assert.equal(killed.doc?.status, 'failed');
  assert.equal(killed.doc?.signal, 'SIGKILL');
  assert.match(killed.stderr, /killed by SIGKILL \(exit code 137\)/);
  const termed = await exec('exec_termed', ['--', 'sh', '-c', 'kill -TERM $$']);
  assert.equal(termed.code, 143);
  assert.equal(termed.doc?.status, 'abandoned');
  await expectValue('pipeline_runs_total{pipeline_name="exec_killed",status="failed"}', 1);
  await expectValue('pipeline_runs_total{pipeline_name="exec_termed",status="abandoned"}', 1);
});

test('SIGTERM sent to pipeobs reaches the command; the run is abandoned and pipeobs exits 143', async () => {
  let fire: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
  const cwd = tempDir();
  const running = exec('exec_forward', ['--', 'sh', '-c', 'echo started > started.txt; exec sleep 30'], { cwd, onSignalRegistered: (f) => (fire = f) });
  await waitFor('the command to start', async () => existsSync(path.join(cwd, 'started.txt')) && fire !== undefined);
  const t0 = Date.now();
  fire!('SIGTERM');
  const r = await running;
  assert.ok(Date.now() - t0 < 5000, 'the command stopped at once');
  assert.equal(r.code, 143);
  assert.equal(r.doc?.status, 'abandoned');
  assert.equal(r.doc?.reason, 'interrupted');
  await expectValue('pipeline_runs_total{pipeline_name="exec_forward",status="abandoned"}', 1);
});

test('--timeout stops a command that runs too long: exit 124, status failed, error_type timeout', async () => {
  const t0 = Date.now();
  const r = await exec('exec_timeout', ['--timeout', '0.5s', '--', 'sleep', '30']);
  assert.ok(Date.now() - t0 < 10_000);
  assert.equal(r.code, 124);
  assert.equal(r.doc?.status, 'failed');
  assert.equal(r.doc?.reason, 'timeout');
  assert.ok(r.doc!.duration_seconds >= 0.5 && r.doc!.duration_seconds < 5, String(r.doc!.duration_seconds));
  assert.match(r.stderr, /ran longer than --timeout 0.5 s/);
  const sel = 'pipeline_name="exec_timeout"';
  await expectValue(`pipeline_errors_total{${sel},error_type="timeout"}`, 1);
  await expectValue(`pipeline_errors_total{${sel},error_type="stage_failure"}`, 0);
  await expectValue(`pipeline_runs_total{${sel},status="failed"}`, 1);
});

test('a command that ignores SIGTERM is killed --kill-after seconds after the timeout', async () => {
  const r = await exec('exec_stubborn', ['--timeout', '0.3s', '--kill-after', '1', '--push', 'none', '--', 'sh', '-c', 'trap "" TERM; sleep 30 & wait; sleep 30']);
  assert.equal(r.code, 124);
  assert.equal(r.doc?.signal, 'SIGKILL');
  assert.ok(r.doc!.duration_seconds >= 1.3 && r.doc!.duration_seconds < 6, String(r.doc!.duration_seconds));
});

test('a command that does not exist: exit 127, status failed, said in words', async () => {
  const r = await exec('exec_missing', ['--', 'no-such-command-pipeobs']);
  assert.equal(r.code, 127);
  assert.equal(r.doc?.reason, 'not_started');
  assert.match(r.stderr, /command not found: no-such-command-pipeobs/);
  await expectValue('pipeline_runs_total{pipeline_name="exec_missing",status="failed"}', 1);
});

test('--push influx carries the same figures', async () => {
  const r = await exec('exec_influx', ['--push', 'influx', '--', 'sh', '-c', 'echo "pipeline_rows_processed_total{stage=\\"load\\"} 5" >> "$PIPEOBS_METRICS_FILE"; echo "nounderscore 1" >> "$PIPEOBS_METRICS_FILE"']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /nounderscore.*not sent with --push influx/);
  await expectValue('pipeline_runs_total{pipeline_name="exec_influx",status="success"}', 1);
  await expectValue('pipeline_rows_processed_total{pipeline_name="exec_influx",stage="load"}', 5);
});

test('with VictoriaMetrics unreachable the command still runs and exits with its code; the samples wait in the spool', async () => {
  const cwd = tempDir();
  const down = `http://127.0.0.1:${await freePort()}`;
  const r = await exec('exec_spool', ['--', 'sh', '-c', 'exit 2'], { cwd, env: { PIPEOBS_VM_URL: down, PIPEOBS_VM_RETRIES: '0' } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot reach VictoriaMetrics .* samples kept in /s);
  // The spool keeps one directory per target; the files in it are what waits.
  const spooled = () => readdirSync(path.join(cwd, 'spool'), { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.txt'));
  assert.equal(spooled().length, 2);
  // The spool is per target: a run against another VictoriaMetrics leaves these waiting for theirs…
  const again = await exec('exec_spool', ['--', 'true'], { cwd });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(spooled().length, 2);
  // …until they are re-targeted on purpose.
  const moved = await runCli(['push-influx', '--flush-spool', '--retarget-from', down], { cwd, env: { PIPEOBS_VM_URL: vm.url, PIPEOBS_SPOOL_DIR: path.join(cwd, 'spool') } });
  assert.equal(moved.code, 0, moved.stderr);
  assert.deepEqual(spooled(), []);
  const failed = await vm.exportWhen('pipeline_runs_total{pipeline_name="exec_spool",status="failed"}', (x) => x.length > 0 && x[0].values.length >= 4);
  assert.deepEqual(failed[0].values, [0, 1, 0, 0]);
});

test('--metrics-port serves the run\'s metrics and the job\'s figures while it runs', async () => {
  const port = await freePort();
  const cwd = tempDir();
  const script = `echo "job_progress_rows 42" >> "$PIPEOBS_METRICS_FILE"; ${JSON.stringify(process.execPath)} -e "fetch('http://127.0.0.1:${port}/metrics').then(r => r.text()).then(t => require('fs').writeFileSync('scrape.txt', t))"`;
  const r = await exec('exec_serve', ['--push', 'none', '--metrics-port', String(port), '--', 'sh', '-c', script], { cwd });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.doc?.metrics.endpoint, `http://127.0.0.1:${port}/metrics`);
  const scrape = readFileSync(path.join(cwd, 'scrape.txt'), 'utf8');
  assert.match(scrape, /^pipeline_runs_total\{pipeline_name="exec_serve",environment="dev",status="success"\} 0$/m);
  assert.match(scrape, /^job_progress_rows\{pipeline_name="exec_serve",environment="dev"\} 42$/m);
  assert.match(scrape, /# TYPE pipeline_stage_duration_seconds histogram/);
});

test('--dbt-results: rows per model, failed models and tests, and the share of tests passing, from the run_results.json the run wrote', async () => {
  const cwd = tempDir();
  const results = {
    metadata: { dbt_schema_version: 'https://schemas.getdbt.com/dbt/run-results/v6.json' },
    results: [
      { unique_id: 'model.shop.orders', status: 'success', adapter_response: { rows_affected: 120 } },
      { unique_id: 'model.shop.customers', status: 'success', adapter_response: { rows_affected: 30 } },
      { unique_id: 'model.shop.broken', status: 'error', adapter_response: {} },
      { unique_id: 'seed.shop.countries', status: 'success', adapter_response: { rows_affected: 5 } },
      { unique_id: 'model.shop.later', status: 'skipped' },
      { unique_id: 'test.shop.not_null_orders_id.a1', status: 'pass', failures: 0 },
      { unique_id: 'test.shop.unique_orders_id.b2', status: 'fail', failures: 3 },
      { unique_id: 'test.shop.accepted_values_status.c3', status: 'warn', failures: 1 },
      { unique_id: 'test.shop.relationships_x.d4', status: 'skipped' },
    ],
  };
  writeFileSync(path.join(cwd, 'results.json'), JSON.stringify(results));
  // a stand-in for dbt: writes target/run_results.json and exits 1 (a model failed), as dbt does
  const r = await exec('dbt_shop', ['--stage', 'transform', '--dbt-results', 'target/run_results.json', '--', 'sh', '-c', 'mkdir -p target && cp results.json target/run_results.json && exit 1'], { cwd });
  assert.equal(r.code, 1);
  assert.deepEqual(r.doc?.dbt, {
    file: path.join(cwd, 'target', 'run_results.json'),
    models: 4,
    models_failed: 1,
    rows_affected: 155,
    tests: 3,
    tests_passed: 1,
    tests_failed: 1,
    tests_warned: 1,
    failing_tests: ['unique_orders_id.b2'],
    model_rows: { orders: 120, customers: 30, countries: 5 },
  });
  const sel = 'pipeline_name="dbt_shop",environment="dev"';
  await expectValue(`pipeline_rows_processed_total{${sel},stage="transform",data_source="orders"}`, 120);
  await expectValue(`pipeline_rows_processed_total{${sel},stage="transform",data_source="countries"}`, 5);
  await expectValue(`pipeline_errors_total{${sel},stage="transform",error_type="dbt_model_error"}`, 1);
  await expectValue(`pipeline_errors_total{${sel},stage="transform",error_type="dbt_test_failed"}`, 1);
  await expectValue(`pipeline_data_quality_score{${sel},check_type="dbt_tests"}`, 66.67);
  await expectValue(`pipeline_runs_total{${sel},status="failed"}`, 1);

  // results left by an earlier run are not this run's: not read, and said so
  mkdirSync(path.join(cwd, 'target'), { recursive: true });
  utimesSync(path.join(cwd, 'target', 'run_results.json'), new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
  const stale = await exec('dbt_stale', ['--push', 'none', '--dbt-results', 'target/run_results.json', '--', 'true'], { cwd });
  assert.equal(stale.code, 0);
  assert.equal(stale.doc?.dbt, null);
  assert.match(stale.stderr, /--dbt-results \/.*\/target\/run_results\.json: last written .* before this run started: not read/);
});

test('usage: --pipeline is required; a bad --timeout names the flag', async () => {
  const r = await runCli(['exec', '--', 'true'], { env: { PATH: process.env.PATH } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--pipeline NAME/);
  const t = await runCli(['exec', '--pipeline', 'x', '--timeout', 'soon', '--', 'true'], { env: { PATH: process.env.PATH } });
  assert.equal(t.code, 2);
  assert.match(t.stderr, /--timeout soon is not a duration/);
});

test('the built binary leaves stdin, stdout and stderr to the command and exits with its code', () => {
  const r = spawnSync(process.execPath, [bin, 'exec', '--pipeline', 'stdio', '--push', 'none', '--', 'sh', '-c', 'tr a-z A-Z; echo oops >&2; exit 7'], {
    input: 'hello\n',
    encoding: 'utf8',
    env: { ...process.env, PIPEOBS_VM_URL: vm.url },
  });
  assert.equal(r.status, 7);
  assert.equal(r.stdout, 'HELLO\n');
  assert.equal(r.stderr, 'oops\nerror: the command exited with code 7\n');
});

test('on an interactive terminal SIGINT is not sent again (Ctrl-C reached the command already); SIGTERM always is', async () => {
  const { runJob } = await import('../../src/core/exec/job.js');
  let fire: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
  const spec = { command: 'sh', args: ['-c', 'sleep 0.5'], env: { PATH: process.env.PATH }, cwd: tempDir(), killAfterSeconds: 1 };
  const hooks = (forwardSigint: boolean) => ({ forwardSigint, onSignal: (h: (s: 'SIGINT' | 'SIGTERM') => void) => ((fire = h), () => {}) });
  const tty = runJob(spec, hooks(false));
  fire!('SIGINT');
  const kept = await tty;
  assert.deepEqual([kept.exitCode, kept.signal, kept.forwarded], [0, null, 'SIGINT']);
  const piped = runJob(spec, hooks(true));
  await new Promise((r) => setTimeout(r, 100));
  fire!('SIGINT');
  const stopped = await piped;
  assert.deepEqual([stopped.exitCode, stopped.signal], [130, 'SIGINT']);
});

test('flags become options before anything runs (the run seam)', async () => {
  const { registerExec } = await import('../../src/commands/exec.js');
  const { Capture } = await import('../helpers/cli.js');
  const deps = { env: { PIPEOBS_PIPELINE_NAME: 'p' }, stdout: new Capture(), stderr: new Capture() } as never;
  const parse = async (argv: string[]) => {
    const r = await parsedRun(registerExec, argv, deps);
    return typeof r === 'string' ? r : r.opts;
  };
  const base = { stage: 'run', push: 'prometheus', timeoutSeconds: undefined, killAfterSeconds: 10, serve: false, dbtResults: undefined, output: 'text' };
  assert.deepEqual(await parse(['exec', '--', 'dbt', 'run', '--select', 'orders']), { ...base, command: 'dbt', args: ['run', '--select', 'orders'] });
  assert.deepEqual(await parse(['exec', '--timeout', '1h30m', '--stage', 'load', '--push', 'none', '--metrics-port', '0', '-o', 'json', 'true']), {
    ...base, command: 'true', args: [], timeoutSeconds: 5400, stage: 'load', push: 'none', serve: true, output: 'json',
  });
  assert.match(String(await parse(['exec', '--push', 'kafka', 'true'])), /--push kafka is not valid: expected one of prometheus, influx, none/);
  assert.equal((await parse(['exec', '-o', 'csv', 'true']) as { output: string }).output, 'csv');
  assert.match(String(await parse(['exec', '-o', 'xml', 'true'])), /--output xml is not supported/);
  assert.match(String(await parse(['exec', '--kill-after', '-1', 'true'])), /--kill-after -1 is not valid/);
});
