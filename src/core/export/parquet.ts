/**
 * One export of VictoriaMetrics series to Parquet, in bounded memory:
 * 1. /api/v1/export streams to a temporary JSON-lines file, while the byte range and series of
 *    every line are noted (a few numbers per line; the samples are never held).
 * 2. Lines are put in series order (metric, common labels, other labels) by a stable sort, which
 *    keeps each series' lines in the time order VictoriaMetrics wrote them, and copied to a
 *    second file in that order.
 *    The copy is cut into chunks of whole lines (about chunkBytes of JSON each).
 * 3. DuckDB reads each chunk and writes Parquet (zstd) in file order, no sort of its own, so every
 *    file is sorted by metric, labels, time and the files follow each other in that order;
 *    optionally partitioned by day or hour. Only one chunk is in DuckDB at a time.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { VmClient } from '../victoria/client.js';
import { CATALOG } from '../metrics/catalog.js';
import { quoteIdent, quoteLiteral } from '../analytics/duckdb.js';

export const PARTITIONS = ['day', 'hour', 'none'] as const;
export type PartitionBy = (typeof PARTITIONS)[number];

/** Labels that get a column of their own; all others go into the `labels` map. */
export const COMMON_LABELS: readonly string[] = [...new Set(['job', 'instance', ...CATALOG.flatMap((m) => m.labels)])];

export interface ExportRequest {
  match: string[];
  /** Exclusive start and inclusive end, in milliseconds. */
  afterMs: number;
  untilMs: number;
  partitionBy: PartitionBy;
  /** Where the finished files are written (a private temporary directory). */
  workDir: string;
  memoryLimitMb: number;
  /** DuckDB threads (one keeps memory lowest; the work is bound by parsing and Parquet encoding). */
  threads?: number;
  /** JSON bytes per chunk handed to DuckDB (bounds its memory). */
  chunkBytes?: number;
  onProgress?(p: { bytes: number; lines: number }): void;
}

export interface ExportedFile {
  /** Path under workDir. */
  tmpPath: string;
  /** Path relative to the output directory, e.g. date=2026-11-21/part-….parquet */
  relPath: string;
  bytes: number;
}

export interface ExportResult {
  series: number;
  samples: number;
  jsonBytes: number;
  files: ExportedFile[];
}

const VALUES_MARK = Buffer.from('},"values":[');

export async function exportWindow(client: VmClient, req: ExportRequest, duck: typeof import('@duckdb/node-api')): Promise<ExportResult> {
  await mkdir(req.workDir, { recursive: true });
  const rawFile = path.join(req.workDir, 'export.jsonl');
  const sortedFile = path.join(req.workDir, 'sorted.jsonl');

  // 1. Stream the export to disk, noting where each line is and which series it belongs to.
  const lineStart: number[] = [];
  const lineLength: number[] = [];
  const lineSeries: number[] = [];
  const seriesIds = new Map<string, number>();
  let offset = 0;
  let head: Buffer[] = []; // the start of the current line, until its metric object is complete
  let headDone = false;
  let currentStart = 0;
  const out = createWriteStream(rawFile);
  const endLine = (endOffset: number) => {
    lineStart.push(currentStart);
    lineLength.push(endOffset - currentStart);
    currentStart = endOffset + 1;
    head = [];
    headDone = false;
  };
  const noteHead = (chunk: Buffer, from: number, to: number) => {
    if (headDone) return;
    head.push(chunk.subarray(from, to));
    const joined = head.length === 1 ? head[0] : Buffer.concat(head);
    head = [joined];
    const mark = joined.indexOf(VALUES_MARK);
    if (mark >= 0) {
      const key = joined.toString('utf8', 0, mark + 1);
      let id = seriesIds.get(key);
      if (id === undefined) seriesIds.set(key, (id = seriesIds.size));
      lineSeries.push(id);
      headDone = true;
      head = [];
    } else if (joined.length > 1 << 20) throw new Error('an export line has no "values" within its first MiB');
  };
  for await (const raw of client.exportRaw(req.match, (req.afterMs / 1000 + 0.001).toFixed(3), (req.untilMs / 1000).toFixed(3))) {
    const chunk = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let pos = 0;
    for (;;) {
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) {
        noteHead(chunk, pos, chunk.length);
        break;
      }
      noteHead(chunk, pos, nl);
      endLine(offset + nl);
      pos = nl + 1;
    }
    offset += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    req.onProgress?.({ bytes: offset, lines: lineStart.length });
  }
  if (currentStart < offset) endLine(offset);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  if (lineStart.length !== lineSeries.length) throw new Error('the export ended in the middle of a line');

  // 2. Series order, then lines in that order (stable: each series keeps its time order).
  const keys = [...seriesIds.keys()];
  const sortKey = keys.map((k) => {
    const metric = (JSON.parse(`${k.slice(k.indexOf(':') + 1)}`) as Record<string, string>);
    const rest = Object.keys(metric).filter((l) => l !== '__name__' && !COMMON_LABELS.includes(l)).sort();
    return [metric.__name__ ?? '', ...COMMON_LABELS.map((l) => metric[l] ?? ''), JSON.stringify(rest.map((l) => [l, metric[l]]))];
  });
  const rank = new Array<number>(keys.length);
  [...keys.keys()]
    .sort((a, b) => {
      const x = sortKey[a];
      const y = sortKey[b];
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
      return 0;
    })
    .forEach((id, r) => (rank[id] = r));
  const order = [...lineStart.keys()].sort((a, b) => rank[lineSeries[a]] - rank[lineSeries[b]]);
  const chunkBytes = req.chunkBytes ?? 4 << 20;
  const chunks: string[] = [];
  const src = await open(rawFile, 'r');
  try {
    let buf = Buffer.alloc(1 << 20);
    let dst: ReturnType<typeof createWriteStream> | null = null;
    let written = 0;
    const close = () => new Promise<void>((resolve, reject) => dst!.end((err?: Error | null) => (err ? reject(err) : resolve())));
    for (const i of order) {
      if (!dst || written >= chunkBytes) {
        if (dst) await close();
        const f = path.join(req.workDir, `sorted-${String(chunks.length).padStart(4, '0')}.jsonl`);
        chunks.push(f);
        dst = createWriteStream(f);
        written = 0;
      }
      const n = lineLength[i] + 1;
      if (buf.length < n) buf = Buffer.alloc(n);
      const { bytesRead } = await src.read(buf, 0, lineLength[i], lineStart[i]);
      const piece = Buffer.from(buf.subarray(0, bytesRead + 1));
      piece[bytesRead] = 10;
      written += piece.length;
      if (!dst.write(piece)) await new Promise<void>((r) => dst!.once('drain', () => r()));
    }
    if (dst) await close();
  } finally {
    await src.close();
  }

  // 3. Parquet through DuckDB, chunk by chunk, in file order. Label columns are computed once per
  //    line, before its samples are unnested.
  const dataDir = path.join(req.workDir, 'data');
  const instance = await duck.DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  let samples = 0;
  try {
    await conn.run(`SET memory_limit='${req.memoryLimitMb}MB'; SET temp_directory=${quoteLiteral(path.join(req.workDir, 'duckdb'))}; SET preserve_insertion_order=true; SET threads=${req.threads ?? 1}`);
    const others = `map_from_entries(list_filter(map_entries(m), e -> e.key NOT IN (${['__name__', ...COMMON_LABELS].map(quoteLiteral).join(', ')})))`;
    const partCols =
      req.partitionBy === 'day' ? `, strftime("timestamp", '%Y-%m-%d') AS date` : req.partitionBy === 'hour' ? `, strftime("timestamp", '%Y-%m-%d') AS date, strftime("timestamp", '%H') AS hour` : '';
    for (const [k, chunk] of chunks.entries()) {
      const select = `SELECT *${partCols} FROM (
          SELECT metric, ${COMMON_LABELS.map(quoteIdent).join(', ')}, labels, make_timestamp(unnest(tss) * 1000) AS "timestamp", unnest(vs) AS value
          FROM (SELECT m['__name__'] AS metric, ${COMMON_LABELS.map((l) => `m[${quoteLiteral(l)}] AS ${quoteIdent(l)}`).join(', ')}, ${others} AS labels, vs, tss
                FROM (SELECT metric::MAP(VARCHAR, VARCHAR) AS m, "values" AS vs, timestamps AS tss
                      FROM read_json(${quoteLiteral(chunk)}, format = 'newline_delimited', maximum_object_size = 4194304,
                        columns = {metric: 'JSON', "values": 'DOUBLE[]', timestamps: 'BIGINT[]'}))))`;
      const chunkDir = path.join(dataDir, `c${String(k).padStart(4, '0')}`);
      await mkdir(chunkDir, { recursive: true });
      const target = req.partitionBy === 'none' ? path.join(chunkDir, 'part-0.parquet') : chunkDir;
      const partition = req.partitionBy === 'none' ? '' : `, PARTITION_BY (${req.partitionBy === 'day' ? 'date' : 'date, hour'}), OVERWRITE_OR_IGNORE, FILENAME_PATTERN 'part-{i}'`;
      const result = await conn.runAndReadAll(`COPY (${select}) TO ${quoteLiteral(target)} (FORMAT parquet, COMPRESSION zstd${partition})`);
      samples += Number(result.getRowsJS()[0]?.[0] ?? 0);
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }

  const files: ExportedFile[] = [];
  const suffix = `${req.afterMs}-${req.untilMs}`;
  // data/c0003/date=2026-11-21/part-0.parquet → date=2026-11-21/part-<after>-<until>-0003-0.parquet
  const walk = async (dir: string, rel: string, chunk: string): Promise<void> => {
    for (const e of (await readdir(dir, { withFileTypes: true }).catch(() => [])).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p, rel ? `${rel}/${e.name}` : e.name, chunk);
      else if (e.name.endsWith('.parquet')) {
        const n = /^part-?(\d*)\.parquet$/.exec(e.name)?.[1] || '0';
        files.push({ tmpPath: p, relPath: `${rel ? `${rel}/` : ''}part-${suffix}-${chunk}-${n}.parquet`, bytes: (await stat(p)).size });
      }
    }
  };
  for (const c of (await readdir(dataDir).catch(() => [])).sort()) await walk(path.join(dataDir, c), '', c.slice(1));
  return { series: keys.length, samples, jsonBytes: offset, files };
}
