import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { freePort, startVictoriaMetrics, type VictoriaMetrics } from '../helpers/victoria.js';
import { histogram, prom } from '../helpers/known-data.js';
import { startFakeOpenAI, toolResults, type FakeOpenAI } from '../helpers/openai-server.js';
import { DEMO_QUESTIONS } from '../../src/core/ask/offline.js';
import type { AskResult } from '../../src/commands/ask.js';
import { formatDurationShort } from '../../src/core/time/parse.js';

let vm: VictoriaMetrics;
const MIN = 60_000;
// Known data an hour ago; questions are asked at NOW.
const T = Math.floor(Date.now() / MIN) * MIN - 60 * MIN;
const NOW = new Date(T + 30 * MIN);
const P = { pipeline_name: 'orders', environment: 'prod' };
const KEY = 'sk-test-SECRET-0123456789';

before(async () => {
  vm = await startVictoriaMetrics();
  const t1 = T + 5 * MIN;
  const t2 = T + 10 * MIN;
  const data =
    prom('pipeline_rows_processed_total', { ...P, stage: 'load', data_source: 'orders' }, [[T, 0], [t1, 4000], [t2, 9000]]) +
    prom('pipeline_rows_processed_total', { ...P, stage: 'extract', data_source: 'orders' }, [[T, 0], [t2, 10000]]) +
    prom('pipeline_runs_total', { ...P, status: 'success' }, [[T, 0], [t1, 1], [t2, 1]]) +
    prom('pipeline_runs_total', { ...P, status: 'failed' }, [[T, 0], [t1, 0], [t2, 1]]) +
    prom('pipeline_data_quality_score', { ...P, check_type: 'overall' }, [[t1, 99.5], [t2, 97.25]]) +
    prom('pipeline_errors_total', { ...P, stage: 'quality', error_type: 'out_of_range' }, [[T, 0], [t2, 12]]) +
    prom('pipeline_errors_total', { ...P, stage: 'load', error_type: 'stage_failure' }, [[T, 0], [t2, 1]]) +
    prom('pipeline_data_freshness_seconds', { ...P, data_source: 'orders' }, [[t2, 30]]) +
    prom('pipeline_last_success_timestamp_seconds', P, [[t1, t1 / 1000]]) +
    histogram({ ...P, stage: 'extract' }, T, t2, [0.5, 1.5]) +
    histogram({ ...P, stage: 'load' }, T, t2, [0.2, 0.4]) +
    // What monitor-logs --server exports, for the log questions.
    prom('pipeobs_kafka_consumer_lag', { topic: 'orders', partition: '0', consumer_group: 'etl' }, [[T, 100], [t1, 400], [t2, 1000]]) +
    prom('pipeobs_kafka_consumer_lag', { topic: 'orders', partition: '1', consumer_group: 'etl' }, [[T, 700], [t2, 700]]) +
    prom('pipeobs_kafka_consumer_lag', { topic: 'payments', partition: '0', consumer_group: 'etl' }, [[T, 50], [t2, 50]]) +
    prom('pipeobs_ml_confidence_sum', { service: 'churn', model_version: 'v2' }, [[T, 0], [t2, 84]]) +
    prom('pipeobs_ml_confidence_count', { service: 'churn', model_version: 'v2' }, [[T, 0], [t2, 100]]) +
    prom('pipeobs_ml_predictions_total', { service: 'churn', model_version: 'v2' }, [[T, 0], [t2, 100]]) +
    prom('pipeobs_ml_low_confidence_predictions_total', { service: 'churn', model_version: 'v2' }, [[T, 0], [t2, 25]]) +
    prom('pipeobs_logs_lines_total', { component: 'kafka' }, [[T, 0], [t2, 1000]]) +
    prom('pipeobs_logs_error_lines_total', { component: 'kafka' }, [[T, 0], [t2, 25]]) +
    prom('pipeobs_logs_lines_total', { component: 'ml' }, [[T, 0], [t2, 400]]) +
    prom('pipeobs_logs_error_lines_total', { component: 'ml' }, [[T, 0], [t2, 0]]) +
    prom('pipeobs_airflow_task_runs_total', { dag_id: 'etl', task_id: 'load', outcome: 'success' }, [[T, 0], [t2, 10]]) +
    prom('pipeobs_airflow_task_runs_total', { dag_id: 'etl', task_id: 'load', outcome: 'failed' }, [[T, 0], [t2, 1]]) +
    prom('pipeobs_airflow_task_runs_total', { dag_id: 'etl', task_id: 'load', outcome: 'up_for_retry' }, [[T, 0], [t2, 2]]);
  const res = await fetch(`${vm.url}/api/v1/import/prometheus`, { method: 'POST', body: data });
  assert.equal(res.status, 204);
  // Every imported series searchable (new series become visible over about a second).
  const series = new Set(data.trim().split('\n').map((l) => l.slice(0, l.lastIndexOf(' ', l.lastIndexOf(' ') - 1)))).size;
  await vm.queryWhen(`count(last_over_time({__name__=~"pipeline_.*|pipeobs_.*"}[2h]))`, (r) => r.length === 1 && Number(r[0].value[1]) === series);
});
after(async () => {
  await vm?.cleanup();
});

async function ask(args: string[], env: Record<string, string> = {}, stdin?: string, moving = false) {
  // A clock fixed at NOW, or one that starts there and moves (for pushes at distinct times).
  const started = Date.now();
  const now = moving ? () => new Date(NOW.getTime() + Date.now() - started) : () => NOW;
  const r = await runCli(['ask', ...args], { now, stdin, env: { PIPEOBS_VM_URL: vm.url, OPENAI_API_KEY: '', ...env } });
  assert.ok(!r.stdout.includes(KEY) && !r.stderr.includes(KEY), 'the API key never appears in output');
  return r;
}

// ---- offline engine: question → PromQL, then the query against real data and the answer's numbers ----

const TODAY = formatDurationShort(Math.max(60, Math.round((NOW.getTime() - Date.UTC(NOW.getUTCFullYear(), NOW.getUTCMonth(), NOW.getUTCDate())) / 1000)));
const OFFLINE: [string, string[], RegExp][] = [
  [DEMO_QUESTIONS[0], ['sum by (pipeline_name, environment) (increase(pipeline_rows_processed_total{stage="load",data_source="orders"}[1d]))'], /^Rows processed \(stage load, data source orders\) in the last 24 hours: 9,000 rows \(orders\/prod\)\.$/],
  [DEMO_QUESTIONS[1], ['max by (pipeline_name, environment) (last_over_time(pipeline_data_quality_score{check_type="overall"}[1d]))'], /^Quality score \(check type overall; newest value in the last 24 hours\): 97\.25% \(orders\/prod\)\.$/],
  [DEMO_QUESTIONS[2], [`sum by (pipeline_name) (increase(pipeline_runs_total{status="failed"}[${TODAY}]))`], /today \(since 00:00 UTC\)/],
  [DEMO_QUESTIONS[3], ['sum by (stage) (rate(pipeline_rows_processed_total{data_source="orders"}[1d]))'], /^Rows processed per second \(data source orders\) in the last 24 hours: extract 16\.667 rows\/s, load 15 rows\/s\.$/],
  [DEMO_QUESTIONS[4], ['sum by (pipeline_name, environment) (increase(pipeline_errors_total[1d]))'], /^Yes: errors in the last 24 hours: 13 errors \(orders\/prod\)\.$/],
  [DEMO_QUESTIONS[5], ['sum by (stage) (increase(pipeline_stage_duration_seconds_sum[1d])) / sum by (stage) (increase(pipeline_stage_duration_seconds_count[1d]))'], /^Mean stage duration in the last 24 hours: extract 1 s, load 300 ms\.$/],
  ['What is the p50 duration of the load stage in the last 2 hours?', ['histogram_quantile(0.5, sum by (le, stage) (increase(pipeline_stage_duration_seconds_bucket{stage="load"}[2h])))'], /^p50 stage duration \(stage load\) in the last 2 hours: 2\d\d(\.\d)? ms \(load\)\.$/],
  ['Is the data fresh? SLA 10 minutes', [
    'max by (pipeline_name, environment) (last_over_time(pipeline_data_freshness_seconds[1d]))',
    'max by (pipeline_name, environment) (last_over_time(pipeline_last_success_timestamp_seconds[1d]))',
  ], /^No: 1 of 1 pipeline is stale \(SLA 10 min\): orders\/prod data is 25\.5 min old \(STALE\)\.$/],
  ['How far behind are the Kafka consumers?', ['sum by (topic, consumer_group) (last_over_time(pipeobs_kafka_consumer_lag[1d]))'], /^Consumer lag \(newest value in the last 24 hours\): orders\/etl 1,700 messages, payments\/etl 50 messages\.$/],
  ['What is the mean model confidence?', ['sum by (service, model_version) (increase(pipeobs_ml_confidence_sum[1d])) / sum by (service, model_version) (increase(pipeobs_ml_confidence_count[1d]))'], /^Mean model confidence in the last 24 hours: 0\.84 \(churn\/v2\)\.$/],
  ['What is the error rate in the logs?', ['sum by (component) (increase(pipeobs_logs_error_lines_total[1d]))'], /^Log error rate in the last 24 hours \(lines at ERROR or above\): kafka 2\.5% \(25 of 1,000 lines\), ml 0% \(0 of 400 lines\)\.$/],
  ['Which Airflow tasks failed in the last 2 hours?', ['sum by (dag_id) (increase(pipeobs_airflow_task_runs_total{outcome="failed"}[2h]))'], /^Airflow task attempts \(outcome failed\) in the last 2 hours: 1 run \(etl\)\.$/],
  ['How many rows did pipeline orders process in prod in the last hour?', ['sum by (pipeline_name, environment) (increase(pipeline_rows_processed_total{stage="load",data_source="orders",pipeline_name="orders",environment="prod"}[1h]))'], /^Rows processed .* in the last hour: 9,000 rows \(orders\/prod\)\.$/],
];

for (const [question, promql, answer] of OFFLINE) {
  test(`offline: ${question}`, async () => {
    const r = await ask(['--offline', question, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as AskResult;
    assert.equal(doc.mode, 'offline');
    assert.equal(doc.answered, true);
    assert.match(doc.answer, answer);
    assert.deepEqual(doc.queries.map((q) => q.promql).slice(0, promql.length), promql);
  });
}

test('offline: "failed today" names the pipeline and counts its failed runs', async () => {
  const r = await ask(['--offline', 'Which ETL jobs failed today?']);
  // The failure at T+10m counts when it happened today (UTC).
  const today = new Date(T + 10 * MIN).getUTCDate() === NOW.getUTCDate();
  assert.match(r.stdout, today ? /^Runs \(status failed\) today \(since 00:00 UTC\): 1 run \(orders\)\./ : /^No runs \(status failed\) today/);
});

test('offline: an unanswerable question says so, suggests questions, and exits 5', async () => {
  const r = await ask(['--offline', 'What is the meaning of life?']);
  assert.equal(r.code, 5);
  assert.match(r.stdout, /^I am not sure what you mean: I did not understand what to measure in "meaning life"\. Questions I can answer, for example:\n  - How many total rows/);
  assert.match(r.stderr, /could not answer: "What is the meaning of life\?"/);
});

test('no API key: ask answers offline and says why; --demo answers every demo question', async () => {
  const r = await ask(['--demo', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /no OPENAI_API_KEY: answering offline/);
  const docs = JSON.parse(r.stdout) as AskResult[];
  assert.deepEqual(docs.map((d) => d.question), [...DEMO_QUESTIONS]);
  assert.ok(docs.every((d) => d.answered && d.queries.length > 0));
});

test('chat over a pipe: /help, a question, /promql, exit; answers without colour', async () => {
  const r = await ask([], {}, '/help\nWhat is the current data quality score?\n/promql\n/nope\nexit\nignored after exit\n');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, [
    'Ask about the pipelines in plain language. Commands:',
    '  /help     this help',
    '  /metrics  the metric catalog',
    '  /promql   the PromQL behind the last answer',
    '  /exit     leave (also exit, quit, Ctrl-D)',
    'Quality score (check type overall; newest value in the last 24 hours): 97.25% (orders/prod).',
    '  PromQL: max by (pipeline_name, environment) (last_over_time(pipeline_data_quality_score{check_type="overall"}[1d]))',
    '  max by (pipeline_name, environment) (last_over_time(pipeline_data_quality_score{check_type="overall"}[1d]))',
    'unknown command /nope; /help lists them',
    '',
  ].join('\n'));
});

// ---- LLM mode against a local OpenAI-compatible server, through the real openai SDK ----

let llm: FakeOpenAI | null = null;
async function withLlm(script: Parameters<typeof startFakeOpenAI>[0]) {
  llm = await startFakeOpenAI(script);
  return { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: llm.baseURL, PIPEOBS_LLM_MODEL: 'test-model' };
}
test.afterEach(async () => {
  await llm?.close();
  llm = null;
});

test('llm: a correct tool-call sequence; the model sees the real catalog and real values; usage is pushed', async () => {
  const q = 'sum(increase(pipeline_rows_processed_total{stage="load"}[1h]))';
  const env = await withLlm((req, n) => {
    if (n === 0) return { toolCalls: [{ name: 'list_metrics', arguments: '{}' }], usage: [300, 10] };
    if (n === 1) return { toolCalls: [{ name: 'instant_query', arguments: JSON.stringify({ query: q }) }], usage: [500, 30] };
    return { content: '9000 rows were loaded in the last hour (PromQL: sum(increase(...[1h]))).', usage: [700, 40] };
  });
  const r = await ask(['How many rows were loaded?', '-o', 'json', '--push', 'prometheus'], env, undefined, true);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as AskResult;
  assert.equal(doc.mode, 'llm');
  assert.equal(doc.model, 'test-model');
  assert.equal(doc.answer, '9000 rows were loaded in the last hour (PromQL: sum(increase(...[1h]))).');
  assert.deepEqual(doc.queries.map((x) => [x.tool, x.promql, x.ok, x.series]), [['instant_query', q, true, 1]]);
  const reqs = llm!.requests;
  assert.equal(reqs.length, 3);
  assert.equal(reqs[0].authorization, `Bearer ${KEY}`);
  assert.deepEqual(reqs[0].tools!.map((t) => t.function.name), ['list_metrics', 'label_names', 'label_values', 'series', 'instant_query', 'range_query']);
  assert.equal(reqs[0].messages[0].role, 'system');
  const catalog = toolResults(reqs[1])[0] as { catalog: { name: string }[] };
  assert.ok(catalog.catalog.some((m) => m.name === 'pipeline_rows_processed_total'));
  const value = toolResults(reqs[2])[1] as { series: { value: number }[] };
  assert.equal(value.series[0].value, 9000);
  // ask's own usage, from the catalog, in VictoriaMetrics
  // Pushed with the test's clock (NOW, half an hour ago): read the last value in the hour.
  const tokens = await vm.queryWhen('last_over_time(pipeobs_llm_tokens_total{model="test-model",type="prompt"}[1h])', (x) => x.length === 1);
  assert.equal(Number(tokens[0].value[1]), 1500);
  const completion = await vm.queryWhen('last_over_time(pipeobs_llm_tokens_total{model="test-model",type="completion"}[1h])', (x) => x.length === 1);
  assert.equal(Number(completion[0].value[1]), 80);
  const requests = await vm.queryWhen('last_over_time(pipeobs_llm_requests_total{model="test-model",outcome="ok"}[1h])', (x) => x.length === 1);
  assert.equal(Number(requests[0].value[1]), 3);
});

test('llm: an invented metric name goes back with the nearest real names, and the model corrects it', async () => {
  const env = await withLlm((req, n) => {
    if (n === 0) return { toolCalls: [{ name: 'instant_query', arguments: JSON.stringify({ query: 'sum(pipeline_rows_total)' }) }] };
    if (n === 1) {
      const res = toolResults(req)[0] as { nearest: string[] };
      return { toolCalls: [{ name: 'instant_query', arguments: JSON.stringify({ query: `sum(${res.nearest[0]}{stage="load"})` }) }] };
    }
    return { content: 'done' };
  });
  const r = await ask(['rows?', '-o', 'json'], env);
  assert.equal(r.code, 0, r.stderr);
  const first = toolResults(llm!.requests[1])[0] as { error: string; unknown: string; nearest: string[] };
  assert.equal(first.unknown, 'pipeline_rows_total');
  assert.match(first.error, /unknown metric name "pipeline_rows_total"/);
  assert.equal(first.nearest[0], 'pipeline_rows_processed_total');
  const doc = JSON.parse(r.stdout) as AskResult;
  assert.deepEqual(doc.queries.map((x) => [x.promql, x.ok]), [['sum(pipeline_rows_total)', false], ['sum(pipeline_rows_processed_total{stage="load"})', true]]);
});

test('llm: malformed tool arguments and a tool that does not exist are reported back, not run', async () => {
  const env = await withLlm((req, n) => {
    if (n === 0) return { toolCalls: [{ name: 'instant_query', arguments: '{"query": "up"' }, { name: 'drop_database', arguments: '{}' }, { name: 'label_names', arguments: '{"match": "pipeline_errors_total"}' }] };
    return { content: 'sorry' };
  });
  const r = await ask(['anything?', '-o', 'json'], env);
  assert.equal(r.code, 0, r.stderr);
  const [malformed, missing, labels] = toolResults(llm!.requests[1]) as { error: string; labels: string[] }[];
  assert.match(malformed.error, /the arguments of instant_query are not a JSON object/);
  assert.match(missing.error, /there is no tool named "drop_database"; the tools are list_metrics, label_names, label_values, series, instant_query, range_query/);
  // Without a range, VictoriaMetrics' label APIs look at the current UTC day; the tool passes the last 24 hours.
  assert.deepEqual(labels.labels, ['__name__', 'environment', 'error_type', 'pipeline_name', 'stage']);
  assert.deepEqual((JSON.parse(r.stdout) as AskResult).queries, []);
});

test('llm: a range query the model chooses is summarised, so the values are seen', async () => {
  const env = await withLlm((req, n) => {
    if (n === 0) return { toolCalls: [{ name: 'range_query', arguments: JSON.stringify({ query: 'pipeline_data_quality_score{check_type="overall"}', start: new Date(T).toISOString(), end: new Date(T + 20 * MIN).toISOString(), step: '5m' }) }] };
    return { content: 'quality fell from 99.5 to 97.25' };
  });
  const r = await ask(['quality trend?'], env);
  assert.equal(r.code, 0, r.stderr);
  const res = toolResults(llm!.requests[1])[0] as { series: { first: number; last: number; min: number; max: number; points: number }[] };
  const s = res.series[0];
  assert.deepEqual([s.first, s.last, s.min, s.max], [99.5, 97.25, 97.25, 99.5]);
  assert.ok(s.points >= 2);
});

test('llm: a 429 is retried and then succeeds', async () => {
  const env = await withLlm((req, n) => (n === 0 ? { status: 429, error: { message: 'slow down', type: 'rate_limit' }, headers: { 'retry-after-ms': '10' } } : { content: 'fine' }));
  const r = await ask(['hi'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(llm!.requests.length, 2);
  assert.match(r.stdout, /^fine\n/);
});

test('llm: a model that never stops calling tools is stopped after --max-rounds', async () => {
  const env = await withLlm(() => ({ toolCalls: [{ name: 'list_metrics', arguments: '{}' }] }));
  const r = await ask(['loop?', '--max-rounds', '3', '-o', 'json'], env);
  assert.equal(r.code, 5);
  assert.equal(llm!.requests.length, 4);
  assert.equal(llm!.requests[3].tool_choice, 'none');
  assert.match((JSON.parse(r.stdout) as AskResult).answer, /stopped after 3 rounds of tool calls/);
});

test('llm: a wrong model and a refused key are clear configuration errors (exit 3)', async () => {
  let env = await withLlm(() => ({ status: 404, error: { message: 'The model `nope` does not exist', code: 'model_not_found' } }));
  const notFound = await ask(['hi', '--model', 'nope'], env);
  assert.equal(notFound.code, 3);
  assert.match(notFound.stderr, /model "nope" was not found at http:\/\/127\.0\.0\.1:\d+\/v1 \(HTTP 404\)/);
  await llm!.close();
  env = await withLlm(() => ({ status: 401, error: { message: `Incorrect API key provided: ${KEY}` } }));
  const refused = await ask(['hi'], env);
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /refused the API key \(HTTP 401\)\nhint: check OPENAI_API_KEY \(it is never printed\)/);
});

test('llm: an unreachable or failing LLM server falls back to the offline engine, and says so', async () => {
  const port = await freePort();
  const down = await ask(['What is the current data quality score?', '-o', 'json'], { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, PIPEOBS_LLM_TIMEOUT: '5' });
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stderr, /cannot reach the LLM server at http:\/\/127\.0\.0\.1:\d+\/v1.*: answering offline/);
  const doc = JSON.parse(down.stdout) as AskResult;
  assert.equal(doc.mode, 'offline');
  assert.match(doc.fallback_reason!, /cannot reach the LLM server/);
  assert.equal(doc.answer, 'Quality score (check type overall; newest value in the last 24 hours): 97.25% (orders/prod).');
  // A server that keeps failing (HTTP 500 after the retries): the same fallback, in a chat too.
  const env = await withLlm(() => ({ status: 500, error: { message: 'boom' } }));
  const chat = await ask([], env, 'What is the current data quality score?\nand the errors?\n');
  assert.equal(chat.code, 0, chat.stderr);
  assert.match(chat.stdout, /^Quality score \(check type overall; newest value in the last 24 hours\): 97\.25% \(orders\/prod\)\.\n  PromQL: .*\nErrors in the last 24 hours: 13 errors \(orders\/prod\)\.\n/);
});

test('a chat serves ask\'s usage metrics at /metrics while it runs', async () => {
  const port = await freePort();
  const env = await withLlm(() => ({ content: 'hello', usage: [42, 7] }));
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  // stdin that gives one question, then waits until the test has scraped, then ends the chat
  const { Readable } = await import('node:stream');
  const stdin = Readable.from((async function* () {
    yield Buffer.from('hi there\n');
    await gate;
  })());
  const { main } = await import('../../src/cli.js');
  const { Capture, tempDir } = await import('../helpers/cli.js');
  const { realSleep } = await import('../../src/core/deps.js');
  const out = new Capture();
  const err = new Capture();
  const done = main(['ask', '--metrics-port', String(port)], {
    now: () => NOW, env: { PIPEOBS_VM_URL: vm.url, ...env }, cwd: tempDir(), stdout: out, stderr: err, stdin, sleep: realSleep, onSignal: () => () => {},
  });
  const { waitFor } = await import('../helpers/victoria.js');
  const text = await waitFor('the answer to be counted', async () => {
    const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text().catch(() => '');
    return /pipeobs_llm_tokens_total\{model="test-model",type="prompt"\} 42/.test(t) ? t : null;
  });
  assert.match(text, /pipeobs_llm_requests_total\{model="test-model",outcome="ok"\} 1/);
  assert.match(text, /pipeobs_ask_questions_total\{mode="llm",outcome="answered"\} 1/);
  assert.match(text, /pipeobs_llm_errors_total\{model="test-model",error_type="rate_limited"\} 0/);
  release();
  assert.equal(await done, 0, err.text);
  assert.match(out.text, /^hello\n/);
});

test('chat on a terminal: a prompt, answers, history saved, Ctrl-D ends it', async () => {
  const { PassThrough } = await import('node:stream');
  const { main } = await import('../../src/cli.js');
  const { tempDir } = await import('../helpers/cli.js');
  const { realSleep } = await import('../../src/core/deps.js');
  const { readFileSync } = await import('node:fs');
  const path = await import('node:path');
  // Streams that say they are a terminal, as process.stdin/stdout do in one.
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
  const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 120, rows: 40 });
  const stderr = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
  let screen = '';
  stdout.on('data', (d: Buffer) => (screen += d.toString()));
  const home = tempDir();
  const done = main(['ask', '--offline'], {
    now: () => NOW, env: { PIPEOBS_VM_URL: vm.url, HOME: home, CI: 'true' }, cwd: home, stdout, stderr, stdin, sleep: realSleep, onSignal: () => () => {},
  });
  const { waitFor } = await import('../helpers/victoria.js');
  await waitFor('the prompt', async () => screen.includes('ask> '));
  stdin.write('What is the current data quality score?\r');
  await waitFor('the answer', async () => screen.includes('97.25% (orders/prod)'));
  stdin.write('\u0004'); // Ctrl-D
  assert.equal(await done, 0);
  const plain = screen.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
  assert.match(plain, /pipeobs ask \(offline\): ask about your pipelines; \/help for commands\nask> What is the current data quality score\?\r\nQuality score \(check type overall; newest value in the last 24 hours\): 97\.25% \(orders\/prod\)\./);
  assert.equal(readFileSync(path.join(home, '.local', 'state', 'pipeobs', 'ask_history'), 'utf8'), 'What is the current data quality score?\n');
});
