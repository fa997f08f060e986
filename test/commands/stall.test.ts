/**
 * VictoriaMetrics stalling past --vm-timeout: a real proxy in front of a real VictoriaMetrics
 * forwards every write at once but holds the answer back, so pipeobs gives up on writes that
 * were in fact stored, retries them, and finally spools them. Every retry and the spooled copy
 * are byte-identical (the samples carry their own timestamps), and VictoriaMetrics with
 * -dedup.minScrapeInterval=1ms stores each sample once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from '../helpers/cli.js';
import { startVictoriaMetrics, type VictoriaMetrics } from '../helpers/victoria.js';
import type { PushInfluxResult } from '../../src/commands/push-influx.js';
import type { RunPipelineResult } from '../../src/commands/run-pipeline.js';

let vm: VictoriaMetrics;
let proxy: http.Server;
let proxyUrl: string;
/** While true, answers to writes are held back this long (after VictoriaMetrics has answered). */
let stallMs = 0;
/** Every write body the proxy forwarded, by hash, with how often it was sent. */
const writes = new Map<string, number>();

before(async () => {
  vm = await startVictoriaMetrics(['-dedup.minScrapeInterval=1ms']);
  proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const isWrite = req.method === 'POST' && /\/(write|import\/prometheus)/.test(req.url ?? '');
      if (isWrite) {
        const h = createHash('sha256').update(body).digest('hex');
        writes.set(h, (writes.get(h) ?? 0) + 1);
      }
      const held = isWrite ? stallMs : 0;
      const up = http.request(`${vm.url}${req.url}`, { method: req.method, headers: { ...req.headers, host: `127.0.0.1:${vm.port}` } }, (upRes) => {
        const answer: Buffer[] = [];
        upRes.on('data', (c: Buffer) => answer.push(c));
        upRes.on('end', () => {
          setTimeout(() => {
            if (res.destroyed) return; // pipeobs gave up waiting: the write is stored all the same
            res.writeHead(upRes.statusCode ?? 502, upRes.headers).end(Buffer.concat(answer));
          }, held);
        });
      });
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

after(async () => {
  proxy?.closeAllConnections();
  await new Promise((r) => proxy?.close(r));
  await vm?.cleanup();
});

test('push-influx through a VictoriaMetrics that answers after --vm-timeout: stalled batches stored three times, every sample kept once', async () => {
  const cwd = tempDir();
  const t = (Math.floor(Date.now() / 1000) - 120) * 1000;
  const lp = path.join(cwd, 'stall.lp');
  writeFileSync(lp, Array.from({ length: 2000 }, (_, i) => `stalled,s=s${i % 5} v=${i} ${t + i}`).join('\n') + '\n');
  const env = { PIPEOBS_VM_URL: proxyUrl, PIPEOBS_VM_RETRIES: '1' };
  writes.clear();
  stallMs = 1500;
  try {
    const r = await runCli(['push-influx', lp, '--precision', 'ms', '--batch-lines', '500', '--vm-timeout', '0.4', '-o', 'json'], { cwd, env });
    // The first two batches (two in flight) time out twice each and, VictoriaMetrics seeming down,
    // all four are spooled.
    assert.equal(r.code, 75, r.stderr);
    const doc = JSON.parse(r.stdout) as PushInfluxResult;
    assert.equal(doc.sent_samples, 0);
    assert.equal(doc.spooled_samples, 2000);
    assert.match(r.stderr, /no answer within 0\.4 s, after 2 attempts/);
  } finally {
    stallMs = 0;
  }
  const flushed = await runCli(['push-influx', '--flush-spool', '-o', 'json'], { cwd, env });
  assert.equal(flushed.code, 0, flushed.stderr);
  assert.equal((JSON.parse(flushed.stdout) as PushInfluxResult).spool_flushed?.sent_samples, 2000);
  // The retry and the spooled copy are byte for byte the stalled request: 2 bodies sent 3 times, 2 once.
  assert.deepEqual([...writes.values()].sort(), [1, 1, 3, 3]);
  const series = await vm.exportWhen('stalled_v', (s) => s.reduce((n, x) => n + x.values.length, 0) >= 2000);
  assert.equal(series.length, 5);
  assert.deepEqual(series.flatMap((s) => s.values).sort((a, b) => a - b), Array.from({ length: 2000 }, (_, i) => i));
  assert.deepEqual(series.flatMap((s) => s.timestamps).sort((a, b) => a - b), Array.from({ length: 2000 }, (_, i) => t + i));
});

test('run-pipeline pushing through the stall: each push, retried and spooled, is one sample per series', async () => {
  const cwd = tempDir();
  const env = { PIPEOBS_VM_URL: proxyUrl, PIPEOBS_VM_RETRIES: '1', PIPEOBS_VM_TIMEOUT: '0.4' };
  const args = ['run-pipeline', '--once', '--rows', '100', '--push', 'prometheus', '--metrics-port', '0', '--pipeline-name', 'stalled', '-o', 'json'];
  writes.clear();
  stallMs = 1500;
  let first: RunPipelineResult;
  try {
    const r = await runCli([...args, '--seed', '1'], { cwd, env });
    assert.equal(r.code, 0, r.stderr);
    first = JSON.parse(r.stdout) as RunPipelineResult;
    assert.deepEqual(first.metrics.push.pushes.map((p) => [p.sent, p.lost]), [[false, false], [false, false]]);
  } finally {
    stallMs = 0;
  }
  const r2 = await runCli([...args, '--seed', '2'], { cwd, env });
  assert.equal(r2.code, 0, r2.stderr);
  const second = JSON.parse(r2.stdout) as RunPipelineResult;
  assert.equal(second.metrics.push.pushes[0].flushed.sent_files, 2);
  // The first push: two stalled attempts, two more when the second push tried the spool first, and
  // the delivery from the spool: 5 copies. The second push went straight to the spool: 1. The second
  // run's two pushes: 1 each.
  assert.deepEqual([...writes.values()].sort(), [1, 1, 1, 5]);
  const runs = await vm.exportWhen('pipeline_runs_total{pipeline_name="stalled",status="success"}', (r) => r.length > 0 && r[0].values.length >= 4);
  assert.deepEqual(runs[0].values, [0, 1, 0, 1]);
  assert.equal(new Set(runs[0].timestamps).size, 4);
});

test('lines without a timestamp, stalled, retried and spooled: stamped when read, so each is stored once', async () => {
  const cwd = tempDir();
  const lp = path.join(cwd, 'untimed.lp');
  writeFileSync(lp, Array.from({ length: 300 }, (_, i) => `untimed,line=l${i} v=${i}`).join('\n') + '\n');
  const env = { PIPEOBS_VM_URL: proxyUrl, PIPEOBS_VM_RETRIES: '1' };
  writes.clear();
  stallMs = 1500;
  const before = Date.now();
  try {
    const r = await runCli(['push-influx', lp, '--batch-lines', '100', '--vm-timeout', '0.4', '-o', 'json'], { cwd, env });
    assert.equal(r.code, 75, r.stderr);
  } finally {
    stallMs = 0;
  }
  const flushed = await runCli(['push-influx', '--flush-spool', '-o', 'json'], { cwd, env });
  assert.equal((JSON.parse(flushed.stdout) as PushInfluxResult).spool_flushed?.sent_samples, 300);
  assert.deepEqual([...writes.values()].sort(), [1, 3, 3]);
  const series = await vm.exportWhen('untimed_v', (s) => s.length === 300);
  // one sample per line, at the time pipeobs read it, not at the times VictoriaMetrics received the copies
  assert.deepEqual(series.map((s) => s.values.length), Array(300).fill(1));
  assert.deepEqual(series.map((s) => s.values[0]).sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i));
  for (const s of series) assert.ok(s.timestamps[0] >= before && s.timestamps[0] <= before + 2000, String(s.timestamps[0]));
});
