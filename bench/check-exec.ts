/**
 * check and exec (issue 16), each against its baseline in the same run.
 * - check: eight rules over a 10,000,000-row Parquet file (sparse planted defects, so the
 *   failing examples are fetched too), against the same checks written by hand as one DuckDB
 *   statement run by a small Node script (process start-up included on both sides).
 *   Targets: within 2x of the hand-written statement; peak RSS under 1 GB.
 * - exec: `pipeobs exec -- true` against `true` alone, and `pipeobs exec -- sleep 0.2` against
 *   `sleep 0.2` alone, each without and with a push to a local VictoriaMetrics. Target: under
 *   100 ms added.
 * Sizes: BENCH_CHECK_ROWS (default 10,000,000), BENCH_ROUNDS (default 3), BENCH_EXEC_ROUNDS (default 10).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { startVictoriaMetrics } from '../test/helpers/victoria.js';
import { BIN, median, requireTool, round, saveResult, timed } from './common.js';

const ROWS = Number(process.env.BENCH_CHECK_ROWS ?? 10_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const EXEC_ROUNDS = Number(process.env.BENCH_EXEC_ROUNDS ?? 10);
const CUSTOMERS = 100_000;

const rulesFor = (dir: string) => `dataset: orders
key: order_id
checks:
  - not_null: customer_id
  - unique: order_id
  - accepted_values: {column: status, values: [new, paid, shipped]}
  - range: {column: price, min: 0, max: 100000}
  - relationships: {column: customer_id, to: ${path.join(dir, 'customers.parquet')}, field: id}
  - freshness: {column: created_at, max_age: 2d}
  - row_count: {min: 1, max: 100000000}
  - expression: "quantity * unit_price = revenue"
`;

/** The same eight checks by hand, one statement; the names match the check names of the rules above. */
function handWrittenSql(dir: string): string {
  const orders = path.join(dir, 'orders.parquet');
  const customers = path.join(dir, 'customers.parquet');
  return `SELECT count(*) AS "rows",
  count(*) FILTER (WHERE customer_id IS NULL) AS not_null_customer_id,
  count(order_id) - count(DISTINCT order_id) AS unique_order_id,
  count(*) FILTER (WHERE status NOT IN ('new', 'paid', 'shipped')) AS accepted_values_status,
  count(*) FILTER (WHERE price < 0 OR price > 100000) AS range_price,
  count(*) FILTER (WHERE o.customer_id IS NOT NULL AND c.id IS NULL) AS relationships_customer_id,
  max(created_at) AS newest,
  count(*) FILTER (WHERE NOT (quantity * unit_price = revenue)) AS expression_1
FROM read_parquet('${orders}') AS o
LEFT JOIN (SELECT DISTINCT id FROM read_parquet('${customers}')) AS c ON o.customer_id = c.id`;
}

/** Orders with about one defect of each kind per 100,000 rows, spread through the file. */
async function generate(dir: string, rows: number): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`COPY (SELECT range AS id, 'customer ' || range AS name FROM range(${CUSTOMERS - 10})) TO '${path.join(dir, 'customers.parquet')}' (FORMAT parquet)`);
  await c.run(`COPY (
    SELECT CASE WHEN range % 100003 = 7 THEN range - 1 ELSE range END AS order_id,
      CASE WHEN range % 100019 = 11 THEN NULL ELSE (hash(range) % ${CUSTOMERS})::BIGINT END AS customer_id,
      CASE WHEN range % 100043 = 13 THEN -1.0 ELSE (hash(range * 7) % 1000000) / 10.0 END AS price,
      CASE WHEN range % 100057 = 17 THEN 'lost' ELSE ['new', 'paid', 'shipped'][1 + range % 3] END AS status,
      now()::TIMESTAMP - INTERVAL (range % 86400) SECOND AS created_at,
      (1 + range % 5)::INTEGER AS quantity,
      (10 + range % 7)::INTEGER AS unit_price,
      ((1 + range % 5) * (10 + range % 7) + CASE WHEN range % 100069 = 19 THEN 1 ELSE 0 END)::INTEGER AS revenue
    FROM range(${rows})
  ) TO '${path.join(dir, 'orders.parquet')}' (FORMAT parquet, COMPRESSION zstd)`);
  c.closeSync();
  db.closeSync();
}

export async function benchCheckExec() {
  requireTool('/usr/bin/time', 'time');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeobs-bench-check-'));
  const vm = await startVictoriaMetrics();
  try {
    process.stderr.write(`generating ${ROWS.toLocaleString('en')} orders…\n`);
    await generate(dir, ROWS);
    writeFileSync(path.join(dir, 'rules.yml'), rulesFor(dir));
    const duckdb = pathToFileURL(createRequire(import.meta.url).resolve('@duckdb/node-api')).href;
    const handScript = path.join(dir, 'hand.mjs');
    writeFileSync(
      handScript,
      `import { DuckDBInstance } from ${JSON.stringify(duckdb)};
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const r = await c.runAndReadAll(${JSON.stringify(handWrittenSql(dir))});
console.log(JSON.stringify(r.getRowObjectsJS()[0], (k, v) => (typeof v === 'bigint' ? Number(v) : v)));\n`,
    );

    const runs: { hand: number; check: number; handRss: number; checkRss: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const hand = await timed(process.execPath, [handScript]);
      if (hand.code !== 0) throw new Error(hand.stderr);
      const expected = JSON.parse(hand.stdout) as Record<string, number>;
      const state = path.join(dir, `state-${r}.json`);
      const check = await timed(process.execPath, [BIN, 'check', path.join(dir, 'orders.parquet'), '--rules', path.join(dir, 'rules.yml'), '--state', state, '-o', 'json'], { ...process.env, CI: 'true' });
      if (check.code !== 5 && check.code !== 0) throw new Error(check.stderr);
      const doc = JSON.parse(check.stdout) as { rows: number; checks: { name: string; rows_failing: number | null }[] };
      // Both sides must have found the same thing.
      if (doc.rows !== expected.rows) throw new Error(`check counted ${doc.rows} rows, the hand-written SQL ${expected.rows}`);
      for (const c of doc.checks) {
        if (c.name in expected && c.rows_failing !== expected[c.name]) throw new Error(`${c.name}: check ${c.rows_failing}, hand-written ${expected[c.name]}`);
      }
      runs.push({ hand: hand.wallSeconds, check: check.wallSeconds, handRss: hand.maxRssMb, checkRss: check.maxRssMb });
      process.stderr.write(`check round ${r + 1}: hand-written ${round(hand.wallSeconds, 2)} s (${round(hand.maxRssMb, 0)} MB), check ${round(check.wallSeconds, 2)} s (${round(check.maxRssMb, 0)} MB)\n`);
    }

    // Two jobs: `true` ends at once, so nothing of pipeobs' work overlaps it (the push code loads
    // and the first request goes out after it); `sleep 0.2` is a job that runs, during which the
    // push code loads and the counters go out at 0.
    const trueBin = requireTool('true', 'coreutils');
    const sleepBin = requireTool('sleep', 'coreutils');
    const jobs: Record<string, string[]> = { true: [trueBin], sleep: [sleepBin, '0.2'] };
    const execRuns: Record<string, { alone: number; none: number; push: number }[]> = { true: [], sleep: [] };
    for (let r = 0; r < EXEC_ROUNDS; r++) {
      for (const [job, argv] of Object.entries(jobs)) {
        const alone = await timed(argv[0], argv.slice(1));
        const none = await timed(process.execPath, [BIN, 'exec', '--pipeline', 'bench', '--push', 'none', '--', ...argv], { ...process.env, CI: 'true' });
        const push = await timed(process.execPath, [BIN, '--vm-url', vm.url, 'exec', '--pipeline', 'bench', '--spool-dir', path.join(dir, 'spool'), '--', ...argv], { ...process.env, CI: 'true' });
        if (none.code !== 0 || push.code !== 0) throw new Error(`${none.stderr}${push.stderr}`);
        execRuns[job].push({ alone: alone.wallSeconds, none: none.wallSeconds, push: push.wallSeconds });
      }
    }
    const m = (k: keyof (typeof runs)[number]) => median(runs.map((x) => x[k]));
    const e = (job: string, k: 'alone' | 'none' | 'push') => median(execRuns[job].map((x) => x[k]));
    const execFigures = (job: string) => ({
      alone_ms: round(1000 * e(job, 'alone'), 1),
      exec_no_push_ms: round(1000 * e(job, 'none'), 1),
      exec_push_ms: round(1000 * e(job, 'push'), 1),
      added_no_push_ms: round(1000 * (e(job, 'none') - e(job, 'alone')), 1),
      added_push_ms: round(1000 * (e(job, 'push') - e(job, 'alone')), 1),
    });
    const result = {
      check: {
        rows: ROWS,
        rules: 8,
        hand_written_seconds: round(m('hand'), 2),
        check_seconds: round(m('check'), 2),
        ratio: round(m('check') / m('hand'), 2),
        check_peak_rss_mb: round(Math.max(...runs.map((x) => x.checkRss)), 0),
        hand_written_peak_rss_mb: round(Math.max(...runs.map((x) => x.handRss)), 0),
        targets: { ratio: 2, peak_rss_mb: 1024 },
      },
      exec: {
        true: execFigures('true'),
        sleep_0_2: execFigures('sleep'),
        target_added_ms: 100,
      },
    };
    saveResult('check-exec', result);
    return result;
  } finally {
    await vm.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchCheckExec(), null, 2));
}
