/**
 * What `check` reads: files, globs and Hive-partitioned directories of Parquet, CSV or JSON
 * lines, turned into one DuckDB table function call (read_parquet / read_csv / read_json) over
 * all of them. DuckDB streams the files; nothing is loaded into Node.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { quoteLiteral } from '../analytics/duckdb.js';

export const DATA_FORMATS = ['parquet', 'csv', 'json'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

export interface DataSource {
  format: DataFormat;
  /** Files and globs as DuckDB reads them (absolute). */
  patterns: string[];
  hive: boolean;
  /** The table function call, e.g. read_parquet(['/data/orders/**\/*.parquet'], hive_partitioning = true). */
  sql: string;
}

/** Why a path cannot be read; the caller decides the exit code (a PATH argument or a rule's `to:`). */
export class SourceError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'SourceError';
  }
}

export function formatOf(file: string): DataFormat | null {
  const name = file.toLowerCase().replace(/\.(gz|zst)$/, '');
  if (/\.(parquet|pq)$/.test(name)) return 'parquet';
  if (/\.(csv|tsv)$/.test(name)) return 'csv';
  if (/\.(jsonl|ndjson|json)$/.test(name)) return 'json';
  return null;
}

const GLOB = /[*?[]/;
const KNOWN = '.parquet, .csv, .tsv, .jsonl, .ndjson or .json (optionally .gz)';

/** Formats of the data files under a directory, and whether it has key=value subdirectories. */
async function scanDirectory(dir: string): Promise<{ formats: Map<DataFormat, string>; hive: boolean; files: number }> {
  const formats = new Map<DataFormat, string>();
  let hive = false;
  let files = 0;
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile() || e.name.startsWith('.') || e.name.startsWith('_')) continue;
    const f = formatOf(e.name);
    if (!f) continue;
    files++;
    const ext = /(\.[^.]+(\.(gz|zst))?)$/i.exec(e.name)![1];
    if (!formats.has(f)) formats.set(f, ext);
    const rel = path.relative(dir, e.parentPath ?? (e as unknown as { path: string }).path);
    if (rel.split(path.sep).some((seg) => /^[^=]+=.*$/.test(seg))) hive = true;
  }
  return { formats, hive, files };
}

/** Resolves the paths given on the command line (relative to cwd) into one source. */
export async function resolveSource(paths: readonly string[], cwd: string): Promise<DataSource> {
  if (paths.length === 0) throw new SourceError('no data to check: give files, globs or directories');
  const patterns: string[] = [];
  const formats = new Set<DataFormat>();
  let hive = false;
  for (const p of paths) {
    const abs = path.resolve(cwd, p);
    if (GLOB.test(p)) {
      const f = formatOf(abs);
      if (!f) throw new SourceError(`${p}: cannot tell the format from the pattern's extension`, `end the pattern with ${KNOWN}`);
      formats.add(f);
      patterns.push(abs);
      if (/[/\\][^/\\=*?]+=/.test(abs)) hive = true;
      continue;
    }
    let st;
    try {
      st = await stat(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SourceError(`cannot read ${p}: ${code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`);
    }
    if (st.isDirectory()) {
      let scan;
      try {
        scan = await scanDirectory(abs);
      } catch (err) {
        throw new SourceError(`cannot read the directory ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      if (scan.files === 0) throw new SourceError(`${p}: no data files in this directory`, `checked files end in ${KNOWN}`);
      if (scan.formats.size > 1) throw new SourceError(`${p}: the directory holds several formats (${[...scan.formats.keys()].join(', ')})`, 'give a glob for one of them, e.g. "dir/**/*.parquet"');
      const [[f, ext]] = [...scan.formats];
      formats.add(f);
      patterns.push(path.join(abs, '**', `*${ext}`));
      hive ||= scan.hive;
      continue;
    }
    const f = formatOf(abs);
    if (!f) throw new SourceError(`${p}: unknown format`, `checked files end in ${KNOWN}`);
    formats.add(f);
    patterns.push(abs);
  }
  if (formats.size > 1) throw new SourceError(`the paths mix formats (${[...formats].join(', ')}); check one format at a time`);
  const [format] = [...formats];
  return { format, patterns, hive, sql: readCall(format, patterns, hive) };
}

function readCall(format: DataFormat, patterns: readonly string[], hive: boolean): string {
  const list = `[${patterns.map(quoteLiteral).join(', ')}]`;
  const opts = [hive ? 'hive_partitioning = true' : 'hive_partitioning = false', 'union_by_name = true'];
  if (format === 'parquet') return `read_parquet(${list}, ${opts.join(', ')})`;
  if (format === 'csv') return `read_csv(${list}, ${opts.join(', ')})`;
  return `read_json(${list}, format = 'auto', ${opts.join(', ')})`;
}
