/**
 * The README's recipe, reproduced: a real vmagent scraping run-pipeline's /metrics with the
 * shipped scrape config while run-pipeline also pushes. Each run must be counted once; the old
 * configuration (job, instance and a `component` target label kept) is reproduced too, to show
 * that the doubling was real and that `verify` catches it and names the fix.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from './helpers/cli.js';
import { freePort, startVictoriaMetrics, startVmagent, waitFor, type VictoriaMetrics } from './helpers/victoria.js';
import type { RunPipelineResult } from '../src/commands/run-pipeline.js';
import type { VerifyResult } from '../src/commands/verify.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHIPPED = readFileSync(path.join(root, 'deploy', 'vmagent', 'scrape.yml'), 'utf8');
/** The scrape job as it shipped before: job and instance kept, a `component` target label added. */
const OLD_JOB = (port: number) => `global:\n  scrape_interval: 1s\n  external_labels:\n    monitor: pipeobs\nscrape_configs:\n  - job_name: pipeobs-pipeline\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n        labels:\n          component: run-pipeline\n`;

let vm: VictoriaMetrics;
before(async () => {
  vm = await startVictoriaMetrics();
});
after(async () => {
  await vm?.cleanup();
});

/**
 * run-pipeline serving /metrics on `port` and pushing, three runs a second apart, scraped every
 * second by a real vmagent with `scrapeConfig`; returns the run summary once vmagent has scraped
 * the final values.
 */
async function scrapedAndPushed(pipeline: string, scrapeConfig: (port: number) => string): Promise<RunPipelineResult> {
  const port = await freePort();
  const agent = await startVmagent(vm.url, scrapeConfig(port));
  let stop: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
  const running = runCli(['run-pipeline', '--runs', '3', '--interval', '1', '--rows', '300', '--seed', '5', '--push', 'prometheus', '--pipeline-name', pipeline,
    '--metrics-port', String(port), '--keep-serving', '-o', 'json'], { cwd: tempDir(), env: { PIPEOBS_VM_URL: vm.url }, onSignalRegistered: (f) => (stop = f) });
  try {
    // Scraped after the last run: the scraped series holds the final count.
    await waitFor('vmagent to scrape the final values', async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      if (!/pipeline_runs_total\{[^}]*status="success"\} 3/.test(text)) return false;
      const r = await vm.query(`max_over_time(pipeline_runs_total{pipeline_name="${pipeline}",status="success"}[1m])`);
      return r.length > 0 && r.every((x) => x.value[1] === '3') && r;
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\nvmagent log: ${agent.logs()}`);
    });
    // a few more scrapes after the end
    await new Promise((res) => setTimeout(res, 2500));
  } finally {
    stop?.('SIGINT');
    await agent.cleanup();
  }
  const done = await running;
  assert.equal(done.code, 0, done.stderr);
  const doc = JSON.parse(done.stdout) as RunPipelineResult;
  assert.equal(doc.metrics.push.pushes.filter((p) => p.sent).length, 4);
  return doc;
}

test('the shipped scrape config and --push together: each run and each row counted once, in one series per metric', async () => {
  const doc = await scrapedAndPushed('merged', (port) => SHIPPED.replace('scrape_interval: 15s', 'scrape_interval: 1s').replace('%{PIPEOBS_TARGET_HOST}:8000', `127.0.0.1:${port}`));
  const loaded = doc.runs.reduce((n, r) => n + r.output.rows, 0);
  const extracted = doc.runs.reduce((n, r) => n + r.rowsRequested, 0);
  const sel = 'pipeline_name="merged"';
  const sum = async (q: string) => Number((await vm.queryWhen(q, (r) => r.length === 1))[0].value[1]);
  assert.equal(await sum(`sum(last_over_time(pipeline_runs_total{${sel},status="success"}[1h]))`), 3);
  assert.equal(await sum(`sum(last_over_time(pipeline_rows_processed_total{${sel},stage="load"}[1h]))`), loaded);
  assert.equal(await sum(`sum(increase(pipeline_rows_processed_total{${sel},stage="extract",data_source="orders"}[1h]))`), extracted);
  // One series, holding both the pushed samples and the scraped ones.
  const series = await vm.exportSeries(`pipeline_runs_total{${sel},status="success"}`);
  assert.equal(series.length, 1, JSON.stringify(series.map((s) => s.metric)));
  assert.deepEqual(Object.keys(series[0].metric).sort(), ['__name__', 'environment', 'pipeline_name', 'status']);
  assert.ok(series[0].values.length > 4, `pushed (4) and scraped samples in one series: ${series[0].values.length}`);
  // verify agrees: nothing arrives twice.
  const r = await runCli(['verify', '--only', 'double-ingestion', '-o', 'json'], { env: { PIPEOBS_VM_URL: vm.url } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test('the old scrape config doubled every sum; verify names the doubled series, both sources and the fix', async () => {
  const doc = await scrapedAndPushed('doubled', OLD_JOB);
  const loaded = doc.runs.reduce((n, r) => n + r.output.rows, 0);
  const sel = 'pipeline_name="doubled"';
  const sum = async (q: string) => Number((await vm.queryWhen(q, (r) => r.length === 1))[0].value[1]);
  // The bug as reported: 3 runs shown as 6.
  assert.equal(await sum(`sum(last_over_time(pipeline_runs_total{${sel},status="success"}[1h]))`), 6);
  assert.equal(await sum(`sum(last_over_time(pipeline_rows_processed_total{${sel},stage="load"}[1h]))`), 2 * loaded);
  const r = await runCli(['verify', '--only', 'double-ingestion', '-o', 'json'], { env: { PIPEOBS_VM_URL: vm.url } });
  assert.equal(r.code, 5, r.stderr);
  const check = (JSON.parse(r.stdout) as VerifyResult).checks[0];
  assert.equal(check.status, 'fail');
  assert.match(check.detail, /series of the last hour arrive twice, so every sum over them is doubled: pipeline_\w+\{[^}]*pipeline_name="doubled"[^}]*\} comes as \{\} and \{component="run-pipeline",instance="127\.0\.0\.1:\d+",job="pipeobs-pipeline",monitor="pipeobs"\}/);
  assert.match(check.fix!, /deploy\/vmagent\/scrape.yml \(its jobs drop job and instance/);
  assert.match(check.fix!, /no --push for a process vmagent scrapes/);
});
