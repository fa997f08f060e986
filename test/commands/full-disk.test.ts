/**
 * A full spool disk, on a small tmpfs this test mounts (the tests run as root; a mount that
 * fails fails the test with the reason). The work goes on, what could not be kept is said
 * exactly, nothing is duplicated when it is sent again, and no partial file stays behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from '../helpers/cli.js';
import { startVictoriaMetrics, freePort, type VictoriaMetrics } from '../helpers/victoria.js';
import type { PushInfluxResult } from '../../src/commands/push-influx.js';
import type { RunPipelineResult } from '../../src/commands/run-pipeline.js';

let vm: VictoriaMetrics;
const mounts: string[] = [];
before(async () => {
  vm = await startVictoriaMetrics(['-dedup.minScrapeInterval=1ms']);
});
after(async () => {
  for (const m of mounts) spawnSync('umount', [m]);
  await vm?.cleanup();
});

/** A tmpfs of the given size, mounted for this test. */
function smallDisk(kib: number): string {
  const dir = tempDir('pipeobs-full-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k,mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot mount a ${kib} KiB tmpfs on ${dir} (the test needs root): ${r.stderr || r.error?.message}`);
  mounts.push(dir);
  return dir;
}

/** Fills the file system that holds dir, leaving no free block. */
function fill(dir: string): void {
  const fd = openSync(path.join(dir, 'filler'), 'w');
  const block = Buffer.alloc(4096, 120);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((n) => statSync(path.join(dir, n)).isFile());
}

test('push-influx on a full spool disk: says which lines were neither delivered nor kept (exit 4); sending exactly those again stores every sample once', async () => {
  const disk = smallDisk(64);
  const cwd = tempDir();
  const t = (Math.floor(Date.now() / 1000) - 120) * 1000;
  const lines = Array.from({ length: 6000 }, (_, i) => `full_disk,s=s${i % 4} v=${i} ${t + i}`);
  const lp = path.join(cwd, 'big.lp');
  writeFileSync(lp, lines.join('\n') + '\n');
  const env = { PIPEOBS_VM_URL: vm.url, PIPEOBS_VM_RETRIES: '0', PIPEOBS_SPOOL_DIR: path.join(disk, 'spool') };
  await vm.stop();
  let doc: PushInfluxResult;
  try {
    const r = await runCli(['push-influx', lp, '--precision', 'ms', '--batch-lines', '200', '-o', 'json'], { cwd, env });
    assert.equal(r.code, 4, r.stderr);
    doc = JSON.parse(r.stdout) as PushInfluxResult;
    assert.equal(doc.batches, 30);
    assert.equal(doc.sent_samples, 0);
    assert.ok(doc.spooled_batches > 0 && doc.not_kept.length > 0, JSON.stringify(doc));
    assert.equal(doc.spooled_samples + doc.not_kept_samples, 6000);
    assert.equal(doc.spooled_samples, doc.spooled_batches * 200);
    assert.match(r.stderr, new RegExp(`error: ${doc.not_kept_samples.toLocaleString('en')} samples were neither delivered to http://127\\.0\\.0\\.1:\\d+ \\(cannot reach .*\\) nor kept: cannot write to the spool .* \\(no space left on device\\); they are in ${lp.replace(/\./g, '\\.')} lines \\d+-\\d+`));
    assert.doesNotMatch(r.stderr, /internal error/);
    // no partial file left behind, and what was kept is whole
    const kept = filesUnder(path.join(disk, 'spool'));
    assert.deepEqual(kept.filter((f) => !/(^|\/)(target|\d{13}-\d{6}-[0-9a-f]{8}-200s\.influx-ms\.txt)$/.test(f)), []);
    assert.equal(kept.length - 1, doc.spooled_batches);
    const text = await runCli(['push-influx', lp, '--precision', 'ms', '--batch-lines', '200'], { cwd, env });
    assert.equal(text.code, 4);
    assert.match(text.stdout, /NOT KEPT: [\d,]+ samples were neither delivered nor kept in the spool: .*big\.lp lines \d+-\d+/);
  } finally {
    await vm.start();
  }
  const flushed = await runCli(['push-influx', '--flush-spool', '-o', 'json'], { cwd, env });
  assert.equal(flushed.code, 0, flushed.stderr);
  // The second (text) run spooled nothing: the disk was already full. What the first kept is delivered.
  assert.equal((JSON.parse(flushed.stdout) as PushInfluxResult).spool_flushed?.sent_samples, doc.spooled_samples);
  // send again exactly the lines the error named
  const again = doc.not_kept.flatMap((o) => lines.slice(o.firstLine - 1, o.lastLine));
  assert.equal(again.length, doc.not_kept_samples);
  const rest = path.join(cwd, 'rest.lp');
  writeFileSync(rest, again.join('\n') + '\n');
  const resent = await runCli(['push-influx', rest, '--precision', 'ms'], { cwd, env });
  assert.equal(resent.code, 0, resent.stderr);
  const series = await vm.exportWhen('full_disk_v', (s) => s.reduce((n, x) => n + x.values.length, 0) >= 6000);
  const values = series.flatMap((s) => s.values).sort((a, b) => a - b);
  assert.deepEqual(values, Array.from({ length: 6000 }, (_, i) => i));
});

test('run-pipeline with VictoriaMetrics down and a full spool disk: the run completes, the lost pushes are said with their samples', async () => {
  const disk = smallDisk(16);
  fill(disk);
  const cwd = tempDir();
  const env = { PIPEOBS_VM_URL: `http://127.0.0.1:${await freePort()}`, PIPEOBS_VM_RETRIES: '0', PIPEOBS_SPOOL_DIR: path.join(disk, 'spool') };
  const r = await runCli(['run-pipeline', '--once', '--rows', '200', '--push', 'prometheus', '--metrics-port', '0', '-o', 'json'], { cwd, env });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as RunPipelineResult;
  assert.equal(doc.runs[0].status, 'success');
  assert.equal(doc.runs[0].output.rows > 0, true);
  assert.deepEqual(doc.metrics.push.pushes.map((p) => [p.sent, p.lost]), [[false, true], [false, true]]);
  for (const p of doc.metrics.push.pushes) {
    assert.ok(p.samples > 0);
    assert.ok(r.stderr.includes(`${p.samples} samples could not be kept either: cannot write to the spool ${path.join(disk, 'spool')}`), r.stderr);
  }
  assert.doesNotMatch(r.stderr, /internal error/);
  const text = await runCli(['run-pipeline', '--once', '--rows', '200', '--push', 'prometheus', '--metrics-port', '0'], { cwd, env });
  assert.equal(text.code, 0, text.stderr);
  const samples = doc.metrics.push.pushes.reduce((n, p) => n + p.samples, 0);
  assert.match(text.stdout, new RegExp(`  pushed to http://127\\.0\\.0\\.1:\\d+ as prometheus: 0 of 2 pushes delivered\n  2 pushes \\(${samples} samples\\) were neither delivered nor kept: the spool could not be written \\(see the warnings\\)\n`));
  assert.doesNotMatch(text.stdout, /payloads wait in the spool/);
  assert.deepEqual(readdirSync(disk).filter((f) => f !== 'filler' && f !== 'spool'), []);
  assert.deepEqual(filesUnder(path.join(disk, 'spool')).filter((f) => /\.tmp-\d+$/.test(f)), []);
});

test('monitor-logs --server with VictoriaMetrics down and a full spool disk keeps following and serving /metrics', async () => {
  const disk = smallDisk(16);
  fill(disk);
  const cwd = tempDir();
  const logs = path.join(cwd, 'app.log');
  assert.equal((await runCli(['gen-logs', '--lines', '100', '--since', '-10m', '--out', logs], { cwd })).code, 0);
  const port = await freePort();
  const env = { PIPEOBS_VM_URL: `http://127.0.0.1:${await freePort()}`, PIPEOBS_VM_RETRIES: '0', PIPEOBS_SPOOL_DIR: path.join(disk, 'spool') };
  let stop: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
  const server = runCli(['monitor-logs', logs, '--server', '--port', String(port), '--no-state', '--start-at', 'beginning', '--interval', '1s', '--push', 'prometheus'], {
    cwd, env, onSignalRegistered: (f) => (stop = f),
  });
  try {
    await new Promise((r) => setTimeout(r, 2500)); // two pushes failed by now
    const more = Array.from({ length: 7 }, () => readFileSync(logs, 'utf8').split('\n')[0]).join('\n') + '\n';
    writeFileSync(logs, more, { flag: 'a' });
    await new Promise((r) => setTimeout(r, 1500));
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    const body = await res.text();
    // every line read, the 7 appended after the failed pushes included
    const read = [...body.matchAll(/^pipeobs_logs_lines_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(read, 107, body);
  } finally {
    stop?.('SIGTERM');
  }
  const r = await server;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: cannot reach VictoriaMetrics .*; \d+ samples could not be kept either: cannot write to the spool .* \(no space left on device\)\. They are lost/);
  assert.doesNotMatch(r.stderr, /internal error/);
});
