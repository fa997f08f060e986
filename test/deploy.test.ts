import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from './helpers/cli.js';
import { requireBinary, startVictoriaMetrics, type VictoriaMetrics } from './helpers/victoria.js';
import { startFakeOpenAI } from './helpers/openai-server.js';
import { CATALOG, seriesNames } from '../src/core/metrics/catalog.js';
import { metricNames } from '../src/core/ask/promql.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = (...p: string[]) => path.join(root, ...p);

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the compose file is valid for Debian\'s docker-compose, with pinned images, health checks and loopback ports', () => {
  const dc = requireBinary('docker-compose', 'docker-compose');
  const r = run(dc, ['-f', file('deploy/compose/docker-compose.yml'), 'config']);
  assert.equal(r.code, 0, r.out);
  for (const svc of ['victoriametrics', 'vmagent', 'vmalert', 'alertmanager', 'grafana', 'victorialogs', 'otel-collector']) assert.match(r.out, new RegExp(`\\n  ${svc}:\\n`), svc);
  const images = [...r.out.matchAll(/image: (\S+)/g)].map((m) => m[1]);
  assert.ok(images.length >= 7 && images.every((i) => /:v?\d/.test(i) && !i.endsWith(':latest')), `pinned: ${images}`);
  const ports = [...r.out.matchAll(/published: "?(\d+)"?\n\s+target/g)];
  assert.ok(!/0\.0\.0\.0/.test(r.out.replace(/--metrics-host 0\.0\.0\.0/g, '')), 'no port bound to all interfaces');
  assert.ok(r.out.includes('host.docker.internal:host-gateway'));
  assert.ok(ports.length >= 0);
  // A broken compose file is caught.
  const bad = path.join(tempDir(), 'bad.yml');
  spawnSync('sh', ['-c', `sed 's/^services:/servics:/' ${file('deploy/compose/docker-compose.yml')} > ${bad}`]);
  assert.notEqual(run(dc, ['-f', bad, 'config', '-q']).code, 0);
});

test('the scrape config passes vmagent\'s dry run, with the pipeobs targets and external labels', () => {
  const vmagent = requireBinary('vmagent');
  for (const host of ['127.0.0.1', 'host.docker.internal']) {
    const r = run(vmagent, [`-promscrape.config=${file('deploy/vmagent/scrape.yml')}`, '-promscrape.config.dryRun'], { ...process.env, PIPEOBS_TARGET_HOST: host });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /-promscrape.config is ok/);
  }
  const text = readFileSync(file('deploy/vmagent/scrape.yml'), 'utf8');
  assert.match(text, /^  - job_name: pipeobs-pipeline$/m);
  // The others ship ready to enable: a target nobody serves would be reported down.
  for (const job of ['pipeobs-monitor-logs', 'pipeobs-ask']) assert.match(text, new RegExp(`^  # - job_name: ${job}$`, 'm'));
  assert.match(text, /external_labels:\n\s+monitor: pipeobs/);
});

test('the alert rules pass vmalert -dryRun and promtool check rules; each has summary, description and runbook', () => {
  const rules = file('deploy/alerts/pipeline.rules.yml');
  const v = run(requireBinary('vmalert'), [`-rule=${rules}`, '-dryRun']);
  assert.equal(v.code, 0, v.out);
  const p = run(requireBinary('promtool', 'prometheus'), ['check', 'rules', rules]);
  assert.equal(p.code, 0, p.out);
  assert.match(p.out, /SUCCESS: 7 rules found/);
  const text = readFileSync(rules, 'utf8');
  const alerts = [...text.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
  assert.deepEqual(alerts, ['PipelineDataStale', 'PipelineNoSuccessfulRun', 'PipelineRunsFailing', 'PipelineQualityLow', 'PipelineErrorRateSpike', 'PipelineStageSlow', 'LlmErrors']);
  for (const field of ['summary:', 'description:', 'runbook:']) assert.equal(text.split(field).length - 1, alerts.length, field);
});

test('the dashboards use the provisioned datasource uid, template variables, units and a refresh', () => {
  const ds = readFileSync(file('deploy/compose/grafana/provisioning/datasources/victoriametrics.yml'), 'utf8');
  const uid = /uid: (\S+)/.exec(ds)![1];
  for (const f of readdirSync(file('dashboards'))) {
    const d = JSON.parse(readFileSync(file('dashboards', f), 'utf8'));
    assert.ok(d.uid && d.refresh && d.time.from, f);
    assert.deepEqual(d.templating.list.map((v: { name: string }) => v.name), ['pipeline', 'environment']);
    for (const p of d.panels.filter((x: { type: string }) => x.type !== 'row')) {
      assert.equal(p.datasource.uid, uid, `${f}: ${p.title}`);
      for (const t of p.targets) assert.equal(t.datasource.uid, uid);
      assert.ok(p.fieldConfig.defaults.unit, `${p.title} has a unit`);
    }
  }
  const provider = readFileSync(file('deploy/compose/grafana/provisioning/dashboards/pipeobs.yml'), 'utf8');
  assert.match(provider, /path: \/var\/lib\/grafana\/dashboards/);
  assert.match(readFileSync(file('deploy/compose/docker-compose.yml'), 'utf8'), /\.\.\/\.\.\/dashboards:\/var\/lib\/grafana\/dashboards:ro/);
});

let vm: VictoriaMetrics;
before(async () => {
  vm = await startVictoriaMetrics();
});
after(async () => {
  await vm?.cleanup();
});

test('after real runs of run-pipeline and ask, every dashboard query and alert expression returns data, from catalog metrics only', async () => {
  const cwd = tempDir();
  for (let i = 0; i < 2; i++) {
    const r = await runCli(['run-pipeline', '--once', '--rows', '500', '--seed', String(i + 1), '--inject-errors', '0.05', '--push', 'prometheus', '--metrics-port', '0'], { cwd, env: { PIPEOBS_VM_URL: vm.url } });
    assert.equal(r.code, 0, r.stderr);
  }
  const llm = await startFakeOpenAI(() => ({ content: 'ok' }));
  try {
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['ask', 'hi', '--push', 'prometheus'], { cwd, env: { PIPEOBS_VM_URL: vm.url, OPENAI_API_KEY: 'k', OPENAI_BASE_URL: llm.baseURL, PIPEOBS_LLM_MODEL: 'm' } });
      assert.equal(r.code, 0, r.stderr);
    }
  } finally {
    await llm.close();
  }
  const catalogNames = new Set(CATALOG.flatMap(seriesNames));
  const substitute = (e: string) => e.replace(/\$pipeline|\$environment/g, '.*').replace(/\$__range/g, '1h').replace(/\$__rate_interval/g, '5m');
  const exprs: [string, string][] = [];
  const d = JSON.parse(readFileSync(file('dashboards/pipeline-observability.json'), 'utf8'));
  for (const p of d.panels) for (const t of p.targets ?? []) exprs.push([`panel "${p.title}"`, substitute(t.expr)]);
  for (const m of readFileSync(file('deploy/alerts/pipeline.rules.yml'), 'utf8').matchAll(/- alert: (\w+)\n\s+expr: (.+)/g)) {
    exprs.push([`alert ${m[1]}`, m[2].replace(/\s*(>|<|>=|<=)\s*[\d.]+\s*$/, '')]);
  }
  assert.ok(exprs.length >= 27);
  for (const [what, expr] of exprs) {
    for (const n of metricNames(expr)) assert.ok(catalogNames.has(n), `${what} uses ${n}, which is not in the catalog`);
    const r = await vm.queryWhen(expr, (x) => x.length > 0);
    assert.ok(r.length > 0, `${what} returned no data: ${expr}`);
  }
});
