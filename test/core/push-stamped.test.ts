/**
 * A run's zeros and values pushed in one request (pushRun): with VictoriaMetrics down they are
 * kept together in one spool file, both stamps in it, so the zero never arrives without its value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { VmClient } from '../../src/core/victoria/client.js';
import { Spool } from '../../src/core/spool/spool.js';
import { pushRun } from '../../src/core/exec/push-run.js';
import { freePort } from '../helpers/victoria.js';
import { tempDir } from '../helpers/cli.js';

test('pushRun with VictoriaMetrics down: one spool file holding the zeros at the start and the values at the end', async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const client = new VmClient({ readUrl: url, writeUrl: url, timeoutMs: 500, retries: 0, sleep: async () => {}, backoffMs: 1 });
  const spool = new Spool(path.join(tempDir(), 'spool'));
  const labels = { pipeline_name: 'p', environment: 'dev', status: 'success' };
  const samples = [
    { name: 'pipeline_runs_total', labels, value: 1 },
    { name: 'pipeline_last_run_duration_seconds', labels: { pipeline_name: 'p', environment: 'dev' }, value: 0.5 },
  ];
  const outcome = await pushRun({ client, spool, format: 'prometheus' }, samples, 1_700_000_000_000, 1_700_000_000_000);
  assert.equal(outcome.sent, false);
  assert.equal(outcome.lost, false);
  assert.equal(outcome.samples, 3);
  const dir = spool.forTarget(client.writeTarget).dir;
  const files = readdirSync(dir).filter((f) => f.endsWith('.prom.txt'));
  assert.equal(files.length, 1);
  const body = readFileSync(path.join(dir, files[0]), 'utf8').trim().split('\n').filter((l) => !l.startsWith('#'));
  // The counter at 0 at the start, then every sample at the end, one millisecond later at least;
  // the gauge has no zero.
  assert.deepEqual(body, [
    'pipeline_runs_total{pipeline_name="p",environment="dev",status="success"} 0 1700000000000',
    'pipeline_runs_total{pipeline_name="p",environment="dev",status="success"} 1 1700000000001',
    'pipeline_last_run_duration_seconds{pipeline_name="p",environment="dev"} 0.5 1700000000001',
  ]);
});
