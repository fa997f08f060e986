/**
 * Feeds lines to the parser and the aggregator: the one loop both the batch report and the
 * server mode run. Lines are never decoded as a whole; each chunk of a file is read once.
 */
import { readLineRegions } from '../io/lines.js';
import { Aggregator, SkipLog, type GroupStats } from './aggregate.js';
import { LineParser, Outcome, fileContext, type FieldMapping, type FileContext } from './formats.js';
import { NativeKind, STRIDE, nativeLogScanner } from './native.js';

export interface TimeWindow {
  sinceMs: number;
  untilMs: number;
}

export interface InputResult {
  file: string;
  lines: number;
  bytes: number;
  /** Why reading stopped early (the file vanished, permission denied…); lines read before it count. */
  error?: string;
  /** Reading was stopped by a signal before the end; lines read before it count. */
  interrupted?: true;
}

export interface ReaderOptions {
  mappings: readonly FieldMapping[];
  window: TimeWindow;
  /** Components to keep; null for all. */
  components: ReadonlySet<string> | null;
  maxGroups: number;
  lowConfidence: number;
  maxLineBytes: number;
  /** Use the native scanner when it is built (the default); false reads every line in TypeScript. */
  native?: boolean;
  /** Keep every group's totals since the start, for exported metrics (server mode). */
  totals?: boolean;
}

const NATIVE_LINES = 4096;
const CACHE_SLOTS = 4096;

export class LogReader {
  readonly parser: LineParser;
  readonly aggregator: Aggregator;
  skips = new SkipLog();
  linesRead = 0;
  blankLines = 0;
  /** Usable lines of components that were not asked for. */
  otherComponentLines = 0;
  bytesRead = 0;
  /** Set to stop reading at the next chunk (SIGINT): what was read so far stays counted. */
  stopped = false;

  private readonly native = nativeLogScanner;
  private readonly nativeOut = new Float64Array(NATIVE_LINES * STRIDE);
  /** Groups by the native scanner's hash of their label bytes, per kind of line. */
  private readonly byHash = [0, 1, 2, 3, 4].map(() => new Map<number, GroupStats>());
  /** A direct-mapped cache in front of byHash: most lines find their group here, without hashing a double. */
  private readonly cacheKey = new Float64Array(CACHE_SLOTS).fill(-1);
  private readonly cacheKind = new Int8Array(CACHE_SLOTS);
  private readonly cacheGroup: Array<GroupStats | undefined> = new Array<GroupStats | undefined>(CACHE_SLOTS).fill(undefined);

  constructor(readonly options: ReaderOptions) {
    this.parser = new LineParser(options.mappings);
    this.aggregator = new Aggregator({ maxGroups: options.maxGroups, lowConfidence: options.lowConfidence, totals: options.totals });
    if (options.native === false) this.native = null;
  }

  /** The lines of buf[start, end), separated by \n, numbered from firstLineNo; returns how many there were. */
  processRegion(buf: Buffer, start: number, end: number, firstLineNo: number, file: string, ctx: FileContext): number {
    if (this.native !== null) return this.processNative(buf, start, end, firstLineNo, file, ctx);
    const bounds: number[] = [];
    let pos = start;
    for (;;) {
      const nl = buf.indexOf(10, pos);
      if (nl < 0 || nl >= end) {
        bounds.push(pos, end);
        break;
      }
      bounds.push(pos, nl);
      pos = nl + 1;
    }
    this.processParsed(buf, bounds, firstLineNo, file, ctx);
    return bounds.length / 2;
  }

  /**
   * The lines of buf[from, to), separated by \n, through the native scanner: Kafka, ML and Airflow
   * lines it has read go straight to the aggregator; every other line goes through the parser.
   */
  private processNative(buf: Buffer, from: number, to: number, firstLineNo: number, file: string, ctx: FileContext): number {
    const out = this.nativeOut;
    const one = [0, 0];
    const { sinceMs, untilMs } = this.options.window;
    const components = this.options.components;
    const keepKafka = components === null || components.has('kafka');
    const keepMl = components === null || components.has('ml');
    const keepAirflow = components === null || components.has('airflow');
    const agg = this.aggregator;
    const maxLineBytes = this.options.maxLineBytes;
    let lineNo = firstLineNo;
    let pos = from;
    while (pos <= to) {
      const n = this.native!.scanLogChunk(buf, pos, to, out);
      if (n === 0) {
        // An empty last line (from === to): what the parser path does with it.
        one[0] = pos;
        one[1] = to;
        this.processParsed(buf, one, lineNo, file, ctx);
        lineNo++;
        break;
      }
      for (let k = 0; k < n; k++) {
        const r = k * STRIDE;
        const kind = out[r + 2];
        if (out[r + 1] - out[r] > maxLineBytes) {
          this.linesRead++;
          this.skips.add('too_long', file, lineNo + k, `${out[r + 1] - out[r]} bytes, over --max-line-bytes ${maxLineBytes}`);
          continue;
        }
        if (kind === NativeKind.js) {
          one[0] = out[r];
          one[1] = out[r + 1];
          this.processParsed(buf, one, lineNo + k, file, ctx);
          continue;
        }
        this.linesRead++;
        if (kind === NativeKind.blank) {
          this.blankLines++;
          continue;
        }
        if (kind === NativeKind.kafka ? !keepKafka : kind === NativeKind.ml ? !keepMl : !keepAirflow) {
          this.otherComponentLines++;
          continue;
        }
        const tsMs = out[r + 3];
        if (tsMs < sinceMs || tsMs >= untilMs) {
          this.skips.add('outside_window', file, lineNo + k, `time ${new Date(tsMs).toISOString()}`);
          continue;
        }
        const key = out[r + 9] * 2097152 + Math.floor(out[r + 10] / 2048);
        const slot = (out[r + 9] ^ kind) & (CACHE_SLOTS - 1);
        let group: GroupStats;
        if (this.cacheKey[slot] === key && this.cacheKind[slot] === kind) group = this.cacheGroup[slot]!;
        else {
          let found = this.byHash[kind].get(key);
          if (found === undefined) {
            // First line of this group: the parser names it; later lines find it by hash.
            if (this.parser.parse(buf, out[r], out[r + 1], ctx) !== null) throw new Error(`native and TypeScript parsers disagree on ${file}:${lineNo + k}`);
            found = agg.groupFor(this.parser.facts);
            if (this.byHash[kind].size < 4 * agg.options.maxGroups + 1000) this.byHash[kind].set(key, found);
          }
          group = found;
          this.cacheKey[slot] = key;
          this.cacheKind[slot] = kind;
          this.cacheGroup[slot] = group;
        }
        const extra = out[r + 8];
        if (kind === NativeKind.kafka) agg.addValues(group, tsMs, out[r + 4] === 1, extra === extra ? extra : 1, out[r + 6], out[r + 5], out[r + 7], NaN, Outcome.none, 0);
        else if (kind === NativeKind.ml) agg.addValues(group, tsMs, out[r + 4] === 1, 1, out[r + 6], NaN, NaN, extra, Outcome.none, 0);
        else agg.addValues(group, tsMs, out[r + 4] === 1, extra, out[r + 6], NaN, NaN, NaN, out[r + 5] as Outcome, out[r + 7]);
      }
      lineNo += n;
      pos = out[(n - 1) * STRIDE + 1] + 1;
    }
    return lineNo - firstLineNo;
  }

  private processParsed(buf: Buffer, bounds: readonly number[], firstLineNo: number, file: string, ctx: FileContext): void {
    const parser = this.parser;
    const facts = parser.facts;
    const { sinceMs, untilMs } = this.options.window;
    const components = this.options.components;
    const agg = this.aggregator;
    for (let k = 0; k < bounds.length; k += 2) {
      const s = bounds[k];
      const e = bounds[k + 1];
      this.linesRead++;
      if (e - s > this.options.maxLineBytes) {
        this.skips.add('too_long', file, firstLineNo + k / 2, `${e - s} bytes, over --max-line-bytes ${this.options.maxLineBytes}`);
        continue;
      }
      if (e - s === 0 || (e - s === 1 && buf[s] === 0x0d)) {
        this.blankLines++;
        continue;
      }
      const reason = parser.parse(buf, s, e, ctx);
      if (reason !== null) {
        if (reason === 'unknown_format' && isBlank(buf, s, e)) this.blankLines++;
        else this.skips.add(reason, file, firstLineNo + k / 2, parser.detail);
        continue;
      }
      if (components !== null && !components.has(facts.component)) {
        this.otherComponentLines++;
        continue;
      }
      if (facts.tsMs < sinceMs || facts.tsMs >= untilMs) {
        this.skips.add('outside_window', file, firstLineNo + k / 2, `time ${new Date(facts.tsMs).toISOString()}`);
        continue;
      }
      agg.add(facts);
    }
  }

  /** Reads a whole stream (a file or stdin); errors while reading end this input, not the report. */
  async readStream(source: AsyncIterable<Buffer>, file: string, onProgress?: (bytes: number) => void): Promise<InputResult> {
    const ctx = fileContext(file);
    const before = this.linesRead;
    let bytes = 0;
    // Bytes as read (after gunzip), counted the same whichever way the lines are split.
    const raw = source;
    const counted = (async function* () {
      for await (const chunk of raw) {
        bytes += chunk.length;
        yield chunk;
      }
    })();
    source = counted;
    try {
      // One loop for both scanners: processRegion hands each region to the native one when built.
      let lineNo = 1;
      for await (const r of readLineRegions(source, this.options.maxLineBytes)) {
        if (r.kind === 'tooLong') {
          this.linesRead++;
          this.skips.add('too_long', file, lineNo++, `${r.bytes} bytes, over --max-line-bytes ${this.options.maxLineBytes}`);
          continue;
        }
        lineNo += this.processRegion(r.buf, r.start, r.end, lineNo, file, ctx);
        onProgress?.(bytes);
        if (this.stopped) break;
      }
    } catch (err) {
      this.bytesRead += bytes;
      return { file, lines: this.linesRead - before, bytes, error: (err as Error).message };
    }
    this.bytesRead += bytes;
    return { file, lines: this.linesRead - before, bytes, ...(this.stopped ? { interrupted: true as const } : {}) };
  }
}

function isBlank(buf: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (buf[i] !== 0x20 && buf[i] !== 0x09 && buf[i] !== 0x0d) return false;
  return true;
}
