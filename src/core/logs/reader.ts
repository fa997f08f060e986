/**
 * Feeds lines to the parser and the aggregator: the one loop both the batch report and the
 * server mode run. Lines are never decoded as a whole; each chunk of a file is read once.
 */
import { readLineRegions } from '../io/lines.js';
import { Aggregator, SkipLog, type GroupStats } from './aggregate.js';
import { LineParser, Outcome, fileContext, type FieldMapping, type FileContext, type LineFacts } from './formats.js';
import { KIND_COMPONENT, NativeKind, STRIDE, Slot, nativeLogScanner } from './native.js';
import type { UserFormat } from './user-formats.js';

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
  /** The user's formats (--format-file), tried before the built-ins. */
  formats?: readonly UserFormat[];
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

  private readonly native = nativeLogScanner();
  private readonly nativeOut = new Float64Array(NATIVE_LINES * STRIDE);
  /** Groups by the native scanner's hash of their label bytes, per kind of line. */
  private readonly byHash = [0, 1, 2, 3, 4, 5].map(() => new Map<number, GroupStats>());
  /** Python lines' components by the hash of their logger name. */
  private readonly pythonComponents = new Map<number, string>();
  /** The facts of a line the native scanner read, reused from line to line. */
  private readonly nativeFacts: LineFacts = {
    component: '', labels: [], groupKey: '', tsMs: NaN, error: false, records: 0, durationMs: NaN, lag: NaN,
    messagesPerSecond: NaN, confidence: NaN, outcome: Outcome.none, failedRecords: 0,
  };
  /** A direct-mapped cache in front of byHash: most lines find their group here, without hashing a double. */
  private readonly cacheKey = new Float64Array(CACHE_SLOTS).fill(-1);
  private readonly cacheKind = new Int8Array(CACHE_SLOTS);
  private readonly cacheGroup: Array<GroupStats | undefined> = new Array<GroupStats | undefined>(CACHE_SLOTS).fill(undefined);

  constructor(readonly options: ReaderOptions) {
    this.parser = new LineParser(options.mappings, options.formats ?? []);
    this.aggregator = new Aggregator({ maxGroups: options.maxGroups, lowConfidence: options.lowConfidence, totals: options.totals });
    // The user's formats come before the built-ins, which the native scanner would claim first.
    if (options.native === false || (options.formats?.length ?? 0) > 0) this.native = null;
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
    const keep = KIND_COMPONENT.map((c) => c === null || components === null || components.has(c));
    const facts = this.nativeFacts;
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
        const kind = out[r + Slot.kind];
        const lineBytes = out[r + Slot.end] - out[r + Slot.start];
        if (lineBytes > maxLineBytes) {
          this.linesRead++;
          this.skips.add('too_long', file, lineNo + k, `${lineBytes} bytes, over --max-line-bytes ${maxLineBytes}`);
          continue;
        }
        if (kind === NativeKind.js) {
          one[0] = out[r + Slot.start];
          one[1] = out[r + Slot.end];
          this.processParsed(buf, one, lineNo + k, file, ctx);
          continue;
        }
        this.linesRead++;
        if (kind === NativeKind.blank) {
          this.blankLines++;
          continue;
        }
        const hashA = out[r + Slot.hashA];
        const key = hashA * 2097152 + Math.floor(out[r + Slot.hashB] / 2048);
        if (!keep[kind] || (kind === NativeKind.python && components !== null && !components.has(this.loggerComponent(key, buf, out[r + Slot.start], out[r + Slot.end], ctx, file, lineNo + k)))) {
          this.otherComponentLines++;
          continue;
        }
        const tsMs = out[r + Slot.time];
        if (tsMs < sinceMs || tsMs >= untilMs) {
          this.skips.add('outside_window', file, lineNo + k, `time ${new Date(tsMs).toISOString()}`);
          continue;
        }
        const slot = (hashA ^ kind) & (CACHE_SLOTS - 1);
        let group: GroupStats;
        if (this.cacheKey[slot] === key && this.cacheKind[slot] === kind) group = this.cacheGroup[slot]!;
        else {
          let found = this.byHash[kind].get(key);
          if (found === undefined) {
            // First line of this group: the parser names it; later lines find it by hash.
            this.parseClaimed(buf, out[r + Slot.start], out[r + Slot.end], ctx, file, lineNo + k);
            found = agg.groupFor(this.parser.facts);
            if (this.byHash[kind].size < 4 * agg.options.maxGroups + 1000) this.byHash[kind].set(key, found);
          }
          group = found;
          this.cacheKey[slot] = key;
          this.cacheKind[slot] = kind;
          this.cacheGroup[slot] = group;
        }
        facts.tsMs = tsMs;
        facts.error = out[r + Slot.error] === 1;
        facts.records = out[r + Slot.records];
        facts.failedRecords = out[r + Slot.failed];
        facts.durationMs = out[r + Slot.latency];
        facts.lag = out[r + Slot.lag];
        facts.messagesPerSecond = out[r + Slot.mps];
        facts.confidence = out[r + Slot.confidence];
        facts.outcome = out[r + Slot.outcome] as Outcome;
        agg.add(facts, group);
      }
      lineNo += n;
      pos = out[(n - 1) * STRIDE + Slot.end] + 1;
    }
    return lineNo - firstLineNo;
  }

  /** A line the native scanner read, through the parser (to name its group): they must agree. */
  private parseClaimed(buf: Buffer, s: number, e: number, ctx: FileContext, file: string, lineNo: number): void {
    if (this.parser.parse(buf, s, e, ctx) !== null) throw new Error(`native and TypeScript parsers disagree on ${file}:${lineNo}: ${this.parser.detail}`);
  }

  /** The component of a Python line's logger, by the hash of its name. */
  private loggerComponent(key: number, buf: Buffer, s: number, e: number, ctx: FileContext, file: string, lineNo: number): string {
    let c = this.pythonComponents.get(key);
    if (c === undefined) {
      this.parseClaimed(buf, s, e, ctx, file, lineNo);
      c = this.parser.facts.component;
      if (this.pythonComponents.size < 100_000) this.pythonComponents.set(key, c);
    }
    return c;
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
