import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
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
  assert.match(text, /^  - job_name: pipeobs-monitor-logs$/m);
  // ask's endpoint lives only while a chat runs: it ships ready to enable.
  assert.match(text, /^  # - job_name: pipeobs-ask$/m);
  // No label is added to what is scraped: see the next test.
  assert.doesNotMatch(text, /^\s*(external_labels|labels):/m);
  assert.equal(text.match(/^    metric_relabel_configs:\n      - action: labeldrop\n        regex: job\|instance$/gm)?.length, 2);
});

/** YAML to JSON with python3's yaml module (python3 is a test dependency already: the logging templates). */
function yamlToJson(text: string): unknown {
  const r = spawnSync(requireBinary('python3', 'python3-yaml'), ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

type Labelled = { where: string; label: string };
/** Every label a file of deploy/ adds to series or alerts, with where it is set. */
function staticLabels(file: string, text: string): Labelled[] {
  const out: Labelled[] = [];
  const add = (where: string, labels: unknown) => {
    for (const label of Object.keys((labels as Record<string, string> | undefined) ?? {})) out.push({ where, label });
  };
  // Flags that add labels (vmagent -remoteWrite.label, vmalert -external.label), in scripts and compose.
  for (const m of text.matchAll(/-(?:remoteWrite\.label|external\.label)=["']?([A-Za-z_][A-Za-z0-9_]*)=/g)) out.push({ where: `${file}: ${m[0]}`, label: m[1] });
  if (!/\.ya?ml$/.test(file)) return out;
  const doc = yamlToJson(text) as Record<string, any> | null;
  if (!doc) return out;
  add(`${file}: global.external_labels`, doc.global?.external_labels);
  for (const job of doc.scrape_configs ?? []) {
    for (const sc of job.static_configs ?? []) add(`${file}: job ${job.job_name} static_configs labels`, sc.labels);
    for (const rc of [...(job.relabel_configs ?? []), ...(job.metric_relabel_configs ?? [])]) if (rc.target_label) out.push({ where: `${file}: job ${job.job_name} relabel target_label`, label: rc.target_label });
  }
  for (const g of doc.groups ?? []) for (const rule of g.rules ?? []) add(`${file}: ${rule.alert ?? rule.record} labels`, rule.labels);
  return out;
}

function shadowing(files: [string, string][]): Labelled[] {
  const catalog = new Set(CATALOG.flatMap((m) => m.labels));
  return files.flatMap(([f, text]) => staticLabels(f, text)).filter((l) => catalog.has(l.label));
}

function deployFiles(dir = file('deploy')): [string, string][] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && /\.(ya?ml|sh)$/.test(d.name))
    .map((d) => path.join(d.parentPath ?? d.path, d.name))
    .map((p): [string, string] => [path.relative(root, p), readFileSync(p, 'utf8')]);
}

test('no static label in deploy/ (or the stack script) shadows a label of the metric catalog', () => {
  const files = [...deployFiles(), ['scripts/stack.sh', readFileSync(file('scripts/stack.sh'), 'utf8')] as [string, string]];
  assert.ok(files.some(([f]) => f === 'deploy/vmagent/scrape.yml') && files.some(([f]) => f === 'deploy/alerts/pipeline.rules.yml'), files.map(([f]) => f).join(' '));
  assert.deepEqual(shadowing(files), []);
  // The check catches what shipped before: monitor-logs' target label `component` over its own.
  const old = "scrape_configs:\n  - job_name: pipeobs-monitor-logs\n    static_configs:\n      - targets: ['h:9108']\n        labels:\n          component: monitor-logs\n";
  assert.deepEqual(shadowing([['old-scrape.yml', old]]), [{ where: 'old-scrape.yml: job pipeobs-monitor-logs static_configs labels', label: 'component' }]);
  assert.deepEqual(shadowing([['x.sh', 'vmalert -external.label=stage=prod']]).map((l) => l.label), ['stage']);
});

const RULES: Record<string, string[]> = {
  'pipeline.rules.yml': ['PipelineRunsFailing', 'PipelineQualityLow', 'PipelineErrorRateSpike', 'PipelineStageSlow', 'PipelineNoSuccessfulRun', 'PipelineDataStale', 'LlmErrors'],
  'logs.rules.yml': ['KafkaConsumerLagGrowing', 'ModelConfidenceDropping', 'LogErrorRateHigh', 'LogsStale'],
};

test('the alert rules pass vmalert -dryRun and promtool check rules; each has summary, description and runbook', () => {
  assert.deepEqual(readdirSync(file('deploy/alerts')).sort(), Object.keys(RULES).sort());
  for (const [name, expected] of Object.entries(RULES)) {
    const rules = file('deploy/alerts', name);
    const v = run(requireBinary('vmalert'), [`-rule=${rules}`, '-dryRun']);
    assert.equal(v.code, 0, v.out);
    const p = run(requireBinary('promtool', 'prometheus'), ['check', 'rules', rules]);
    assert.equal(p.code, 0, p.out);
    const text = readFileSync(rules, 'utf8');
    const records = [...text.matchAll(/- record: (\S+)/g)].length;
    assert.match(p.out, new RegExp(`SUCCESS: ${expected.length + records} rules found`));
    const alerts = [...text.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    assert.deepEqual(alerts, expected);
    for (const field of ['summary:', 'description:', 'runbook:']) assert.equal(text.split(field).length - 1, alerts.length, `${name}: ${field}`);
  }
});

const VARIABLES: Record<string, string[]> = {
  'pipeline-observability.json': ['pipeline', 'environment'],
  'log-monitoring.json': ['dag_id', 'topic', 'consumer_group', 'model_version'],
};

test('the dashboards use the provisioned datasource uid, template variables, units and a refresh', () => {
  const ds = readFileSync(file('deploy/compose/grafana/provisioning/datasources/victoriametrics.yml'), 'utf8');
  const uid = /uid: (\S+)/.exec(ds)![1];
  assert.deepEqual(readdirSync(file('dashboards')).sort(), Object.keys(VARIABLES).sort());
  for (const f of readdirSync(file('dashboards'))) {
    const d = JSON.parse(readFileSync(file('dashboards', f), 'utf8'));
    assert.ok(d.uid && d.refresh && d.time.from, f);
    assert.deepEqual(d.templating.list.map((v: { name: string }) => v.name), VARIABLES[f], f);
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

test('after real runs of run-pipeline, ask and monitor-logs --server, every dashboard query and alert expression returns data, from catalog metrics only', async () => {
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
  // monitor-logs --server pushing every second, while more lines arrive.
  const logs = path.join(cwd, 'logs');
  mkdirSync(logs);
  const gen = async (seed: number, since: string) => {
    const r = await runCli(['gen-logs', '--format', 'kafka,ml,airflow-text', '--lines', '3000', '--since', since, '--lag', 'growing', '--confidence-drift', '0.4', '--error-rate', '0.1', '--seed', String(seed)], { cwd });
    appendFileSync(path.join(logs, 'app.log'), r.stdout);
  };
  await gen(1, '-20m');
  let fire: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
  const server = runCli(['monitor-logs', logs, '--server', '--port', '0', '--interval', '1s', '--poll', '50ms', '--start-at', 'beginning', '--no-state', '--push', 'prometheus', '-o', 'json'], { cwd, env: { PIPEOBS_VM_URL: vm.url }, onSignalRegistered: (f) => (fire = f) });
  try {
    await vm.queryWhen('sum(pipeobs_logs_lines_total)', (r) => r.length === 1 && r[0].value[1] === '3000', 30_000);
    await gen(2, '-5m');
    await vm.queryWhen('sum(pipeobs_logs_lines_total)', (r) => r.length === 1 && r[0].value[1] === '6000', 30_000);
    await vm.queryWhen('count_over_time(pipeobs_logs_lines_total{component="kafka"}[10m])', (r) => r.length === 1 && Number(r[0].value[1]) >= 3, 30_000);
  } finally {
    fire?.('SIGTERM');
    assert.equal((await server).code, 0);
  }
  const catalogNames = new Set(CATALOG.flatMap(seriesNames));
  const substitute = (e: string) => e.replace(/\$(pipeline|environment|dag_id|topic|consumer_group|model_version)\b/g, '.*').replace(/\$__range/g, '1h').replace(/\$__rate_interval/g, '5m');
  const exprs: [string, string][] = [];
  for (const f of Object.keys(VARIABLES)) {
    const d = JSON.parse(readFileSync(file('dashboards', f), 'utf8'));
    for (const p of d.panels) for (const t of p.targets ?? []) exprs.push([`${f} panel "${p.title}"`, substitute(t.expr)]);
  }
  for (const f of Object.keys(RULES)) {
    for (const m of readFileSync(file('deploy/alerts', f), 'utf8').matchAll(/- alert: (\w+)\n\s+expr: (.+)/g)) {
      exprs.push([`alert ${m[1]}`, m[2].replace(/\s*(>|<|>=|<=)\s*([\d.]+|on \([^)]*\) [\w:]+)\s*$/, '')]);
    }
  }
  assert.ok(exprs.length >= 56, `${exprs.length} expressions`);
  for (const [what, expr] of exprs) {
    for (const n of metricNames(expr)) assert.ok(catalogNames.has(n), `${what} uses ${n}, which is not in the catalog`);
    const r = await vm.queryWhen(expr, (x) => x.length > 0);
    assert.ok(r.length > 0, `${what} returned no data: ${expr}`);
  }
});
