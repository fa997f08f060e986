/**
 * DuckDB for analytics: fetched series loaded as tables, Parquet files attached as views,
 * SQL results as tables, and results written to Parquet atomically.
 */
import { rename, rm } from 'node:fs/promises';
import { DuckDBInstance, timestampValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { UsageError } from '../errors.js';
import type { Table, Cell } from '../output/render.js';
import { labelColumns, type SeriesSample } from './series.js';

export async function openDb(): Promise<{ conn: DuckDBConnection; close(): void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  return {
    conn,
    close: () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Creates `name(metric, <one column per label>, ts, value)` and fills it. */
export async function loadSamples(conn: DuckDBConnection, name: string, samples: readonly SeriesSample[], extraLabels: readonly string[] = []): Promise<string[]> {
  const labels = [...new Set([...labelColumns(samples), ...extraLabels])].sort();
  const cols = ['metric VARCHAR', ...labels.map((l) => `${quoteIdent(l)} VARCHAR`), 'ts TIMESTAMP', 'value DOUBLE'];
  await conn.run(`CREATE OR REPLACE TABLE ${quoteIdent(name)} (${cols.join(', ')})`);
  const app = await conn.createAppender(name);
  for (const s of samples) {
    app.appendVarchar(s.metric);
    for (const l of labels) {
      const v = s.labels[l];
      if (v === undefined) app.appendNull();
      else app.appendVarchar(v);
    }
    app.appendTimestamp(timestampValue(BigInt(Math.round(s.ts)) * 1000n));
    if (Number.isFinite(s.value)) app.appendDouble(s.value);
    else app.appendNull();
    app.endRow();
  }
  app.closeSync();
  return labels;
}

/** Makes a Parquet file (or glob) queryable as a view. */
export async function attachParquet(conn: DuckDBConnection, name: string, file: string): Promise<void> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`--with ${name}=…: the table name must be a plain identifier`);
  try {
    await conn.run(`CREATE OR REPLACE VIEW ${quoteIdent(name)} AS SELECT * FROM read_parquet(${quoteLiteral(file)})`);
  } catch (err) {
    throw new UsageError(`--with ${name}=${file}: ${firstLine(err)}`);
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

function cell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'object' ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)) : String(v);
}

/** Runs SQL and returns its result as a table; a SQL error is a usage error with DuckDB's words. */
export async function queryTable(conn: DuckDBConnection, sql: string, what = 'SQL'): Promise<Table> {
  let reader;
  try {
    reader = await conn.runAndReadAll(sql);
  } catch (err) {
    throw new UsageError(`${what} failed: ${firstLine(err)}`, what === 'SQL' ? 'the fetched series are in the table metrics(metric, <labels>, ts, value)' : undefined);
  }
  const columns = reader.columnNames();
  const rows = reader.getRowsJS().map((r) => r.map(cell));
  return { columns, rows };
}

/** Writes the result of a query to Parquet (zstd), under a temporary name renamed when complete. */
export async function copyToParquet(conn: DuckDBConnection, sql: string, file: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await conn.run(`COPY (${sql}) TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new UsageError(`cannot write ${file}: ${firstLine(err)}`);
  }
}

export type { DuckDBConnection, DuckDBValue };
