import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadDuckRunner } from '../../src/core/export/duck-runner.js';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { runCli, tempDir } from '../helpers/cli.js';
import { freePort, startVictoriaMetrics, waitFor, type VictoriaMetrics } from '../helpers/victoria.js';
import type { ExportSummary } from '../../src/core/export/job.js';
import { COMMON_LABELS } from '../../src/core/export/parquet.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
let vm: VictoriaMetrics;
const MIN = 60_000;
const BASE = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 2 * 86_400_000 + 22 * 3_600_000; // the day before yesterday, 22:00 UTC
const HOSTILE = 'a "quoted", value\\ with ünïcode 🚀';

/** Four hours of samples every 30 s across midnight: pipeline series, series with extra labels, a hostile one. */
function knownData(): string {
  let out = '';
  for (let i = 0; i < 480; i++) {
    const t = BASE + i * 30_000;
    out += `pipeline_rows_processed_total{pipeline_name="orders",environment="prod",stage="load",data_source="orders"} ${i * 100} ${t}\n`;
    out += `pipeline_data_quality_score{pipeline_name="orders",environment="prod",check_type="overall"} ${90 + (i % 10)} ${t}\n`;
    out += `pipeline_data_quality_score{pipeline_name="billing",environment="prod",check_type="overall",team="finance",region="eu"} ${80 + (i % 7) / 4} ${t}\n`;
    // Other labels [(region, eu)] against [(region, eu), (team, finance)] above: the prefix sorts first.
    out += `pipeline_data_quality_score{pipeline_name="billing",environment="prod",check_type="overall",region="eu"} ${70 + (i % 3)} ${t}\n`;
    out += `pipeline_errors_total{pipeline_name=${JSON.stringify(HOSTILE)},environment="dev",stage="quality",error_type="null_required",note="x=1,y=2"} ${i} ${t}\n`;
  }
  return out;
}

before(async () => {
  vm = await startVictoriaMetrics();
  const res = await fetch(`${vm.url}/api/v1/import/prometheus`, { method: 'POST', body: knownData() });
  assert.equal(res.status, 204);
  await vm.queryWhen('sum(count_over_time({__name__=~"pipeline_.*"}[3d]))', (r) => r.length === 1 && Number(r[0].value[1]) === 5 * 480, 20_000);
});
after(async () => {
  await vm?.cleanup();
});

interface Row { metric: string; labels: Record<string, string>; ts: number; value: number }

/** What /api/v1/export says for the window (after, until], flattened and keyed. */
async function exported(afterMs: number, untilMs: number): Promise<Row[]> {
  const out: Row[] = [];
  for (const s of await vm.exportSeries('{__name__=~"pipeline_.*"}')) {
    const { __name__, ...labels } = s.metric;
    s.timestamps.forEach((t, i) => {
      if (t > afterMs && t <= untilMs) out.push({ metric: __name__, labels, ts: t, value: s.values[i] });
    });
  }
  return out;
}

const COLS = [...COMMON_LABELS];

/** Reads every Parquet file under dir with DuckDB (a connection of its own), in file-name order, as rows. */
async function readDuck(dir: string): Promise<{ rows: Row[]; perFile: Row[][] }> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const files = listParquet(dir);
  const perFile: Row[][] = [];
  for (const f of files) {
    const r = (await conn.runAndReadAll(`SELECT metric, ${COLS.map((c) => `"${c}"`).join(', ')}, map_entries(labels) AS other, epoch_ms("timestamp") AS ts, value FROM read_parquet('${f}')`)).getRowObjectsJS();
    const rows = r.map((x) => {
      const labels: Record<string, string> = {};
      for (const c of COLS) if (x[c] !== null) labels[c] = x[c] as string;
      for (const e of x.other as { key: string; value: string }[]) labels[e.key] = e.value;
      return { metric: x.metric as string, labels, ts: Number(x.ts), value: x.value as number };
    });
    // Every row lies in the partition its file is in.
    const day = /date=(\d{4}-\d\d-\d\d)/.exec(f)?.[1];
    const hour = /hour=(\d\d)/.exec(f)?.[1];
    for (const row of rows) {
      const iso = new Date(row.ts).toISOString();
      if (day) assert.equal(iso.slice(0, 10), day, `${f}: a row of ${iso}`);
      if (hour) assert.equal(iso.slice(11, 13), hour, `${f}: a row of ${iso}`);
    }
    perFile.push(rows);
  }
  // The Hive layout reads as partitions.
  if (files.length) {
    // DuckDB recognises date=YYYY-MM-DD directories as a DATE column.
    const parts = (await conn.runAndReadAll(`SELECT DISTINCT strftime(date, '%Y-%m-%d') FROM read_parquet('${dir}/**/*.parquet', hive_partitioning = true) ORDER BY 1`)).getRowsJS().map((r) => String(r[0]));
    assert.deepEqual(parts, [...new Set(files.map((f) => /date=(\d{4}-\d\d-\d\d)/.exec(f)?.[1]).filter(Boolean))].sort());
  }
  conn.closeSync();
  db.closeSync();
  return { rows: perFile.flat(), perFile };
}

function listParquet(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.parquet')) out.push(path.join(d, e.name));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/**
 * The documented order, written out independently: metric; each common label, a missing one first;
 * the other labels as a list of [name, value] pairs sorted by name, compared pair by pair (a list
 * that is a prefix of another first); time.
 */
function compareRows(a: Row, b: Row): number {
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  const others = (r: Row) => Object.entries(r.labels).filter(([k]) => !COLS.includes(k)).sort(([x], [y]) => cmp(x, y));
  let c = cmp(a.metric, b.metric);
  for (const l of COLS) c ||= cmp(a.labels[l] ?? '', b.labels[l] ?? '');
  if (c) return c;
  const [x, y] = [others(a), others(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    c = cmp(x[i][0], y[i][0]) || cmp(x[i][1], y[i][1]);
    if (c) return c;
  }
  return x.length - y.length || a.ts - b.ts;
}

const key = (r: Row) => `${r.metric}|${JSON.stringify(Object.entries(r.labels).sort())}|${r.ts}`;
function sameSamples(got: Row[], want: Row[]) {
  const g = new Map(got.map((r) => [key(r), r.value]));
  assert.equal(g.size, got.length, 'no sample twice');
  assert.equal(got.length, want.length, 'sample count');
  for (const w of want) assert.equal(g.get(key(w)), w.value, key(w));
}

async function exportCli(args: string[], opts: { now?: Date; cwd?: string; env?: Record<string, string> } = {}) {
  const r = await runCli(['export-parquet', '-o', 'json', ...args], { cwd: opts.cwd, now: opts.now ? () => opts.now! : undefined, env: { PIPEOBS_VM_URL: vm.url, ...opts.env } });
  return { ...r, doc: r.code === 0 ? (JSON.parse(r.stdout) as ExportSummary) : null };
}

test('every sample of the window, in two independent readers, sorted by metric, labels, time, partitioned by day', async () => {
  const out = tempDir();
  const after = BASE - MIN;
  const until = BASE + 4 * 3_600_000;
  const r = await exportCli(['--out', out, '--start', String(after / 1000), '--end', String(until / 1000)]);
  assert.equal(r.code, 0, r.stderr);
  const want = await exported(after, until);
  assert.equal(want.length, 5 * 480);
  assert.equal(r.doc!.samples, want.length);
  assert.equal(r.doc!.series, 5);
  const { rows, perFile } = await readDuck(out);
  sameSamples(rows, want);
  // Files are named by partition; the window crosses midnight, so two days.
  const dirs = readdirSync(out).filter((d) => !d.startsWith('.')).sort();
  assert.equal(dirs.length, 2);
  assert.ok(dirs.every((d) => /^date=\d{4}-\d\d-\d\d$/.test(d)));
  // Within each file: sorted by metric, then common labels, then the others, then time.
  for (const f of perFile) {
    for (let i = 1; i < f.length; i++) assert.ok(compareRows(f[i - 1], f[i]) <= 0, `row ${i} out of order in a file: ${JSON.stringify(f[i - 1])} then ${JSON.stringify(f[i])}`);
  }
  // The hostile label values and the extra labels survive exactly.
  assert.ok(rows.some((x) => x.labels.pipeline_name === HOSTILE && x.labels.note === 'x=1,y=2'));
  assert.ok(rows.some((x) => x.labels.team === 'finance' && x.labels.region === 'eu'));
  // An independent reader: hyparquet.
  let hy = 0;
  for (const f of listParquet(out)) {
    const objs = await parquetReadObjects({ file: await asyncBufferFromFile(f), compressors });
    for (const o of objs) {
      const ts = o.timestamp instanceof Date ? o.timestamp.getTime() : Number(o.timestamp) / 1000;
      const w = want.find((x) => x.ts === ts && x.metric === o.metric && x.labels.pipeline_name === o.pipeline_name && x.labels.check_type === (o.check_type ?? undefined) && (x.labels.team ?? null) === ((o.labels as Record<string, string> | undefined)?.team ?? null));
      assert.ok(w, `hyparquet row ${JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? String(v) : v))} not in the export`);
      assert.equal(o.value, w.value);
      hy++;
    }
  }
  assert.equal(hy, want.length);
});

test('--partition-by hour and none', async () => {
  const after = BASE - MIN;
  const until = BASE + 2 * 3_600_000;
  const hour = tempDir();
  const h = await exportCli(['--out', hour, '--start', String(after / 1000), '--end', String(until / 1000), '--partition-by', 'hour']);
  assert.equal(h.code, 0, h.stderr);
  const dirs = listParquet(hour).map((f) => path.relative(hour, path.dirname(f)));
  assert.deepEqual([...new Set(dirs.map((d) => d.replace(/\d{4}-\d\d-\d\d/, 'D')))].sort(), ['date=D/hour=00', 'date=D/hour=22', 'date=D/hour=23']);
  sameSamples((await readDuck(hour)).rows, await exported(after, until));
  const none = tempDir();
  const n = await exportCli(['--out', none, '--start', String(after / 1000), '--end', String(until / 1000), '--partition-by', 'none']);
  assert.equal(n.code, 0, n.stderr);
  assert.ok(listParquet(none).every((f) => path.dirname(f) === none));
});

test('incremental runs over a moving window: their union equals one full export, no gap, no duplicate', async () => {
  const out = tempDir();
  const first = BASE + 17 * MIN + 13_000;
  const docs: ExportSummary[] = [];
  for (let k = 0; k < 6; k++) {
    const now = new Date(first + k * 41 * MIN + 60_000); // the 60 s safety lag puts each end at first + k * 41 min
    const r = await exportCli(['--out', out, '--incremental', '--start', String(BASE / 1000 - 60)], { now });
    assert.equal(r.code, 0, r.stderr);
    docs.push(r.doc!);
  }
  for (let k = 1; k < docs.length; k++) assert.equal(docs[k].window!.after, docs[k - 1].window!.until, 'each run starts where the last ended');
  const until = first + 5 * 41 * MIN;
  sameSamples((await readDuck(out)).rows, await exported(BASE - 60_000, until));
  const state = JSON.parse(readFileSync(path.join(out, '.pipeobs-export-state.json'), 'utf8'));
  assert.equal(state.last_end_ms, until);
  // Nothing new yet: an up-to-date run writes nothing and keeps the state.
  const again = await exportCli(['--out', out, '--incremental'], { now: new Date(until + 60_000) });
  assert.equal(again.doc!.up_to_date, true);
  // A different selection into the same directory is refused.
  const other = await exportCli(['--out', out, '--incremental', '--match', 'up'], { now: new Date(until + 120_000) });
  assert.equal(other.code, 2);
  assert.match(other.stderr, /holds an export of --match .* this run asks for --match up/);
});

test('a run killed mid-write leaves no partial file and no state change; the next run recovers', async () => {
  const out = tempDir();
  // Enough data that the run is still busy when it is killed.
  let big = '';
  for (let i = 0; i < 200_000; i++) big += `kill_test_metric{pipeline_name="p${i % 50}"} ${i} ${BASE + Math.floor(i / 50) * 1000}\n`;
  await fetch(`${vm.url}/api/v1/import/prometheus`, { method: 'POST', body: big });
  await vm.queryWhen('sum(count_over_time(kill_test_metric[3d]))', (r) => r.length === 1 && Number(r[0].value[1]) === 200_000, 20_000);
  const args = ['--vm-url', vm.url, 'export-parquet', '--out', out, '--match', 'kill_test_metric', '--start', String(BASE / 1000 - 60), '--end', String(BASE / 1000 + 4000)];
  const child = spawn(process.execPath, [path.join(root, 'bin', 'pipeobs'), ...args], { stdio: 'ignore', env: { ...process.env, CI: 'true' } });
  await waitFor('the export to start writing', async () => existsSync(path.join(out, '.pipeobs-tmp', 'current', 'json', 'chunk-0000.jsonl')), 20_000, 5);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.deepEqual(listParquet(out), [], 'no file outside the temporary directory');
  assert.ok(!existsSync(path.join(out, '.pipeobs-export-state.json')));
  const r = await exportCli(['--out', out, '--match', 'kill_test_metric', '--start', String(BASE / 1000 - 60), '--end', String(BASE / 1000 + 4000)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.doc!.recovered ?? '', /removed the partial files of an interrupted run/);
  assert.equal(r.doc!.samples, 200_000);
  assert.ok(!existsSync(path.join(out, '.pipeobs-tmp')));
  assert.ok(!existsSync(path.join(out, '.pipeobs-export.lock')));
});

test('a run that died after committing is rolled forward: its files moved, its state written', async () => {
  const out = tempDir();
  const tmp = path.join(out, '.pipeobs-tmp', 'current', 'data', 'c0000', 'date=2026-01-01');
  mkdirSync(tmp, { recursive: true });
  writeFileSync(path.join(tmp, 'part-0.parquet'), 'PAR1');
  const to = path.join(out, 'date=2026-01-01', 'part-1-2-0000-0.parquet');
  const state = { version: 1, last_end_ms: BASE, match: ['{__name__=~"pipeline_.*"}'], partition_by: 'day', updated_at: 'x' };
  writeFileSync(path.join(out, '.pipeobs-tmp', 'pending.json'), JSON.stringify({ until_ms: BASE, moves: [{ from: path.join(tmp, 'part-0.parquet'), to }], state }));
  const r = await exportCli(['--out', out, '--incremental', '--match', '{__name__=~"pipeline_.*"}'], { now: new Date(BASE + 30 * MIN) });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.doc!.recovered ?? '', /finished an interrupted run: 1 files/);
  assert.equal(readFileSync(to, 'utf8'), 'PAR1');
  assert.equal(r.doc!.window!.after, new Date(BASE).toISOString(), 'the next window starts at the recovered end');
});

test('a lock held by a live process stops a second run; a dead holder\'s lock is taken over', async () => {
  const out = tempDir();
  writeFileSync(path.join(out, '.pipeobs-export.lock'), String(process.ppid));
  const r = await exportCli(['--out', out]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`another export-parquet \\(pid ${process.ppid}\\) is writing to`));
  writeFileSync(path.join(out, '.pipeobs-export.lock'), '2147483000');
  const ok = await exportCli(['--out', out, '--start', String(BASE / 1000), '--end', String(BASE / 1000 + 60)]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(!existsSync(path.join(out, '.pipeobs-export.lock')));
});

test('bad input: each a clear error and the documented exit code; a failed run changes nothing', async () => {
  const out = tempDir();
  const sel = await exportCli(['--out', out, '--match', 'sum(']);
  assert.equal(sel.code, 2);
  assert.match(sel.stderr, /VictoriaMetrics rejected export \(HTTP 400\)/);
  const order = await exportCli(['--out', out, '--start', '-1h', '--end', '-2h']);
  assert.equal(order.code, 2);
  assert.match(order.stderr, /--start .* is not before --end/);
  const file = path.join(tempDir(), 'a-file');
  writeFileSync(file, 'x');
  const unwritable = await exportCli(['--out', path.join(file, 'sub')]);
  assert.equal(unwritable.code, 2);
  assert.match(unwritable.stderr, /cannot write to --out .*a-file\/sub: (ENOTDIR|EEXIST)/);
  const inc = await exportCli(['--out', out, '--incremental', '--start', String(BASE / 1000)], { now: new Date(BASE + 10 * MIN) });
  assert.equal(inc.code, 0);
  const stateBefore = readFileSync(path.join(out, '.pipeobs-export-state.json'), 'utf8');
  const filesBefore = listParquet(out);
  const port = await freePort();
  const down = await exportCli(['--out', out, '--incremental'], { now: new Date(BASE + 20 * MIN), env: { PIPEOBS_VM_URL: `http://127.0.0.1:${port}`, PIPEOBS_VM_RETRIES: '0' } });
  assert.equal(down.code, 4);
  assert.match(down.stderr, /cannot reach VictoriaMetrics at .*\/api\/v1\/export for export/);
  assert.equal(readFileSync(path.join(out, '.pipeobs-export-state.json'), 'utf8'), stateBefore);
  assert.deepEqual(listParquet(out), filesBefore);
  assert.ok(!existsSync(path.join(out, '.pipeobs-tmp')));
  const withEnd = await exportCli(['--out', out, '--incremental', '--end', 'now']);
  assert.equal(withEnd.code, 2);
});

const WINDOW = ['--start', String((BASE - MIN) / 1000), '--end', String((BASE + 4 * 3_600_000) / 1000)];

function fileSizes(dir: string): Record<string, number> {
  return Object.fromEntries(listParquet(dir).map((f) => [f, statSync(f).size]));
}

test('the same window exported again into one --out is refused, saying which window it already holds; each sample exists once', async () => {
  const out = tempDir();
  const first = await exportCli(['--out', out, ...WINDOW]);
  assert.equal(first.code, 0, first.stderr);
  const files = fileSizes(out);
  const again = await exportCli(['--out', out, ...WINDOW]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already holds \(.*\] of --match .*, which overlaps this run's window .*: its samples would be stored twice/);
  assert.match(again.stderr, /hint: export only what is missing \(--start /);
  // An overlapping window (a relative --start run a little later) is refused as well.
  const overlapping = await exportCli(['--out', out, '--start', String(BASE / 1000 + 3600), '--end', String(BASE / 1000 + 5 * 3600)]);
  assert.equal(overlapping.code, 2);
  assert.deepEqual(fileSizes(out), files);
  // What is missing can be added: the window right after.
  const next = await exportCli(['--out', out, '--start', String(BASE / 1000 + 4 * 3600), '--end', String(BASE / 1000 + 5 * 3600)]);
  assert.equal(next.code, 0, next.stderr);
  sameSamples((await readDuck(out)).rows, await exported(BASE - MIN, BASE + 5 * 3_600_000));
});

test('six runs started together into one --out: exactly one exports, the others refuse; each sample exists once', async () => {
  const out = tempDir();
  const args = ['--vm-url', vm.url, 'export-parquet', '--out', out, '-o', 'json', ...WINDOW];
  const runs = await Promise.all(
    Array.from({ length: 6 }, () =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [path.join(root, 'bin', 'pipeobs'), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CI: 'true' } });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.once('exit', (code) => resolve({ code, stderr }));
      }),
    ),
  );
  assert.equal(runs.filter((r) => r.code === 0).length, 1, runs.map((r) => r.stderr).join('\n'));
  for (const r of runs.filter((x) => x.code !== 0)) {
    assert.ok(
      (r.code === 1 && /another export-parquet \(pid \d+\) is writing to/.test(r.stderr)) || (r.code === 2 && /already holds/.test(r.stderr)),
      `${r.code}: ${r.stderr}`,
    );
  }
  sameSamples((await readDuck(out)).rows, await exported(BASE - MIN, BASE + 4 * 3_600_000));
  assert.ok(!existsSync(path.join(out, '.pipeobs-export.lock')));
});

test('a forged manifest that moves a file outside --out is refused (exit 3) and moves nothing', async () => {
  const out = tempDir();
  const victim = path.join(tempDir(), 'victim.txt');
  writeFileSync(victim, 'keep');
  mkdirSync(path.join(out, '.pipeobs-tmp'), { recursive: true });
  const outside = path.join(path.dirname(out), 'stolen.parquet');
  writeFileSync(path.join(out, '.pipeobs-tmp', 'pending.json'), JSON.stringify({ until_ms: BASE, moves: [{ from: victim, to: path.join(out, 'x.parquet') }], state: null }));
  const r = await exportCli(['--out', out, ...WINDOW]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /pending\.json: moves\[0\]\.from ".*victim\.txt" is outside .*\.pipeobs-tmp/);
  assert.equal(readFileSync(victim, 'utf8'), 'keep');
  writeFileSync(path.join(out, '.pipeobs-tmp', 'pending.json'), JSON.stringify({ until_ms: BASE, moves: [{ from: path.join(out, '.pipeobs-tmp', 'a.parquet'), to: outside }], state: null }));
  const r2 = await exportCli(['--out', out, ...WINDOW]);
  assert.equal(r2.code, 3);
  assert.match(r2.stderr, /moves\[0\]\.to ".*stolen\.parquet" is outside /);
  assert.ok(!existsSync(outside));
  assert.deepEqual(listParquet(out), []);
});

test('a damaged state file is a configuration error naming the field, never a full re-export', async () => {
  const cases: [unknown, RegExp][] = [
    [null, /state-file\.json: the state must be an object, not null/],
    [{ version: 1, last_end_ms: BASE + 10 * 86_400_000, match: ['{__name__=~"pipeline_.*"}'], partition_by: 'day' }, /the state\.last_end_ms is .*, in the future/],
    [{ version: 1, last_end_ms: 12.5, match: ['{__name__=~"pipeline_.*"}'], partition_by: 'day' }, /the state\.last_end_ms must be a time in milliseconds, not 12\.5/],
    [{ version: 2, last_end_ms: BASE, match: ['x'], partition_by: 'day', exported: [{ after_ms: BASE, until_ms: BASE - 1, match: ['x'], partition_by: 'day' }] }, /the state\.exported\[0\] ends .* before it starts/],
    [{ version: 7 }, /the state\.version must be 1 or 2, not 7/],
  ];
  for (const [doc, message] of cases) {
    const out = tempDir();
    writeFileSync(path.join(out, '.pipeobs-export-state.json'), JSON.stringify(doc));
    const r = await exportCli(['--out', out, '--incremental', '--match', '{__name__=~"pipeline_.*"}', '--start', String(BASE / 1000 - 60)], { now: new Date(BASE + 4 * 3_600_000) });
    assert.equal(r.code, 3, `${JSON.stringify(doc)}: ${r.stderr}`);
    assert.match(r.stderr.replace('.pipeobs-export-state.json', 'state-file.json'), message);
    assert.match(r.stderr, /hint: it is pipeobs' own file: if it was damaged, move it away/);
    assert.deepEqual(listParquet(out), [], 'nothing exported');
  }
});

/** A real HTTP server in front of VictoriaMetrics whose /api/v1/export answer arrives as `serve` decides. */
async function slowProxy(serve: (body: Buffer, res: http.ServerResponse) => Promise<void>): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const upstream = await fetch(`${vm.url}${req.url}`, { method: req.method, headers: { 'Content-Type': String(req.headers['content-type'] ?? '') }, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined });
    const body = Buffer.from(await upstream.arrayBuffer());
    if (!req.url!.startsWith('/api/v1/export')) {
      res.writeHead(upstream.status, { 'Content-Type': upstream.headers.get('content-type') ?? 'text/plain' }).end(body);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/stream+json' });
    await serve(body, res);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the timeout is per read: a slow export that keeps sending succeeds; a stalled one or a server dying mid-export exits 4 and changes nothing', async () => {
  const pieces = (body: Buffer, n: number) => Array.from({ length: n }, (_, i) => body.subarray(Math.floor((i * body.length) / n), Math.floor(((i + 1) * body.length) / n)));
  // 8 pieces 300 ms apart: 2.1 s in all, with a 0.5 s timeout.
  const slow = await slowProxy(async (body, res) => {
    for (const p of pieces(body, 8)) {
      res.write(p);
      await pause(300);
    }
    res.end();
  });
  const out = tempDir();
  try {
    const r = await exportCli(['--out', out, ...WINDOW], { env: { PIPEOBS_VM_URL: slow.url, PIPEOBS_VM_TIMEOUT: '0.5' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.doc!.samples, 5 * 480);
    sameSamples((await readDuck(out)).rows, await exported(BASE - MIN, BASE + 4 * 3_600_000));
  } finally {
    await slow.close();
  }
  const stateBefore = readFileSync(path.join(out, '.pipeobs-export-state.json'), 'utf8');
  const filesBefore = fileSizes(out);
  const next = ['--out', out, '--start', String(BASE / 1000 + 4 * 3600), '--end', String(BASE / 1000 + 8 * 3600)];
  // A stall longer than the timeout after the first bytes.
  const stalled = await slowProxy(async (body, res) => {
    res.write(pieces(body, 2)[0]);
    await pause(2_000);
    res.end();
  });
  try {
    const r = await exportCli(next, { env: { PIPEOBS_VM_URL: stalled.url, PIPEOBS_VM_TIMEOUT: '0.5', PIPEOBS_VM_RETRIES: '0' } });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /error: VictoriaMetrics at http:\/\/127\.0\.0\.1:\d+\/api\/v1\/export stopped sending export midway \(the answer was cut off: no data for 0\.5 s in the middle of the answer\)\nhint: .*raise PIPEOBS_VM_TIMEOUT/);
  } finally {
    await stalled.close();
  }
  // The server goes away in the middle of the answer.
  const dying = await slowProxy(async (body, res) => {
    res.write(pieces(body, 2)[0]);
    await pause(100);
    res.socket?.destroy();
  });
  try {
    const r = await exportCli(next, { env: { PIPEOBS_VM_URL: dying.url, PIPEOBS_VM_RETRIES: '0' } });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /error: VictoriaMetrics at http:\/\/127\.0\.0\.1:\d+\/api\/v1\/export stopped sending export midway \(/);
    assert.doesNotMatch(r.stderr, /no data for/, 'a server that went away is not called slow');
  } finally {
    await dying.close();
  }
  assert.equal(readFileSync(path.join(out, '.pipeobs-export-state.json'), 'utf8'), stateBefore);
  assert.deepEqual(fileSizes(out), filesBefore);
  assert.ok(!existsSync(path.join(out, '.pipeobs-tmp')));
});

test('an export cut into many chunks converted two at a time: every sample once, every file sorted, one file per chunk and day', async () => {
  const { exportWindow } = await import('../../src/core/export/parquet.js');
  const { VmClient } = await import('../../src/core/victoria/client.js');
  // 60 series over two days, 2 minutes apart: each series' lines (1000 samples) span midnight.
  let body = '';
  const series = 60;
  for (let i = 0; i < 1440; i++) {
    for (let s = 0; s < series; s++) body += `chunked_metric{pipeline_name="p${s % 7}",stage="s${s}",extra="${s % 3}"} ${i * series + s} ${BASE - 86_400_000 + i * 120_000}\n`;
  }
  assert.equal((await fetch(`${vm.url}/api/v1/import/prometheus`, { method: 'POST', body })).status, 204);
  await vm.queryWhen('sum(count_over_time(chunked_metric[5d]))', (r) => r.length === 1 && Number(r[0].value[1]) === 1440 * series, 20_000);
  const workDir = tempDir();
  const client = new VmClient({ readUrl: vm.url, writeUrl: vm.url, timeoutMs: 10_000, retries: 0, sleep: async () => {} });
  const afterMs = BASE - 2 * 86_400_000;
  const untilMs = BASE + 86_400_000;
  const result = await exportWindow(client, { match: ['chunked_metric'], afterMs, untilMs, partitionBy: 'day', workDir, memoryLimitMb: 256, chunkBytes: 64 << 10 }, loadDuckRunner);
  assert.equal(result.samples, 1440 * series);
  assert.equal(result.series, series);
  const chunks = new Set(result.files.map((f) => /-(\d{4})-\d+\.parquet$/.exec(f.relPath)![1]));
  assert.ok(chunks.size >= 8, `${chunks.size} chunks`);
  assert.equal(new Set(result.files.map((f) => f.relPath)).size, result.files.length, 'no two files with one name');
  const dir = path.join(workDir, 'data');
  const { rows, perFile } = await readDuck(dir);
  const want: Row[] = [];
  for (const s of await vm.exportSeries('chunked_metric')) {
    const { __name__, ...labels } = s.metric;
    s.timestamps.forEach((t, i) => want.push({ metric: __name__, labels, ts: t, value: s.values[i] }));
  }
  sameSamples(rows, want);
  for (const f of perFile) {
    for (let i = 1; i < f.length; i++) assert.ok(compareRows(f[i - 1], f[i]) <= 0, `row ${i} out of order: ${JSON.stringify(f[i - 1])} then ${JSON.stringify(f[i])}`);
  }
});

test('a full disk (a 512 KiB tmpfs): exit 1 saying so, nothing kept of the run, the state and earlier files untouched', async () => {
  let body = '';
  for (let i = 0; i < 100_000; i++) body += `full_disk_metric{pipeline_name="p${i % 10}"} ${i * 1.5} ${BASE + Math.floor(i / 10) * 1000}\n`;
  assert.equal((await fetch(`${vm.url}/api/v1/import/prometheus`, { method: 'POST', body })).status, 204);
  await vm.queryWhen('sum(count_over_time(full_disk_metric[3d]))', (r) => r.length === 1 && Number(r[0].value[1]) === 100_000, 20_000);
  const out = tempDir();
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', out], { encoding: 'utf8' });
  assert.equal(mounted.status, 0, `this test mounts a tmpfs and needs root: ${mounted.stderr}`);
  try {
    // A small export that fits, then one whose JSON alone (about 3 MB) does not.
    const small = await exportCli(['--out', out, '--match', 'pipeline_errors_total', '--start', String(BASE / 1000 + 3000), '--end', String(BASE / 1000 + 3600)]);
    assert.equal(small.code, 0, small.stderr);
    assert.equal(small.doc!.samples, 20);
    const stateBefore = readFileSync(path.join(out, '.pipeobs-export-state.json'), 'utf8');
    const filesBefore = fileSizes(out);
    const full = await exportCli(['--out', out, '--match', 'full_disk_metric', '--start', String(BASE / 1000 - 60), '--end', String(BASE / 1000 + 3000)]); // 10 samples a second
    assert.equal(full.code, 1, full.stderr);
    assert.match(full.stderr, new RegExp(`error: no space left on the device of ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(full.stderr, /hint: free some space/);
    assert.doesNotMatch(full.stderr, /internal error/);
    assert.equal(readFileSync(path.join(out, '.pipeobs-export-state.json'), 'utf8'), stateBefore);
    assert.deepEqual(fileSizes(out), filesBefore);
    assert.ok(!existsSync(path.join(out, '.pipeobs-tmp')), 'the partial work is removed');
    assert.ok(!existsSync(path.join(out, '.pipeobs-export.lock')));
  } finally {
    spawnSync('umount', [out]);
  }
});
