/**
 * One export of VictoriaMetrics series to Parquet, in bounded memory, with the two cores busy at
 * once:
 * 1. /api/v1/export streams into chunk files of whole lines (about 4 MiB of JSON each; a
 *    line holds at most 1000 samples of one series, in time order).
 * 2. As soon as a chunk is complete, one DuckDB statement reads it, orders its LINES (not its
 *    samples) by series (metric, common labels, other labels) and first timestamp, unnests them
 *    and writes zstd Parquet, while the next chunk downloads; two chunks convert at once, one per
 *    core. Ordering lines is enough: the lines
 *    of a series do not overlap in time, so the samples come out sorted by metric, labels, time.
 * 3. A chunk's JSON is deleted once converted; the download waits when it is two chunks ahead, so
 *    disk and memory stay bounded by the chunk size whatever the window.
 * Every file is sorted by metric, labels, time; one file per chunk and partition (day or hour).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { WorkFailedError } from '../errors.js';
import type { VmClient } from '../victoria/client.js';
import { CATALOG } from '../metrics/catalog.js';
import type { LoadDuck } from './duck-runner.js';

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
  /**
   * Chunks converted at once, each by its own connection on one thread. Two use both cores for
   * the same CPU time and about the same peak memory as one (measured on 8 MiB chunks); one
   * statement on two threads instead took twice the CPU.
   */
  parallel?: number;
  /**
   * JSON bytes per chunk handed to DuckDB (bounds its memory and the disk used). Measured with two
   * conversions at once: 4 MiB peaked at 335 MB for 10M samples, 8 MiB at 461 MB, for the same CPU.
   */
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

const VALUES_MARK = Buffer.from(',"values":[');
const TIMESTAMPS_MARK = Buffer.from('"timestamps":[');

/** The Hive directory of a time, as DuckDB's PARTITION_BY names it ('' when not partitioned). */
export function partitionDir(ms: number, partitionBy: PartitionBy): string {
  if (partitionBy === 'none') return '';
  const iso = new Date(ms).toISOString();
  return partitionBy === 'day' ? `date=${iso.slice(0, 10)}` : `date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}
/** Enough for one line of 1000 samples with 40 labels of 16 KiB (VictoriaMetrics' limits); a longer line is refused. It is also
 * the size of the buffers DuckDB reads JSON with, so it bounds memory too. */
const MAX_LINE_BYTES = 2 << 20;

/**
 * Rows per Parquet row group. DuckDB's default (122,880) made the process peak about 90 MB higher
 * per open file, measured on 8 MiB chunks; 30,000 costs ~10% more CPU and files ~1.5x larger
 * (still about a tenth of the JSON).
 */
const ROW_GROUP_ROWS = 30_000;
/*
 * DICTIONARY_SIZE_LIMIT 0: no dictionary pages. The label columns are ENUMs already, and for the
 * `labels` map the writer's dictionary (a hash of every key and value of every row) cost more
 * than it saved: on 2M samples with two other labels, writing took 0.78–0.82 s instead of
 * 0.89–0.97 s, and the files were a third smaller (3.1 MB against 4.6 MB; zstd finds the repeats).
 */

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** What a chunk holds, known from its lines' series before DuckDB reads it. */
export interface ChunkLabels {
  /** Common labels at least one series of the chunk has (the others are NULL throughout). */
  present: string[];
  /** Every metric name and value of a present common label. */
  values: string[];
}

/** Above this many distinct values the columns stay VARCHAR rather than one ENUM. */
const MAX_ENUM_VALUES = 100_000;

export function chunkLabels(series: Iterable<Record<string, string>>): ChunkLabels {
  const present = new Set<string>();
  const values = new Set<string>();
  for (const m of series) {
    values.add(m.__name__ ?? '');
    for (const l of COMMON_LABELS) {
      const v = m[l];
      if (v !== undefined) {
        present.add(l);
        values.add(v);
      }
    }
  }
  return { present: COMMON_LABELS.filter((l) => present.has(l)), values: [...values] };
}

/**
 * The statements that turn one chunk of export lines into Parquet files. The metric and label
 * columns are written as an ENUM of the chunk's values (they read back as VARCHAR): DuckDB's
 * Parquet writer then skips hashing every row's string, several times faster for these columns,
 * which repeat one value per series over every sample.
 */
export function chunkStatements(jsonFile: string, target: string, partitionBy: PartitionBy, labels: ChunkLabels, typeName = 'chunk_labels'): { setup: string[]; copy: string; cleanup: string[] } {
  const map = `metric::MAP(VARCHAR, VARCHAR)`;
  const own = ['__name__', ...COMMON_LABELS].map(quoteLiteral).join(', ');
  const useEnum = labels.values.length > 0 && labels.values.length <= MAX_ENUM_VALUES;
  const labelType = useEnum ? quoteIdent(typeName) : 'VARCHAR';
  const setup = useEnum ? [`DROP TYPE IF EXISTS ${labelType}`, `CREATE TYPE ${labelType} AS ENUM (${labels.values.map(quoteLiteral).join(', ')})`] : [];
  const cleanup = useEnum ? [`DROP TYPE IF EXISTS ${labelType}`] : [];
  // A DATE prints as YYYY-MM-DD in the directory name and costs far less than strftime per sample.
  const partCols =
    partitionBy === 'day'
      ? `, "timestamp"::DATE AS date`
      : partitionBy === 'hour'
        ? `, "timestamp"::DATE AS date, lpad(hour("timestamp")::VARCHAR, 2, '0') AS hour`
        : '';
  const partition = partitionBy === 'none' ? '' : `, PARTITION_BY (${partitionBy === 'day' ? 'date' : 'date, hour'}), OVERWRITE_OR_IGNORE, FILENAME_PATTERN 'part-{i}'`;
  const present = new Set(labels.present);
  // Lines in series order (missing labels first, as an empty value would be), then by their first
  // sample; the other labels compare as a list of (name, value) pairs sorted by name. The order is
  // taken on the text values, before they become ENUM values.
  const lines = `SELECT m['__name__'] AS metric, ${labels.present.map((l) => `m[${quoteLiteral(l)}] AS ${quoteIdent(l)}`).join(', ')}${labels.present.length ? ', ' : ''}others, vs, tss
      FROM (SELECT ${map} AS m, list_sort(list_filter(map_entries(${map}), e -> e.key NOT IN (${own}))) AS others, "values" AS vs, timestamps AS tss
            FROM read_json(${quoteLiteral(jsonFile)}, format = 'newline_delimited', maximum_object_size = ${MAX_LINE_BYTES},
                 columns = {metric: 'JSON', "values": 'DOUBLE[]', timestamps: 'BIGINT[]'}))
      ORDER BY metric NULLS FIRST, ${labels.present.map((l) => `${quoteIdent(l)} NULLS FIRST, `).join('')}others NULLS FIRST, tss[1]`;
  const typed = `SELECT metric::${labelType} AS metric, ${COMMON_LABELS.map((l) => `${present.has(l) ? quoteIdent(l) : 'NULL'}::${labelType} AS ${quoteIdent(l)}`).join(', ')},
      map_from_entries(others) AS labels, vs, tss FROM (${lines})`;
  const samples = `SELECT *${partCols} FROM (
      SELECT metric, ${COMMON_LABELS.map(quoteIdent).join(', ')}, labels, make_timestamp(unnest(tss) * 1000) AS "timestamp", unnest(vs) AS value
      FROM (${typed}))`;
  return { setup, copy: `COPY (${samples}) TO ${quoteLiteral(target)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_ROWS}, DICTIONARY_SIZE_LIMIT 0${partition})`, cleanup };
}

/**
 * Cuts the export stream into files of whole lines and notes every line's series. Calls onChunk
 * with each completed file; waits for it before starting a chunk when two are already waiting.
 */
class ChunkWriter {
  jsonBytes = 0;
  lines = 0;
  readonly series = new Set<string>();
  /** The series of the chunk being written, parsed from their lines' heads. */
  private chunkSeries = new Map<string, Record<string, string>>();
  private out: WriteStream | null = null;
  private file = '';
  private written = 0;
  private count = 0;
  private head: Buffer[] = [];
  private headBytes = 0;
  private headDone = false;
  private lineBytes = 0;
  private failed: Error | null = null;
  // The current line's first timestamp (read after TIMESTAMPS_MARK) and its last bytes (where the
  // last timestamp is); lines hold their samples in time order.
  private tsState: 'marker' | 'first' | 'done' = 'marker';
  private tsCarry: Buffer = Buffer.alloc(0);
  private tsDigits = '';
  private lineFirstMs = NaN;
  private lineTail: Buffer = Buffer.alloc(0);
  /** The time range of the chunk being written, from its lines' first and last timestamps. */
  private chunkMinMs = Infinity;
  private chunkMaxMs = -Infinity;

  constructor(
    private readonly dir: string,
    private readonly chunkBytes: number,
    private readonly onChunk: (file: string, index: number, labels: ChunkLabels, span: { minMs: number; maxMs: number }) => Promise<void>,
  ) {}

  async push(chunk: Buffer): Promise<void> {
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(10, pos);
      const end = nl < 0 ? chunk.length : nl + 1;
      this.noteHead(chunk, pos, nl < 0 ? end : nl);
      this.noteTimes(chunk, pos, nl < 0 ? end : nl);
      this.lineBytes += end - pos;
      if (this.lineBytes > MAX_LINE_BYTES) throw new WorkFailedError(`an export line is longer than ${MAX_LINE_BYTES >> 20} MiB`, 'this is not the export format pipeobs knows; check --vm-url points at VictoriaMetrics');
      if (nl < 0) {
        await this.write(chunk.subarray(pos));
        break;
      }
      // A whole line ends here: the chunk may be cut after it.
      this.endTimes();
      this.lines++;
      this.lineBytes = 0;
      this.head = [];
      this.headBytes = 0;
      this.headDone = false;
      await this.write(chunk.subarray(pos, end));
      if (this.written >= this.chunkBytes) await this.cut();
      pos = end;
    }
    this.jsonBytes += chunk.length;
  }

  async finish(): Promise<void> {
    if (this.lineBytes > 0) throw new WorkFailedError('the export ended in the middle of a line', 'VictoriaMetrics stopped while sending; run the export again');
    if (this.out) await this.cut();
  }

  /** Stops writing after an error: closes the open file, if any. */
  abort(): void {
    this.out?.destroy();
    this.out = null;
  }

  private noteTimes(chunk: Buffer, from: number, to: number): void {
    let piece = chunk.subarray(from, to);
    this.lineTail = this.lineTail.length ? Buffer.concat([this.lineTail, piece]).subarray(-32) : Buffer.from(piece.subarray(-32));
    if (this.tsState === 'marker') {
      const hay = this.tsCarry.length ? Buffer.concat([this.tsCarry, piece]) : piece;
      const at = hay.indexOf(TIMESTAMPS_MARK);
      if (at < 0) {
        this.tsCarry = Buffer.from(hay.subarray(Math.max(0, hay.length - TIMESTAMPS_MARK.length + 1)));
        return;
      }
      this.tsCarry = Buffer.alloc(0);
      this.tsState = 'first';
      piece = hay.subarray(at + TIMESTAMPS_MARK.length);
    }
    if (this.tsState === 'first') {
      let i = 0;
      while (i < piece.length && ((piece[i] >= 48 && piece[i] <= 57) || piece[i] === 45)) i++;
      this.tsDigits += piece.toString('latin1', 0, i);
      if (i < piece.length) {
        this.lineFirstMs = this.tsDigits ? Number(this.tsDigits) : NaN;
        this.tsState = 'done';
      }
    }
  }

  /** At the end of a line: its last timestamp ends it (`…,1700000000000]}`); the chunk's range grows. */
  private endTimes(): void {
    const tail = this.lineTail.toString('latin1');
    const last = /(-?\d+)\]\}\s*$/.exec(tail);
    if (Number.isFinite(this.lineFirstMs) && last) {
      this.chunkMinMs = Math.min(this.chunkMinMs, this.lineFirstMs);
      this.chunkMaxMs = Math.max(this.chunkMaxMs, Number(last[1]));
    } else {
      // Not the shape expected: treat the chunk as spanning every partition.
      this.chunkMinMs = -Infinity;
      this.chunkMaxMs = Infinity;
    }
    this.tsState = 'marker';
    this.tsCarry = Buffer.alloc(0);
    this.tsDigits = '';
    this.lineFirstMs = NaN;
    this.lineTail = Buffer.alloc(0);
  }

  private noteHead(chunk: Buffer, from: number, to: number): void {
    if (this.headDone) return;
    this.head.push(chunk.subarray(from, to));
    this.headBytes += to - from;
    const joined = this.head.length === 1 ? this.head[0] : Buffer.concat(this.head, this.headBytes);
    this.head = [joined];
    const mark = joined.indexOf(VALUES_MARK);
    if (mark >= 0) {
      const key = joined.toString('utf8', 0, mark);
      this.series.add(key);
      if (!this.chunkSeries.has(key)) this.chunkSeries.set(key, parseHead(key));
      this.headDone = true;
      this.head = [];
    } else if (this.headBytes > 1 << 20) {
      throw new WorkFailedError('an export line has no "values" within its first MiB', 'this is not the export format pipeobs knows; check --vm-url points at VictoriaMetrics');
    }
  }

  private async write(piece: Buffer): Promise<void> {
    if (!this.out) {
      this.file = path.join(this.dir, `chunk-${String(this.count).padStart(4, '0')}.jsonl`);
      this.out = createWriteStream(this.file);
      // A failed write (a full disk) is reported by the next write or the cut, never left unheard.
      this.out.on('error', (err) => (this.failed ??= err));
      this.written = 0;
    }
    if (this.failed) throw this.failed;
    this.written += piece.length;
    if (!this.out.write(piece)) await waitDrain(this.out);
  }

  private async cut(): Promise<void> {
    const out = this.out!;
    this.out = null;
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (this.failed) throw this.failed;
    const labels = chunkLabels(this.chunkSeries.values());
    const span = { minMs: this.chunkMinMs, maxMs: this.chunkMaxMs };
    this.chunkSeries = new Map();
    this.chunkMinMs = Infinity;
    this.chunkMaxMs = -Infinity;
    await this.onChunk(this.file, this.count++, labels, span);
  }
}

/** The labels of a line from its head, `{"metric":{…}`. */
function parseHead(head: string): Record<string, string> {
  try {
    return (JSON.parse(`${head}}`) as { metric: Record<string, string> }).metric;
  } catch {
    throw new WorkFailedError(`an export line does not start with a metric object: ${head.slice(0, 200)}`, 'this is not the export format pipeobs knows; check --vm-url points at VictoriaMetrics');
  }
}

function waitDrain(out: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      out.off('drain', done);
      out.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    out.once('drain', done).once('error', done);
  });
}

export async function exportWindow(client: VmClient, req: ExportRequest, loadDuck: LoadDuck): Promise<ExportResult> {
  const jsonDir = path.join(req.workDir, 'json');
  const dataDir = path.join(req.workDir, 'data');
  await mkdir(jsonDir, { recursive: true });
  await mkdir(dataDir, { recursive: true });
  // DuckDB loads (a fifth of a second) while the first chunk downloads.
  const parallel = Math.max(1, req.parallel ?? 2);
  const duckReady = loadDuck().then(async (instance) => {
    const conns = [];
    for (let i = 0; i < parallel; i++) conns.push(await instance.connect());
    await conns[0].run(
      `SET memory_limit='${req.memoryLimitMb}MB'; SET temp_directory=${quoteLiteral(path.join(req.workDir, 'duckdb'))}; SET preserve_insertion_order=true; SET threads=1`,
    );
    return { instance, conns };
  });
  duckReady.catch(() => {}); // awaited below; an early failure must not be an unhandled rejection
  // Connections not converting a chunk right now (one list for all), and conversions waiting for one.
  const idleReady = duckReady.then(({ conns }) => [...conns]);
  idleReady.catch(() => {});
  const waiting: (() => void)[] = [];

  let samples = 0;
  const convert = async (file: string, index: number, labels: ChunkLabels, span: { minMs: number; maxMs: number }): Promise<void> => {
    const idle = await idleReady;
    while (idle.length === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    const conn = idle.pop()!;
    try {
      const chunkDir = path.join(dataDir, `c${String(index).padStart(4, '0')}`);
      await mkdir(chunkDir, { recursive: true });
      // A chunk whose lines all fall in one partition (the usual case: an export within a day) is
      // written straight into it; DuckDB's PARTITION_BY costs a quarter of the conversion.
      const valid = (ms: number) => Number.isFinite(ms) && Math.abs(ms) < 8.64e15; // a Date can hold it
      const only = valid(span.minMs) && valid(span.maxMs) && partitionDir(span.minMs, req.partitionBy) === partitionDir(span.maxMs, req.partitionBy);
      const partitionBy = only ? 'none' : req.partitionBy;
      const target = partitionBy === 'none' ? path.join(chunkDir, partitionDir(span.minMs, req.partitionBy), 'part-0.parquet') : chunkDir;
      await mkdir(path.dirname(target), { recursive: true });
      const { setup, copy, cleanup } = chunkStatements(file, target, partitionBy, labels, `chunk_labels_${index}`);
      try {
        for (const sql of setup) await conn.run(sql);
        const written = await conn.count(copy);
        samples += written; // after the await: two conversions run at once
        for (const sql of cleanup) await conn.run(sql);
      } catch (err) {
        throw duckError(err, req.workDir);
      }
      await rm(file, { force: true });
    } finally {
      idle.push(conn);
      waiting.shift()?.();
    }
  };
  // Conversions not finished yet, oldest first.
  const pending: Promise<void>[] = [];
  const writer = new ChunkWriter(jsonDir, req.chunkBytes ?? 4 << 20, async (file, index, labels, span) => {
    const done = convert(file, index, labels, span);
    done.catch(() => {});
    pending.push(done);
    // One chunk waiting beyond those converting keeps DuckDB busy; more would only use disk.
    if (pending.length > parallel + 1) await pending.shift();
  });

  try {
    for await (const raw of client.exportRaw(req.match, (req.afterMs / 1000 + 0.001).toFixed(3), (req.untilMs / 1000).toFixed(3))) {
      await writer.push(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
      req.onProgress?.({ bytes: writer.jsonBytes, lines: writer.lines });
    }
    await writer.finish();
    await Promise.all(pending);
  } catch (err) {
    writer.abort();
    await Promise.allSettled(pending);
    throw err;
  } finally {
    await duckReady.then(
      ({ instance, conns }) => {
        for (const conn of conns) conn.close();
        instance.close();
      },
      () => {},
    );
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
  for (const c of (await readdir(dataDir)).sort()) await walk(path.join(dataDir, c), '', c.slice(1));
  return { series: writer.series.size, samples, jsonBytes: writer.jsonBytes, files };
}

/** DuckDB's failures in words: a full disk, or export lines it could not read. */
function duckError(err: unknown, workDir: string): Error {
  const message = String((err as Error)?.message ?? err).split('\n')[0];
  if (/No space left on device|ENOSPC/i.test(message)) {
    return new WorkFailedError(`no space left on the device of ${path.dirname(path.dirname(workDir))} while writing Parquet`, 'free some space (or choose another --out) and run the export again; nothing was committed');
  }
  if (/JSON|read_json|Malformed|Invalid Input/i.test(message)) {
    return new WorkFailedError(`the export from VictoriaMetrics could not be read as JSON lines: ${message}`, 'VictoriaMetrics may have reported an error in the middle of the export: look at its log, then run the export again');
  }
  return new WorkFailedError(`DuckDB could not write Parquet: ${message}`);
}
