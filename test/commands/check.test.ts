import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { runCli, tempDir } from '../helpers/cli.js';
import { startVictoriaMetrics, type VictoriaMetrics } from '../helpers/victoria.js';
import type { CheckDocument } from '../../src/commands/check.js';
import { parseRules } from '../../src/core/check/rules.js';
import { judgeVolume, diffSchema } from '../../src/core/check/state.js';
import type { JsonCase } from '../../src/core/output/render.js';
import { parsedRun } from '../helpers/run-seam.js';

let vm: VictoriaMetrics;
before(async () => {
  vm = await startVictoriaMetrics();
});
after(async () => {
  await vm?.cleanup();
});

// ---- a dataset with planted defects; every expected count comes from these rows, not from pipeobs ----

const N = 2000;
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const NEWEST_AGE_S = 1800;

interface Order {
  order_id: number;
  customer_id: number | null;
  price: number | null;
  status: string;
  created_at: string;
  quantity: number;
  unit_price: number;
  revenue: number;
}

function makeOrders(n = N): Order[] {
  const rows: Order[] = [];
  for (let i = 0; i < n; i++) {
    const quantity = 1 + (i % 5);
    const unit_price = 10 + (i % 7);
    rows.push({
      order_id: i % 211 === 17 ? i : i + 1, // a duplicate of the previous row's id
      customer_id: i % 97 === 5 ? null : i % 151 === 7 ? 999 : 1 + (i % 50),
      price: i % 173 === 13 ? null : i % 113 === 9 ? -5 : i % 131 === 11 ? 200000 : 10 + (i % 40) + 0.5,
      status: i % 89 === 3 ? 'lost' : ['new', 'paid', 'shipped'][i % 3],
      created_at: new Date(NOW.getTime() - NEWEST_AGE_S * 1000 - i * 60_000).toISOString(),
      quantity,
      unit_price,
      revenue: i % 71 === 2 ? quantity * unit_price + 1 : quantity * unit_price,
    });
  }
  return rows;
}

const RULES = `dataset: orders
key: order_id
checks:
  - not_null: [customer_id, price]
  - unique: order_id
  - accepted_values: {column: status, values: [new, paid, shipped]}
  - range: {column: price, min: 0, max: 100000}
  - relationships: {column: customer_id, to: customers.csv, field: id}
  - freshness: {column: created_at, max_age: 1h}
  - row_count: {min: 1000, max: 5000000}
  - expression: "quantity * unit_price = revenue"
    severity: warn
`;

function expectedFailing(rows: Order[]): Record<string, number> {
  const ids = new Map<number, number>();
  for (const r of rows) ids.set(r.order_id, (ids.get(r.order_id) ?? 0) + 1);
  return {
    not_null_customer_id: rows.filter((r) => r.customer_id === null).length,
    not_null_price: rows.filter((r) => r.price === null).length,
    unique_order_id: [...ids.values()].reduce((s, c) => s + c - 1, 0),
    accepted_values_status: rows.filter((r) => !['new', 'paid', 'shipped'].includes(r.status)).length,
    range_price: rows.filter((r) => r.price !== null && (r.price < 0 || r.price > 100000)).length,
    relationships_customer_id: rows.filter((r) => r.customer_id !== null && !(r.customer_id >= 1 && r.customer_id <= 50)).length,
    expression_1: rows.filter((r) => r.quantity * r.unit_price !== r.revenue).length,
  };
}

function csvOf(rows: Order[]): string {
  const cols = Object.keys(rows[0]) as (keyof Order)[];
  return `${cols.join(',')}\n${rows.map((r) => cols.map((c) => (r[c] === null ? '' : String(r[c]))).join(',')).join('\n')}\n`;
}

/** Writes the orders as CSV, JSON lines, one Parquet file and a Hive-partitioned Parquet directory. */
async function writeDatasets(dir: string, rows: Order[]): Promise<void> {
  writeFileSync(path.join(dir, 'orders.csv'), csvOf(rows));
  mkdirSync(path.join(dir, 'jsonl'));
  const half = rows.length >> 1;
  writeFileSync(path.join(dir, 'jsonl', 'a.jsonl'), rows.slice(0, half).map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(path.join(dir, 'jsonl', 'b.jsonl'), rows.slice(half).map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(path.join(dir, 'customers.csv'), `id,name\n${Array.from({ length: 50 }, (_, i) => `${i + 1},c${i + 1}`).join('\n')}\n`);
  writeFileSync(path.join(dir, 'rules.yml'), RULES);
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const src = `read_csv('${path.join(dir, 'orders.csv')}', types = {'created_at': 'TIMESTAMP', 'price': 'DOUBLE'})`;
  await c.run(`COPY (SELECT * FROM ${src}) TO '${path.join(dir, 'orders.parquet')}' (FORMAT parquet)`);
  await c.run(`COPY (SELECT *, CASE WHEN order_id % 2 = 0 THEN 'eu' ELSE 'us' END AS region FROM ${src}) TO '${path.join(dir, 'hive')}' (FORMAT parquet, PARTITION_BY (region))`);
  c.closeSync();
  db.closeSync();
}

let dataDir: string;
let orders: Order[];
before(async () => {
  dataDir = tempDir('pipeobs-check-');
  orders = makeOrders();
  await writeDatasets(dataDir, orders);
});

async function check(args: string[], cwd = dataDir, now: () => Date = () => NOW) {
  const r = await runCli(['check', '-o', 'json', ...args], { cwd, now, env: { PIPEOBS_VM_URL: vm.url } });
  let doc: CheckDocument | null = null;
  try {
    doc = JSON.parse(r.stdout) as CheckDocument;
  } catch {
    doc = null;
  }
  return { ...r, doc };
}

const score = (failing: number) => (failing === 0 ? 100 : Math.min(99.99, Math.round((10_000 * (N - failing)) / N) / 100));

for (const [format, input] of [
  ['Parquet file', 'orders.parquet'],
  ['Hive-partitioned Parquet directory', 'hive'],
  ['CSV file', 'orders.csv'],
  ['JSON lines glob', 'jsonl/*.jsonl'],
] as const) {
  test(`${format}: each rule fails exactly the planted rows; error checks failing give exit 5`, async () => {
    const r = await check([input, '--rules', 'rules.yml', '--state', `${format.replace(/\W/g, '_')}.state.json`]);
    assert.equal(r.code, 5, r.stderr);
    assert.ok(r.doc, r.stderr);
    assert.equal(r.doc.rows, N);
    const expected = expectedFailing(orders);
    for (const [name, failing] of Object.entries(expected)) {
      assert.ok(failing > 0, `${name}: the dataset has planted defects`);
      const c = r.doc.checks.find((k) => k.name === name) as CheckDocument['checks'][number] | undefined;
      assert.ok(c, `${name} is reported`);
      assert.equal(c.rows_failing, failing, name);
      assert.equal(c.rows_checked, N, name);
      assert.equal(c.score, score(failing), name);
      assert.ok(failing > 0 || c.examples.length === 0, name);
      if (failing > 0) assert.equal(c.examples.length, Math.min(5, failing), `${name} examples`);
    }
    // the examples are the planted rows
    const nullIds = new Set(orders.filter((o) => o.customer_id === null).map((o) => o.order_id));
    for (const e of r.doc.checks.find((k) => k.name === 'not_null_customer_id')!.examples) assert.ok(nullIds.has(e.order_id as number), JSON.stringify(e));
    const dup = r.doc.checks.find((k) => k.name === 'unique_order_id')!.examples;
    assert.ok(dup.every((e) => e.copies === 2), JSON.stringify(dup));
    const fresh = r.doc.checks.find((k) => k.name === 'freshness_created_at')!;
    assert.equal(fresh.status, 'pass');
    assert.equal(r.doc.freshness_seconds, NEWEST_AGE_S);
    assert.equal(r.doc.checks.find((k) => k.name === 'row_count')!.status, 'pass');
    assert.equal(r.doc.checks.find((k) => k.name === 'expression_1')!.status, 'warn');
    assert.equal(r.doc.passed, false);
    assert.match(r.stderr, /error: 6 checks of severity error failed: not_null_customer_id, not_null_price, unique_order_id, accepted_values_status, range_price, relationships_customer_id\n/);
  });
}

test('results are pushed with the catalog names and read back from VictoriaMetrics', async () => {
  const r = await check(['orders.parquet', '--rules', 'rules.yml', '--state', 'push.state.json', '--push', 'prometheus', '--pipeline', 'orders_gate']);
  assert.equal(r.code, 5, r.stderr);
  assert.ok(r.doc?.metrics.push.pushes.every((p) => p.sent));
  const sel = 'pipeline_name="orders_gate",environment="dev"';
  // Waits for the expected value (the counters' 0 is pushed first); fails with the last answer.
  const expectValue = (q: string, expected: number) => vm.queryWhen(q, (x) => x.length === 1 && Number(x[0].value[1]) === expected);
  const expected = expectedFailing(orders);
  for (const [name, failing] of Object.entries(expected)) {
    await expectValue(`pipeline_data_quality_score{${sel},check_type="${name}"}`, score(failing));
    await expectValue(`pipeline_errors_total{${sel},stage="check",error_type="${name}"}`, failing);
  }
  await expectValue(`pipeline_errors_total{${sel},stage="check",error_type="freshness_created_at"}`, 0);
  await expectValue(`pipeline_rows_processed_total{${sel},stage="check",data_source="orders"}`, N);
  await expectValue(`pipeline_data_freshness_seconds{${sel},data_source="orders"}`, NEWEST_AGE_S);
  // overall: the mean of the nine scored checks (seven row checks, freshness and row_count at 100)
  const scores = [...Object.values(expected).map(score), 100, 100];
  const overall = Math.min(99.99, Math.round((100 * scores.reduce((a, b) => a + b, 0)) / scores.length) / 100);
  await expectValue(`pipeline_data_quality_score{${sel},check_type="overall"}`, overall);
  assert.equal(r.doc!.score, overall);
  await expectValue(`pipeline_schema_changes_total{${sel},change_type="added"}`, 0);
  const rows = await vm.exportWhen(`pipeline_rows_processed_total{${sel}}`, (x) => x.length > 0 && x[0].values.length >= 2);
  assert.deepEqual(rows[0].values, [0, N]);
});

test('schema changes and a volume drop across checks are reported, and counted in pipeline_schema_changes_total', async () => {
  const dir = tempDir('pipeobs-check-state-');
  const write = (rows: Order[], extra = false) => {
    const text = csvOf(rows);
    writeFileSync(path.join(dir, 'data.csv'), extra ? text.replace(/\n/g, ',1\n').replace(/,1\n/, ',discount\n') : text);
  };
  // A clock that moves, so every check's samples have their own timestamps.
  const run = () => check(['data.csv', '--state', 'data.state.json', '--push', 'prometheus', '--pipeline', 'volumes'], dir, () => new Date());
  const all = makeOrders(1000);
  const counts = [1000, 1000, 980, 1000];
  for (const [i, n] of counts.entries()) {
    write(all.slice(0, n));
    const r = await run();
    assert.equal(r.code, 0, r.stderr);
    const volume = r.doc!.checks.find((c) => c.name === 'volume')!;
    assert.equal(volume.status, i < 3 ? 'unknown' : 'pass', `check ${i + 1}: ${volume.detail}`);
    assert.equal(r.doc!.checks.find((c) => c.name === 'schema')!.status, i === 0 ? 'unknown' : 'pass');
  }
  // median of 1000, 1000, 980, 1000 is 1000; MAD 0; the band is ±5% of the median
  write(all.slice(0, 400), true);
  const r = await run();
  assert.equal(r.code, 0, 'schema and volume are warnings');
  assert.deepEqual(r.doc!.volume, { rows: 400, history: [1000, 1000, 980, 1000], median: 1000, mad: 0, band: [950, 1050], anomaly: true });
  assert.equal(r.doc!.checks.find((c) => c.name === 'volume')!.status, 'warn');
  assert.deepEqual(r.doc!.schema.changes, [{ change: 'added', column: 'discount', before: null, after: 'BIGINT' }]);
  assert.equal(r.doc!.checks.find((c) => c.name === 'schema')!.score, 0);
  const q = await vm.queryWhen('pipeline_schema_changes_total{pipeline_name="volumes",change_type="added"}', (v) => v.length > 0 && v[0].value[1] === '1');
  assert.equal(q[0].metric.data_source, 'data');
  assert.equal((await vm.queryWhen('pipeline_data_quality_score{pipeline_name="volumes",check_type="volume"}', (v) => v.length > 0))[0].value[1], '0');
  // and the state remembers the new schema: the next check reports no change
  write(all.slice(0, 1000), true);
  const next = await run();
  assert.deepEqual(next.doc!.schema.changes, []);
  const state = JSON.parse(readFileSync(path.join(dir, 'data.state.json'), 'utf8')) as { volumes: { rows: number }[] };
  assert.deepEqual(state.volumes.map((v) => v.rows), [1000, 1000, 980, 1000, 400, 1000]);
});

test('as a gate: exit 0 when only warn checks fail, 5 under --fail-under', async () => {
  const dir = tempDir('pipeobs-check-gate-');
  writeFileSync(path.join(dir, 'o.csv'), csvOf(orders));
  writeFileSync(path.join(dir, 'ok.yml'), 'checks:\n  - not_null: order_id\n  - expression: "quantity * unit_price = revenue"\n    severity: warn\n');
  const ok = await check(['o.csv', '--rules', 'ok.yml'], dir);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.doc?.passed, true);
  const failing = expectedFailing(orders).expression_1;
  const expected = Math.min(99.99, Math.round((100 * (100 + score(failing))) / 2) / 100);
  assert.equal(ok.doc?.score, expected);
  // the second check has a schema baseline: schema (unchanged, 100) joins the mean
  const gate = await check(['o.csv', '--rules', 'ok.yml', '--fail-under', '99.9'], dir);
  assert.equal(gate.code, 5);
  const withSchema = Math.min(99.99, Math.round((100 * (100 + score(failing) + 100)) / 3) / 100);
  assert.match(gate.stderr, new RegExp(`the score ${withSchema} is below --fail-under 99.9`));
  const text = await runCli(['check', 'o.csv', '--rules', 'ok.yml'], { cwd: dir });
  assert.match(text.stdout, /^o: 2,000 rows \(csv\), score [\d.]+\/100, passed/);
  assert.match(text.stdout, /warn {2}expression_1 .* \(warn\)/);
});

test('bad rules: each error names the file, the rule\'s line and what is wrong (exit 3); a bad path exits 2', async () => {
  const dir = tempDir('pipeobs-check-bad-');
  writeFileSync(path.join(dir, 'o.csv'), csvOf(orders.slice(0, 50)));
  const f = async (rules: string, code: number, message: RegExp) => {
    writeFileSync(path.join(dir, 'r.yml'), rules);
    const r = await runCli(['check', 'o.csv', '--rules', 'r.yml'], { cwd: dir });
    assert.equal(r.code, code, `${rules}\n${r.stderr}`);
    assert.match(r.stderr, message, rules);
    assert.doesNotMatch(r.stderr, /internal error|at .*\.js:\d+/);
  };

  await f('checks:\n  - not_null: [order_id]\n  - not_null: custmer_id\n', 3, /r\.yml:3: not_null \(not_null_custmer_id\): column "custmer_id" is not in the dataset[\s\S]*its columns: order_id, customer_id/);
  await f('checks:\n  - not_null: [order_id]\n\n  - not_nul: order_id\n', 3, /r\.yml:4: unknown check kind "not_nul"[\s\S]*hint: use one of not_null, unique/);
  await f('checks:\n  - range: {column: status, min: 0}\n', 3, /r\.yml:2: range \(range_status\): range needs a numeric, date or time column, but status is VARCHAR/);
  await f('checks:\n  - accepted_values: {column: quantity, values: [1, two]}\n', 3, /r\.yml:2: .*quantity is BIGINT but the value "two" is not a number/);
  await f('checks:\n  - relationships: {column: customer_id, to: nowhere.parquet, field: id}\n', 3, /r\.yml:2: relationships \(relationships_customer_id\): cannot read nowhere\.parquet: no such file/);
  await f('checks:\n  - freshness: {column: price, max_age: 1h}\n', 3, /r\.yml:2: .*freshness needs a date or timestamp column, but price is DOUBLE/);
  await f('checks:\n  - expression: "quantity * nosuch > 0"\n', 3, /r\.yml:2: expression \(expression_1\): .*nosuch/);
  await f('checks:\n  - expression: "quantity + 1"\n', 3, /r\.yml:2: expression \(expression_1\): the condition gives BIGINT, not true or false/);
  await f('checks:\n  - range: {column: price, mn: 0}\n', 3, /r\.yml:2: range: unknown argument "mn"; expected column, min, max/);
  await f('checks: [\n', 3, /r\.yml:\d+: not valid YAML/);
  await f('checks:\n  - unique: order_id\n    severity: fatal\n', 3, /r\.yml:2: unique: severity "fatal" is not valid/);
  writeFileSync(path.join(dir, 'r.yml'), 'checks:\n  - not_null: order_id\n');
  const missing = await runCli(['check', 'nope.parquet', '--rules', 'r.yml'], { cwd: dir });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read nope\.parquet: no such file or directory/);
  const noDir = await runCli(['check', 'o.csv', '--state', 'no-such-dir/o.state.json'], { cwd: dir });
  assert.equal(noDir.code, 3);
  assert.match(noDir.stderr, /cannot write the state file .*no-such-dir\/o\.state\.json: ENOENT/);
  const noRules = await runCli(['check', 'o.csv', '--rules', 'absent.yml'], { cwd: dir });
  assert.equal(noRules.code, 3);
  assert.match(noRules.stderr, /cannot read the rules file .*absent\.yml: no such file/);
});

test('SIGINT during a check stops it: exit 130, and the state is not written', async () => {
  const dir = tempDir('pipeobs-check-int-');
  writeFileSync(path.join(dir, 'o.csv'), csvOf(orders));
  const r = await runCli(['check', 'o.csv', '--state', 'o.state.json'], { cwd: dir, onSignalRegistered: (fire) => fire('SIGINT') });
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /interrupted: the check was stopped/);
  assert.throws(() => readFileSync(path.join(dir, 'o.state.json')), /ENOENT/);
});

test('flags become options before anything runs (the run seam)', async () => {
  const { registerCheck } = await import('../../src/commands/check.js');
  const parse = async (argv: string[]) => {
    const r = await parsedRun(registerCheck, argv, { env: {}, cwd: '/w' } as never);
    return typeof r === 'string' ? r : r.opts;
  };
  assert.deepEqual(await parse(['check', 'a.parquet', 'b.parquet', '--rules', 'r/orders.yml', '--fail-under', '99.5']), {
    paths: ['a.parquet', 'b.parquet'], rulesFile: '/w/r/orders.yml', stateFile: '/w/r/orders.state.json', push: 'none', failUnder: 99.5, output: 'text',
  });
  assert.deepEqual(await parse(['check', 'd/', '--state', 's.json', '--push', 'influx', '-o', 'json']), {
    paths: ['d/'], rulesFile: null, stateFile: '/w/s.json', push: 'influx', failUnder: undefined, output: 'json',
  });
  assert.match(String(await parse(['check', 'a.csv'])), /nothing to check: give --rules, --state, or both/);
  assert.match(String(await parse(['check', 'a.csv', '--rules', 'r.yml', '--fail-under', '101'])), /--fail-under 101 is not valid/);
});

// ---- pure parts ----

test('rules: shapes dbt and Soda users write, with their lines', () => {
  const set = parseRules(RULES, 'rules.yml');
  assert.deepEqual(set.rules.map((r) => [r.name, r.line, r.severity]), [
    ['not_null_customer_id', 4, 'error'],
    ['not_null_price', 4, 'error'],
    ['unique_order_id', 5, 'error'],
    ['accepted_values_status', 6, 'error'],
    ['range_price', 7, 'error'],
    ['relationships_customer_id', 8, 'error'],
    ['freshness_created_at', 9, 'error'],
    ['row_count', 10, 'error'],
    ['expression_1', 11, 'warn'],
  ]);
  const fresh = set.rules.find((r) => r.kind === 'freshness');
  assert.equal(fresh?.kind === 'freshness' && fresh.maxAgeSeconds, 3600);
  const named = parseRules('checks:\n  - unique: {columns: [a, b], name: ab_key, severity: warn}\n', 'x.yml');
  assert.deepEqual(named.rules[0], { line: 2, severity: 'warn', kind: 'unique', columns: ['a', 'b'], name: 'ab_key' });
  assert.throws(() => parseRules('checks:\n  - unique: a\n  - unique: a\n', 'x.yml'), /x\.yml:3: two checks are named unique_a \(lines 2 and 3\)/);
});

test('volume band: median ± max(3 scaled MADs, 5% of the median), after three checks', () => {
  assert.equal(judgeVolume(10, [10, 10]).anomaly, null);
  // history 100, 110, 90, 100, 105: median 100, deviations 0 10 10 0 5 → MAD 5 → ±22.239
  const v = judgeVolume(123, [100, 110, 90, 100, 105]);
  assert.deepEqual([v.median, v.mad, v.band, v.anomaly], [100, 5, [77.76, 122.24], true]);
  assert.equal(judgeVolume(122, [100, 110, 90, 100, 105]).anomaly, false);
  assert.deepEqual(diffSchema([{ name: 'a', type: 'INTEGER' }, { name: 'b', type: 'VARCHAR' }], [{ name: 'a', type: 'BIGINT' }, { name: 'c', type: 'DATE' }]), [
    { change: 'retyped', column: 'a', before: 'INTEGER', after: 'BIGINT' },
    { change: 'added', column: 'c', before: null, after: 'DATE' },
    { change: 'dropped', column: 'b', before: 'VARCHAR', after: null },
  ]);
});
