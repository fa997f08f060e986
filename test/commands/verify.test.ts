import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from '../helpers/cli.js';
import { freePort, requireBinary, startVictoriaMetrics, waitFor } from '../helpers/victoria.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/openai-server.js';
import type { VerifyResult } from '../../src/commands/verify.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
let env: Record<string, string>;
let stackEnv: NodeJS.ProcessEnv;
let stopPipeline: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
let pipeline: Promise<unknown>;
let llm: FakeOpenAI;
let pipelinePort: number;
let logsPort: number;
let stopLogs: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
let logServer: Promise<unknown>;

function stack(cmd: string) {
  const r = spawnSync('bash', [path.join(root, 'scripts', 'stack.sh'), cmd], { env: stackEnv, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

async function verify(args: string[], extra: Record<string, string> = {}) {
  const r = await runCli(['verify', '-o', 'json', ...args], { env: { ...env, ...extra } });
  return { ...r, doc: JSON.parse(r.stdout) as VerifyResult & { error?: unknown } };
}
const status = (doc: VerifyResult) => Object.fromEntries(doc.checks.map((c) => [c.name, c.status]));
const check = (doc: VerifyResult, name: string) => doc.checks.find((c) => c.name === name)!;

before(async () => {
  requireBinary('victoria-metrics');
  const [vmPort, agentPort, alertPort] = [await freePort(), await freePort(), await freePort()];
  pipelinePort = await freePort();
  logsPort = await freePort();
  const dir = tempDir('pipeobs-stack-');
  const scrape = path.join(dir, 'scrape.yml');
  // The shipped scrape config, on this test's ports, scraped every second.
  writeFileSync(scrape, readFileSync(path.join(root, 'deploy', 'vmagent', 'scrape.yml'), 'utf8')
    .replace('scrape_interval: 15s', 'scrape_interval: 1s').replace(':8000', `:${pipelinePort}`).replace(':9108', `:${logsPort}`));
  stackEnv = { ...process.env, PIPEOBS_STACK_DIR: dir, PIPEOBS_STACK_VM_PORT: String(vmPort), PIPEOBS_STACK_VMAGENT_PORT: String(agentPort), PIPEOBS_STACK_VMALERT_PORT: String(alertPort), PIPEOBS_SCRAPE_CONFIG: scrape };
  const t0 = Date.now();
  const started = stack('start');
  assert.equal(started.code, 0, started.out);
  assert.match(started.out, /victoria-metrics: up at .*\nvmagent: up at .*\nvmalert: up at /);
  process.stderr.write(`native stack up in ${Date.now() - t0} ms\n`);
  llm = await startFakeOpenAI(() => ({ content: 'ok' }), 'sk-verify');
  env = {
    PIPEOBS_VM_URL: `http://127.0.0.1:${vmPort}`,
    PIPEOBS_VMAGENT_URL: `http://127.0.0.1:${agentPort}`,
    PIPEOBS_VMALERT_URL: `http://127.0.0.1:${alertPort}`,
    OPENAI_API_KEY: 'sk-verify',
    OPENAI_BASE_URL: llm.baseURL,
    PIPEOBS_LLM_MODEL: 'test-model',
  };
  // Real data: a run-pipeline that pushes and keeps serving /metrics for vmagent, and ask's usage.
  const cwd = tempDir();
  pipeline = runCli(['run-pipeline', '--once', '--keep-serving', '--rows', '300', '--push', 'prometheus', '--metrics-port', String(pipelinePort)], { cwd, env, onSignalRegistered: (f) => (stopPipeline = f) });
  for (let i = 0; i < 2; i++) assert.equal((await runCli(['ask', 'hi', '--push', 'prometheus'], { cwd, env })).code, 0);
  // And monitor-logs --server following logs of every kind.
  const logs = path.join(cwd, 'app.log');
  assert.equal((await runCli(['gen-logs', '--lines', '400', '--since', '-10m', '--out', logs], { cwd })).code, 0);
  logServer = runCli(['monitor-logs', logs, '--server', '--port', String(logsPort), '--start-at', 'beginning', '--no-state', '--interval', '1h'], { cwd, env, onSignalRegistered: (f) => (stopLogs = f) });
  await waitFor('vmagent to scrape run-pipeline and monitor-logs', async () => {
    const t = (await (await fetch(`${env.PIPEOBS_VMAGENT_URL}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string }[] } };
    return t.data.activeTargets.length === 2 && t.data.activeTargets.every((x) => x.health === 'up');
  }, 20_000);
  // Every metric the dashboards and alerts read is searchable (new series take a moment).
  await waitFor('the metrics to be searchable', async () => (await verify(['--only', 'dashboard-metrics'])).doc.ok, 20_000, 300);
});

after(async () => {
  stopPipeline?.('SIGINT');
  await pipeline;
  stopLogs?.('SIGTERM');
  await logServer;
  await llm?.close();
  const stopped = stack('stop');
  assert.match(stopped.out, /vmalert: stopped\nvmagent: stopped\nvictoria-metrics: stopped/);
});

test('a healthy native stack passes every check, the write probe included', async () => {
  const r = await verify(['--write-probe']);
  assert.equal(r.code, 0, r.stderr + JSON.stringify(r.doc.checks.filter((c) => c.status !== 'pass'), null, 1));
  assert.deepEqual(status(r.doc), { node: 'pass', duckdb: 'pass', 'output-dir': 'pass', victoriametrics: 'pass', dedup: 'pass', vmagent: 'pass', vmalert: 'pass', grafana: 'skip', llm: 'pass', 'dashboard-metrics': 'pass', 'double-ingestion': 'pass' });
  assert.equal(check(r.doc, 'dedup').detail, 'deduplication on (-dedup.minScrapeInterval=1ms): a retried write cannot double a sample');
  assert.match(check(r.doc, 'victoriametrics').detail, /a written sample was read back/);
  assert.match(check(r.doc, 'vmalert').detail, /4 rule groups, 13 rules loaded: pipeobs-ask, pipeobs-logs, pipeobs-pipeline, pipeobs-pipeline-slas/);
  assert.match(check(r.doc, 'vmagent').detail, /2 targets up: pipeobs-monitor-logs, pipeobs-pipeline/);
  assert.match(check(r.doc, 'llm').detail, /accepted the key; 1 models/);
  assert.ok(!r.stdout.includes('sk-verify') && !r.stderr.includes('sk-verify'));
  const status2 = stack('status');
  assert.equal(status2.code, 0, status2.out);
});

test('VictoriaMetrics unreachable: that check fails with its fix, exit 5', async () => {
  const r = await verify(['--only', 'victoriametrics'], { PIPEOBS_VM_URL: `http://127.0.0.1:${await freePort()}` });
  assert.equal(r.code, 5);
  assert.equal(check(r.doc, 'victoriametrics').status, 'fail');
  assert.match(check(r.doc, 'victoriametrics').fix!, /start it: scripts\/stack.sh start/);
  assert.match(r.stderr, /error: 1 of 1 checks failed: victoriametrics/);
});

test('VictoriaMetrics without deduplication: the dedup check warns and names the flag; 30s warns that it merges', async () => {
  const plain = await startVictoriaMetrics();
  const coarse = await startVictoriaMetrics(['-dedup.minScrapeInterval=30s']);
  try {
    const r = await verify(['--only', 'dedup'], { PIPEOBS_VM_URL: plain.url });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(check(r.doc, 'dedup').status, 'warn');
    assert.equal(check(r.doc, 'dedup').detail, 'deduplication is off (-dedup.minScrapeInterval=0): a write retried after a timeout is stored twice, doubling its samples');
    assert.match(check(r.doc, 'dedup').fix!, /^restart VictoriaMetrics with -dedup\.minScrapeInterval=1ms /);
    const c = await verify(['--only', 'dedup'], { PIPEOBS_VM_URL: coarse.url });
    assert.equal(check(c.doc, 'dedup').status, 'warn');
    assert.match(check(c.doc, 'dedup').detail, /^-dedup\.minScrapeInterval=30s keeps one sample per series every 30s/);
  } finally {
    await plain.cleanup();
    await coarse.cleanup();
  }
});

test('the compose stack runs VictoriaMetrics with the same deduplication as scripts/stack.sh', async () => {
  const { readFileSync } = await import('node:fs');
  const compose = readFileSync(path.join(root, 'deploy', 'compose', 'docker-compose.yml'), 'utf8');
  const vmService = compose.slice(compose.indexOf('  victoriametrics:'), compose.indexOf('  vmagent:'));
  assert.match(vmService, /\n {6}- -dedup\.minScrapeInterval=1ms\n/);
  assert.match(readFileSync(path.join(root, 'scripts', 'stack.sh'), 'utf8'), /victoria-metrics -storageDataPath=.*\\\n(\s+-[\w.]+=\S+ \\\n)*\s+-dedup\.minScrapeInterval=1ms\n/);
  // Fresh data visible at once, in both stacks.
  assert.match(vmService, /\n {6}- -search\.latencyOffset=0\n/);
  assert.match(readFileSync(path.join(root, 'scripts', 'stack.sh'), 'utf8'), /\n\s+-search\.latencyOffset=0 \\\n/);
});

test('credentials in every URL verify shows are redacted, in text and JSON', async () => {
  const vm = new URL(env.PIPEOBS_VM_URL);
  const withCreds = { PIPEOBS_VM_URL: `http://vmuser:vm-s3cret@${vm.host}`, PIPEOBS_VMAGENT_URL: `http://agent:agent-s3cret@127.0.0.1:${await freePort()}/?token=tok-s3cret` };
  for (const output of ['json', 'text']) {
    const r = await runCli(['verify', '-o', output, '--only', 'victoriametrics,dedup,vmagent'], { env: { ...env, ...withCreds } });
    const all = r.stdout + r.stderr;
    for (const secret of ['vm-s3cret', 'agent-s3cret', 'tok-s3cret', 'vmuser', 'agent:']) assert.ok(!all.includes(secret), `${output} output shows ${secret}:\n${all}`);
    assert.match(all, /http:\/\/\*\*\*@127\.0\.0\.1:\d+\/\?token=\*\*\*/);
    assert.equal(r.code, 5); // vmagent is not there
  }
});

test('a metric the dashboards query that nobody emits fails dashboard-metrics, naming it', async () => {
  const empty = await startVictoriaMetrics();
  try {
    const r = await verify(['--only', 'dashboard-metrics'], { PIPEOBS_VM_URL: empty.url });
    assert.equal(r.code, 5);
    assert.match(check(r.doc, 'dashboard-metrics').detail, /metrics the dashboards and alerts query do not exist in VictoriaMetrics: .*pipeline_rows_processed_total/);
    assert.match(check(r.doc, 'dashboard-metrics').fix!, /pipeobs run-pipeline --once --push prometheus/);
  } finally {
    await empty.cleanup();
  }
});

test('an unwritable output directory fails output-dir', async () => {
  const f = path.join(tempDir(), 'a-file');
  writeFileSync(f, 'x');
  const r = await verify(['--only', 'output-dir', '--output-dir', path.join(f, 'out')]);
  assert.equal(r.code, 5);
  assert.match(check(r.doc, 'output-dir').detail, /cannot write to .*a-file\/out: (ENOTDIR|EEXIST)/);
});

test('a refused LLM key fails the llm check without printing the key', async () => {
  const r = await verify(['--only', 'llm'], { OPENAI_API_KEY: 'sk-wrong-secret' });
  assert.equal(r.code, 5);
  assert.match(check(r.doc, 'llm').detail, /refused the API key \(HTTP 401\)/);
  assert.ok(!r.stdout.includes('sk-wrong-secret'));
});

test('a vmagent target down fails the vmagent check, naming the target and why (runs last: it stops run-pipeline)', async () => {
  stopPipeline?.('SIGINT');
  await pipeline;
  await waitFor('vmagent to see the target down', async () => {
    const t = (await (await fetch(`${env.PIPEOBS_VMAGENT_URL}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string }[] } };
    return t.data.activeTargets.some((x) => x.health === 'down');
  }, 20_000);
  const r = await verify(['--only', 'vmagent,vmalert']);
  assert.equal(r.code, 5);
  assert.equal(check(r.doc, 'vmalert').status, 'pass');
  // vmagent's own words: "connection refused", or "unexpected EOF" when it caught the server closing.
  assert.match(check(r.doc, 'vmagent').detail, new RegExp(`1 of 2 targets down: pipeobs-pipeline http://127.0.0.1:${pipelinePort}/metrics \\(error when scraping .+\\)`));
});

test('--only and --skip name real checks', async () => {
  const r = await runCli(['verify', '--only', 'nope'], { env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--only nope: no such check\nhint: the checks are node, duckdb, output-dir, victoriametrics, dedup, vmagent, vmalert, grafana, llm, dashboard-metrics, double-ingestion/);
});
