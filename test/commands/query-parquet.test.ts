import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { runCli, tempDir } from '../helpers/cli.js';
import { startVictoriaMetrics, type VictoriaMetrics } from '../helpers/victoria.js';

let vm: VictoriaMetrics;
const MIN = 60_000;
const T = Math.floor(Date.now() / MIN) * MIN - 20 * MIN;

before(async () => {
  vm = await startVictoriaMetrics();
  const body = [0, 1, 2, 3].map((k) => `parquet_ts_metric{pipeline_name="p${k % 2}",stage="s${k}"} ${k * 10} ${T + k * MIN}\n`).join('');
  assert.equal((await fetch(`${vm.url}/api/v1/import/prometheus`, { method: 'POST', body })).status, 204);
  await vm.exportWhen('parquet_ts_metric', (r) => r.length === 4);
});
after(async () => {
  await vm?.cleanup();
});

test('query --parquet writes timestamp as TIMESTAMP (UTC), as export-parquet does, with the exact instants', async () => {
  const cwd = tempDir();
  const at = T + 3 * MIN + 17_250; // milliseconds survive
  const r = await runCli(['query', 'parquet_ts_metric', '--time', String(at / 1000), '--parquet', 'out.parquet', '-o', 'json'], {
    cwd,
    env: { PIPEOBS_VM_URL: vm.url },
  });
  assert.equal(r.code, 0, r.stderr);
  const file = path.join(cwd, 'out.parquet');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const types = Object.fromEntries((await conn.runAndReadAll(`DESCRIBE SELECT * FROM '${file}'`)).getRowsJS().map((x) => [x[0], x[1]]));
  assert.equal(types.timestamp, 'TIMESTAMP');
  assert.equal(types.value, 'DOUBLE');
  assert.equal(types.stage, 'VARCHAR');
  // An instant query at `at`: each series' last sample (all within the lookback), stamped `at`.
  const rows = (await conn.runAndReadAll(`SELECT stage, epoch_ms("timestamp") AS ms, value FROM '${file}' ORDER BY stage, ms`)).getRowsJS();
  const want: [string, number, number][] = [0, 1, 2, 3].map((k) => [`s${k}`, at, k * 10]);
  assert.deepEqual(rows.map((x) => [x[0], Number(x[1]), x[2]]), want);
  conn.closeSync();
  db.closeSync();
  // An independent reader sees a UTC instant, not text.
  const objs = await parquetReadObjects({ file: await asyncBufferFromFile(file), compressors });
  assert.equal(objs.length, want.length);
  for (const o of objs) assert.ok(o.timestamp instanceof Date, `timestamp read as ${typeof o.timestamp}`);
  assert.deepEqual(objs.map((o) => (o.timestamp as Date).getTime()).sort(), want.map((w) => w[1]).sort());
});
