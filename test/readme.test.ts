/**
 * The README's examples, run as a new user would run them, against a real VictoriaMetrics holding
 * known data: five cron-style runs of run-pipeline over the last two and a half hours, the last
 * one three minutes ago. Only the blocks marked `<!-- doc-test: NAME -->` (the line just before the
 * code fence) are run, so a section added later does not break this test by accident; a marked
 * block this test does not know fails it. Every command must succeed with a non-empty result, and
 * the numbers are checked against the runs' own summaries and Parquet files. `/data/metrics` in
 * the examples is replaced by a temporary directory.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { runCli, tempDir, type CliRun } from './helpers/cli.js';
import { startVictoriaMetrics, type VictoriaMetrics } from './helpers/victoria.js';
import type { RunPipelineResult } from '../src/commands/run-pipeline.js';
import type { RunSummary } from '../src/core/pipeline/run.js';
import type { JsonCase } from '../src/core/output/render.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MIN = 60_000;
const RUNS_AGO = [150, 95, 50, 20, 3];

interface Block { name: string; lang: string; body: string }

/** The marked blocks of the README, in order. */
export function docTestBlocks(markdown: string): Block[] {
  const out: Block[] = [];
  for (const m of markdown.matchAll(/^<!-- doc-test: ([\w-]+)[^\n]*-->\n```(\w*)\n([\s\S]*?)\n```$/gm)) out.push({ name: m[1], lang: m[2], body: m[3] });
  return out;
}

/** Shell words of one command line: quotes, adjacent parts (name='x'), a trailing comment. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") {
      const j = line.indexOf("'", i + 1);
      cur = (cur ?? '') + line.slice(i + 1, j);
      i = j;
    } else if (c === '"') {
      let j = i + 1;
      let s = '';
      for (; line[j] !== '"'; j++) s += line[j] === '\\' && /["\\$`]/.test(line[j + 1]) ? line[++j] : line[j];
      cur = (cur ?? '') + s;
      i = j;
    } else if (c === '#' && cur === null) break;
    else if (/\s/.test(c)) {
      if (cur !== null) words.push(cur);
      cur = null;
    } else cur = (cur ?? '') + c;
  }
  if (cur !== null) words.push(cur);
  return words;
}

/** The pipeobs commands of a block (continuation lines joined; `$ ` prompts dropped), each with the line shown after it. */
function commands(block: Block): { argv: string[]; firstOutputLine: string | null }[] {
  const lines = block.body.split('\n');
  const out: { argv: string[]; firstOutputLine: string | null }[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].replace(/^\$ /, '');
    if (!line.startsWith('pipeobs ')) continue;
    for (;;) {
      if (line.endsWith('\\')) line = `${line.slice(0, -1)}\n${lines[++i]}`;
      else if (openQuote(line)) line = `${line}\n${lines[++i]}`;
      else break;
    }
    const argv = shellWords(line.replace(/\/data\/metrics/g, '{METRICS}'));
    out.push({ argv: argv.slice(1), firstOutputLine: lines[i + 1] && !lines[i + 1].startsWith('$') && !lines[i + 1].startsWith('pipeobs ') ? lines[i + 1] : null });
  }
  return out;
}

/** Whether a line ends inside a quoted string (the command goes on on the next line). */
function openQuote(line: string): boolean {
  let q: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q === null && (c === "'" || c === '"')) q = c;
    else if (q === '"' && c === '\\') i++;
    else if (c === q) q = null;
  }
  return q !== null;
}

const tsv = (text: string) => text.trim().split('\n').map((l) => l.split('\t'));

let vm: VictoriaMetrics;
let cwd: string;
let runs: JsonCase<RunSummary>[] = [];
const NOW = Date.now();
let t0 = 0;

before(async () => {
  t0 = performance.now();
  vm = await startVictoriaMetrics();
  cwd = tempDir('pipeobs-readme-');
  for (const [i, ago] of RUNS_AGO.entries()) {
    const simStart = NOW - ago * MIN;
    const real0 = performance.now();
    const r = await runCli(['run-pipeline', '--once', '--rows', '500', '--seed', String(i + 1), '--inject-errors', '0.03', '--push', 'prometheus', '--no-metrics-server', '-o', 'json'],
      { cwd, env: { PIPEOBS_VM_URL: vm.url }, now: () => new Date(simStart + performance.now() - real0) });
    assert.equal(r.code, 0, r.stderr);
    runs.push((JSON.parse(r.stdout) as JsonCase<RunPipelineResult>).runs[0]);
  }
  await vm.exportWhen('pipeline_last_run_start_timestamp_seconds', (x) => x.length === 1 && x[0].values.length === RUNS_AGO.length);
});
after(async () => {
  await vm?.cleanup();
});

async function pipeobs(argv: string[]): Promise<CliRun> {
  const resolved = argv.map((a) => a.replaceAll('{METRICS}', path.join(cwd, 'metrics')));
  // the examples run "now", a moment after the last run
  return runCli(resolved, { cwd, env: { PIPEOBS_VM_URL: vm.url }, now: () => new Date(NOW) });
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const stageRows = (r: JsonCase<RunSummary>, stage: string) => r.stages.find((s) => s.stage === stage)!.rows_out;
const within = (minutes: number) => runs.filter((_, i) => RUNS_AGO[i] < minutes);

const CHECKS: Record<string, (block: Block) => Promise<void>> = {
  async query(block) {
    const [instant, csv, parquet] = commands(block);
    const a = await pipeobs(instant.argv);
    assert.equal(a.code, 0, a.stderr);
    const [head, ...rows] = tsv(a.stdout);
    const by = Object.fromEntries(rows.map((r) => [r[head.indexOf('stage')], Number(r[head.indexOf('value')])]));
    assert.deepEqual(by, Object.fromEntries(['extract', 'load', 'quality', 'transform'].map((s) => [s, sum(within(60).map((r) => stageRows(r, s)))])), a.stdout);

    const b = await pipeobs(csv.argv);
    assert.equal(b.code, 0, b.stderr);
    const lines = b.stdout.trim().split('\n');
    assert.ok(lines.length >= 2, `only the header: ${b.stdout}`);
    assert.equal(Number(lines.at(-1)!.split(',').at(-1)), runs.at(-1)!.quality!.score, 'the last point is the last run\'s score');

    const c = await pipeobs(parquet.argv);
    assert.equal(c.code, 0, c.stderr);
    const file = path.join(cwd, parquet.argv[parquet.argv.indexOf('--parquet') + 1]);
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const got = (await conn.runAndReadAll(`SELECT status, value FROM '${file}' ORDER BY status`)).getRowObjectsJS();
    conn.closeSync();
    db.closeSync();
    assert.deepEqual(got, [{ status: 'abandoned', value: 0 }, { status: 'failed', value: 0 }, { status: 'success', value: RUNS_AGO.length }]);
  },
  async reports(block) {
    const cmds = commands(block);
    assert.deepEqual(cmds.map((c) => c.argv[2]), ['summary', 'stages', 'freshness', 'business']);
    for (const c of cmds) {
      const r = await pipeobs(c.argv);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      // the columns shown in the README are the ones printed (business prints a table name first)
      const shownHeader = c.firstOutputLine === 'runs' ? block.body.split('\n')[block.body.split('\n').indexOf('runs') + 1] : c.firstOutputLine!;
      const header = lines[0] === 'runs' ? lines[1] : lines[0];
      assert.deepEqual(header.split(/\s+/), shownHeader.split(/\s+/), `${c.argv.join(' ')}`);
      assert.ok(lines.length >= 2 && !r.stdout.includes('no data in this window'), r.stdout);
      if (c.argv[2] === 'business') {
        const table = tsv(r.stdout.split('\n\n')[0].split('\n').slice(1).join('\n'));
        assert.deepEqual(table.slice(1).map((x) => [x[0], x.at(-1)]), within(60).map((s) => [s.run_id, 'ok']));
      }
      if (c.argv[2] === 'summary') {
        const [h, row] = tsv(r.stdout);
        assert.equal(Number(row[h.indexOf('runs')]), within(60).length);
        assert.equal(Number(row[h.indexOf('rows_loaded')]), sum(within(60).map((s) => s.output.rows)));
      }
    }
  },
  async 'sql-join'(block) {
    const [c] = commands(block);
    const r = await pipeobs(c.argv);
    assert.equal(r.code, 0, r.stderr);
    const [h, ...rows] = tsv(r.stdout);
    assert.deepEqual(h, ['ts', 'rows', 'orders', 'revenue']);
    assert.ok(rows.length >= 1, r.stdout);
    // every run's orders are on the hour whose loaded rows include them
    assert.equal(sum(rows.map((x) => Number(x[2]))), sum(runs.map((s) => s.output.rows)));
    assert.equal(sum(rows.map((x) => Number(x[1]))), sum(runs.map((s) => s.output.rows)));
    for (const x of rows) assert.equal(Number(x[1]), Number(x[2]), `loaded rows and orders of the hour ending ${x[0]}`);
  },
  async export(block) {
    const [c] = commands(block);
    const r = await pipeobs(c.argv);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^exported \d+ series, \d+ samples/);
    assert.ok(existsSync(path.join(cwd, 'metrics')));
  },
  async duckdb(block) {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const got = (await conn.runAndReadAll(block.body.replaceAll('/data/metrics', path.join(cwd, 'metrics')))).getRowObjectsJS();
    conn.closeSync();
    db.closeSync();
    // the export above covered the last hour
    const byStage = Object.fromEntries(got.map((x) => [x.stage, Number(x.rows)]));
    assert.deepEqual(byStage, Object.fromEntries(['extract', 'load', 'quality', 'transform'].map((s) => [s, sum(within(60).map((r) => stageRows(r, s)))])));
  },
};

test('every marked README example returns a correct, non-empty result on first use', async () => {
  const blocks = docTestBlocks(readFileSync(path.join(root, 'README.md'), 'utf8'));
  assert.deepEqual(blocks.map((b) => b.name), ['query', 'reports', 'sql-join', 'export', 'duckdb'], 'the marked blocks, in README order');
  for (const b of blocks) {
    const check = CHECKS[b.name];
    assert.ok(check, `README block "${b.name}" is marked for the doc test, which does not know it: add its check to test/readme.test.ts`);
    await check(b);
  }
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(seconds < 60, `the documentation test took ${seconds} s`);
});

test('the shell-word reader reads the README\'s quoting as a shell does', () => {
  assert.deepEqual(shellWords(`pipeobs query 'a{b="c"}' --with orders='x/*.parquet' --sql "SELECT 'h' \\"q\\"" # note`), ['pipeobs', 'query', 'a{b="c"}', '--with', 'orders=x/*.parquet', '--sql', `SELECT 'h' "q"`]);
});
