/**
 * DuckDB for export-parquet, through its low-level bindings (@duckdb/node-bindings, the package
 * @duckdb/node-api is built on). The export only runs statements and reads one count, and the
 * bindings load in about 16 ms where @duckdb/node-api takes about 100 ms more (measured on this
 * project's 2-vCPU machine): a tenth of a 2,000,000-sample export. Statements run on libuv's
 * thread pool, so two connections convert two chunks at once while the main thread downloads.
 */
type Bindings = typeof import('@duckdb/node-bindings');

export interface DuckRunner {
  /** A connection of its own (one per chunk converted at once). */
  connect(): Promise<DuckConnection>;
  close(): void;
}

export interface DuckConnection {
  run(sql: string): Promise<void>;
  /** Runs a statement whose result is one BIGINT (COPY's row count) and returns it. */
  count(sql: string): Promise<number>;
  close(): void;
}

export type LoadDuck = () => Promise<DuckRunner>;

export const loadDuckRunner: LoadDuck = async () => {
  const duckdb = (await import('@duckdb/node-bindings')).default as Bindings;
  const db = await duckdb.open(':memory:');
  return {
    async connect() {
      const conn = await duckdb.connect(db);
      return {
        async run(sql) {
          await duckdb.query(conn, sql);
        },
        async count(sql) {
          const result = await duckdb.query(conn, sql);
          const chunk = await duckdb.fetch_chunk(result);
          if (!chunk || duckdb.data_chunk_get_size(chunk) < 1) return 0;
          const bytes = duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk, 0), 8);
          return Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigInt64(0, true));
        },
        close() {
          duckdb.disconnect_sync(conn);
        },
      };
    },
    close() {
      duckdb.close_sync(db);
    },
  };
};
