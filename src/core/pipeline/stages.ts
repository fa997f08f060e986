/**
 * The SQL of the transform, quality and load stages, run in DuckDB. Each returns the counts
 * the run reports; no row is dropped without being counted and written to quarantine.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { QUALITY_CHECKS, type QualityCheck } from '../metrics/catalog.js';
import { quoteLiteral as quote } from '../analytics/duckdb.js';

async function scalarRow(conn: DuckDBConnection, sql: string): Promise<Record<string, number>> {
  const reader = await conn.runAndReadAll(sql);
  const row = reader.getRowObjectsJS()[0] ?? {};
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(row)) out[k] = v === null ? 0 : Number(v);
  return out;
}

const RAW_COLUMNS = 'ingest_seq, order_id, customer_id, product_id, quantity, unit_price, ordered_at, channel, status';

export interface TransformResult {
  rowsIn: number;
  rowsOut: number;
  typeConversion: number;
  exactDuplicate: number;
}

/**
 * Types the raw orders (price to DECIMAL, timestamp text to TIMESTAMP), removes exact
 * duplicates (the same record delivered twice) and joins customers and products, deriving
 * revenue. Rows that cannot be typed, and the extra copies, go to quarantine.
 */
export async function transform(conn: DuckDBConnection): Promise<TransformResult> {
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE typed AS
    SELECT *, TRY_CAST(unit_price AS DECIMAL(12,2)) AS price, TRY_CAST(ordered_at AS TIMESTAMP) AS ordered_ts,
      row_number() OVER (PARTITION BY order_id, customer_id, product_id, quantity, unit_price, ordered_at, channel, status ORDER BY ingest_seq) AS copy_no
    FROM raw_orders;
    CREATE OR REPLACE TEMP TABLE quarantine AS
    SELECT ${RAW_COLUMNS},
      CASE WHEN (unit_price IS NOT NULL AND price IS NULL) OR (ordered_at IS NOT NULL AND ordered_ts IS NULL) THEN 'type_conversion' ELSE 'exact_duplicate' END AS reason,
      [reason] AS failed_checks
    FROM typed
    WHERE (unit_price IS NOT NULL AND price IS NULL) OR (ordered_at IS NOT NULL AND ordered_ts IS NULL) OR copy_no > 1;
    CREATE OR REPLACE TEMP TABLE enriched AS
    SELECT t.ingest_seq, t.order_id, t.customer_id, t.product_id, t.quantity, t.price AS unit_price, t.ordered_ts AS ordered_at,
      t.channel, t.status, t.unit_price AS raw_unit_price, t.ordered_at AS raw_ordered_at,
      p.name AS product_name, p.category, c.country, c.segment,
      (p.product_id IS NOT NULL) AS product_known, (c.customer_id IS NOT NULL) AS customer_known,
      CAST(t.quantity * t.price AS DECIMAL(14,2)) AS revenue
    FROM typed t
    LEFT JOIN raw_products p USING (product_id)
    LEFT JOIN raw_customers c USING (customer_id)
    WHERE NOT ((t.unit_price IS NOT NULL AND t.price IS NULL) OR (t.ordered_at IS NOT NULL AND t.ordered_ts IS NULL) OR t.copy_no > 1);
  `);
  const c = await scalarRow(conn, `
    SELECT (SELECT count(*) FROM raw_orders) AS rows_in, (SELECT count(*) FROM enriched) AS rows_out,
      (SELECT count(*) FROM quarantine WHERE reason = 'type_conversion') AS type_conversion,
      (SELECT count(*) FROM quarantine WHERE reason = 'exact_duplicate') AS exact_duplicate`);
  return { rowsIn: c.rows_in, rowsOut: c.rows_out, typeConversion: c.type_conversion, exactDuplicate: c.exact_duplicate };
}

/** The condition under which a row fails each check. */
export const CHECK_SQL: Record<QualityCheck, string> = {
  null_required: 'customer_id IS NULL OR product_id IS NULL OR quantity IS NULL OR unit_price IS NULL OR ordered_at IS NULL',
  out_of_range: 'quantity <= 0 OR quantity > 1000 OR unit_price < 0 OR unit_price > 100000',
  duplicate_key: 'row_number() OVER (PARTITION BY order_id ORDER BY ingest_seq) > 1',
  unknown_foreign_key: '(product_id IS NOT NULL AND NOT product_known) OR (customer_id IS NOT NULL AND NOT customer_known)',
  future_timestamp: 'ordered_at > {now} + INTERVAL 5 MINUTE',
};

export interface QualityResult {
  rowsChecked: number;
  rowsPassed: number;
  failed: Record<QualityCheck, number>;
  /** 0-100 per check: share of checked rows that pass it. */
  scores: Record<QualityCheck, number>;
  /** Mean of the per-check scores: the share of (check, row) pairs that pass. */
  overall: number;
  /** Rows set aside here, by the first check they failed. */
  quarantinedByFirstCheck: Record<QualityCheck, number>;
}

export async function qualityChecks(conn: DuckDBConnection, now: Date): Promise<QualityResult> {
  const nowSql = `epoch_ms(${now.getTime()})::TIMESTAMP`;
  const flags = QUALITY_CHECKS.map((c) => `COALESCE(${CHECK_SQL[c].replace('{now}', nowSql)}, false) AS f_${c}`).join(',\n      ');
  await conn.run(`CREATE OR REPLACE TEMP TABLE checked AS SELECT *, ${flags} FROM enriched`);
  const anyFailed = QUALITY_CHECKS.map((c) => `f_${c}`).join(' OR ');
  const firstFailed = `CASE ${QUALITY_CHECKS.map((c) => `WHEN f_${c} THEN '${c}'`).join(' ')} END`;
  const failedList = `list_filter([${QUALITY_CHECKS.map((c) => `CASE WHEN f_${c} THEN '${c}' END`).join(', ')}], x -> x IS NOT NULL)`;
  await conn.run(`
    INSERT INTO quarantine
    SELECT ingest_seq, order_id, customer_id, product_id, quantity, raw_unit_price, raw_ordered_at, channel, status, ${firstFailed}, ${failedList}
    FROM checked WHERE ${anyFailed};
    CREATE OR REPLACE TEMP TABLE clean AS SELECT * EXCLUDE (${QUALITY_CHECKS.map((c) => `f_${c}`).join(', ')}, raw_unit_price, raw_ordered_at, product_known, customer_known)
    FROM checked WHERE NOT (${anyFailed});`);
  const c = await scalarRow(conn, `
    SELECT count(*) AS rows_checked, count(*) FILTER (WHERE NOT (${anyFailed})) AS rows_passed,
      ${QUALITY_CHECKS.map((k) => `count(*) FILTER (WHERE f_${k}) AS failed_${k}, count(*) FILTER (WHERE ${firstFailed} = '${k}') AS first_${k}`).join(', ')}
    FROM checked`);
  const failed = {} as Record<QualityCheck, number>;
  const scores = {} as Record<QualityCheck, number>;
  const first = {} as Record<QualityCheck, number>;
  for (const k of QUALITY_CHECKS) {
    failed[k] = c[`failed_${k}`];
    first[k] = c[`first_${k}`];
    scores[k] = c.rows_checked === 0 ? 100 : round2((100 * (c.rows_checked - failed[k])) / c.rows_checked);
  }
  const overall = round2(QUALITY_CHECKS.reduce((s, k) => s + scores[k], 0) / QUALITY_CHECKS.length);
  return { rowsChecked: c.rows_checked, rowsPassed: c.rows_passed, failed, scores, overall, quarantinedByFirstCheck: first };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export interface LoadTarget {
  ordersTmp: string;
  quarantineTmp: string;
}

export interface LoadResult {
  rows: number;
  quarantineRows: number;
  newestOrderedAtMs: number | null;
}

export interface RunIdentity {
  runId: string;
  pipelineName: string;
  environment: string;
  startedAt: Date;
}

/**
 * Writes clean rows and quarantined rows to Parquet (zstd) at temporary paths; the caller renames.
 * Every row carries its run (run_id, pipeline_name, environment, run_started_at), so the output
 * can be joined with the run's metrics.
 */
export async function load(conn: DuckDBConnection, run: RunIdentity, target: LoadTarget): Promise<LoadResult> {
  const c = await scalarRow(conn, `SELECT (SELECT count(*) FROM clean) AS rows, (SELECT count(*) FROM quarantine) AS q,
    (SELECT epoch_ms(max(ordered_at)) FROM clean) AS newest`);
  const id = `${quote(run.runId)} AS run_id, ${quote(run.pipelineName)} AS pipeline_name, ${quote(run.environment)} AS environment, epoch_ms(${run.startedAt.getTime()}) AS run_started_at`;
  await conn.run(`COPY (SELECT ${id}, * EXCLUDE (ingest_seq) FROM clean ORDER BY ordered_at, order_id)
    TO ${quote(target.ordersTmp)} (FORMAT parquet, COMPRESSION zstd)`);
  if (c.q > 0) {
    await conn.run(`COPY (SELECT ${id}, * FROM quarantine ORDER BY ingest_seq)
      TO ${quote(target.quarantineTmp)} (FORMAT parquet, COMPRESSION zstd)`);
  }
  return { rows: c.rows, quarantineRows: c.q, newestOrderedAtMs: c.rows > 0 ? c.newest : null };
}
