/**
 * Reads lines from a byte stream in bounded memory, without decoding them: each read chunk is
 * handed on with the byte offsets of the lines in it, so a caller can check the raw bytes and
 * forward slices of them. A line longer than maxLineBytes is never held: it is reported with
 * its length and the reader moves on. Gzip input is recognised by its magic bytes.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** Lines of one chunk: line k is buf[bounds[2k], bounds[2k+1]), numbered firstLineNo + k; `newline` says whether it ended with \n. */
export interface LineChunk {
  kind: 'lines';
  buf: Buffer;
  bounds: number[];
  firstLineNo: number;
  /** Whether the last line in bounds ended with a line break (the others always did). */
  lastHasNewline: boolean;
}
export interface TooLongLine {
  kind: 'tooLong';
  lineNo: number;
  bytes: number;
}

export async function* readLineChunks(source: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<LineChunk | TooLongLine> {
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let skipping = 0; // > 0 while inside an over-long line: its length so far
  let lineNo = 0;
  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let pos = 0;
    // First finish a line carried over from the previous chunk.
    if (skipping > 0 || carryBytes > 0) {
      const nl = chunk.indexOf(10);
      const end = nl < 0 ? chunk.length : nl;
      if (skipping > 0 || carryBytes + end > maxLineBytes) {
        skipping = (skipping || carryBytes) + end;
        carry = [];
        carryBytes = 0;
        if (nl < 0) continue;
        yield { kind: 'tooLong', lineNo: ++lineNo, bytes: skipping };
        skipping = 0;
      } else if (nl < 0) {
        // Copied: a source may reuse its buffer for the next chunk (readFileChunks does).
        carry.push(Buffer.from(chunk));
        carryBytes += chunk.length;
        continue;
      } else {
        const line = Buffer.concat([...carry, chunk.subarray(0, nl)]);
        carry = [];
        carryBytes = 0;
        yield { kind: 'lines', buf: line, bounds: [0, line.length], firstLineNo: ++lineNo, lastHasNewline: true };
      }
      pos = nl + 1;
    }
    let bounds: number[] = [];
    let first = lineNo + 1;
    for (;;) {
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) break;
      if (nl - pos > maxLineBytes) {
        if (bounds.length) {
          yield { kind: 'lines', buf: chunk, bounds, firstLineNo: first, lastHasNewline: true };
          lineNo += bounds.length / 2;
          bounds = [];
        }
        yield { kind: 'tooLong', lineNo: ++lineNo, bytes: nl - pos };
        first = lineNo + 1;
      } else {
        bounds.push(pos, nl);
      }
      pos = nl + 1;
    }
    if (bounds.length) {
      yield { kind: 'lines', buf: chunk, bounds, firstLineNo: first, lastHasNewline: true };
      lineNo += bounds.length / 2;
    }
    if (pos < chunk.length) {
      const rest = chunk.length - pos;
      if (rest > maxLineBytes) skipping = rest;
      else {
        carry = [Buffer.from(chunk.subarray(pos))];
        carryBytes = rest;
      }
    }
  }
  if (skipping > 0) yield { kind: 'tooLong', lineNo: ++lineNo, bytes: skipping };
  else if (carryBytes > 0) {
    const line = Buffer.concat(carry);
    yield { kind: 'lines', buf: line, bounds: [0, line.length], firstLineNo: ++lineNo, lastHasNewline: false };
  }
}

/**
 * Whole lines, a region at a time: buf[start, end) holds complete lines separated by \n (the
 * last one ends at `end`, where its \n was or the input ended). For callers that split lines
 * themselves (a native scanner): one search per chunk instead of one per line. A line can be
 * longer than maxLineBytes inside a region (the caller checks lengths); one that would have to
 * be carried from chunk to chunk beyond maxLineBytes is never held and comes as tooLong, with
 * the line number counting from the lines the caller has counted before it.
 */
export type LineRegion = { kind: 'region'; buf: Buffer; start: number; end: number } | { kind: 'tooLong'; bytes: number };

export async function* readLineRegions(source: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<LineRegion> {
  let carry: Buffer | null = null;
  let skipping = 0;
  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    if (chunk.length === 0) continue;
    let from = 0;
    if (skipping > 0) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        skipping += chunk.length;
        continue;
      }
      yield { kind: 'tooLong', bytes: skipping + nl };
      skipping = 0;
      from = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last < from) {
      // No line ends in this chunk: it all continues the carried line.
      const rest = chunk.subarray(from);
      if (rest.length === 0) continue;
      const size = (carry?.length ?? 0) + rest.length;
      if (size > maxLineBytes) {
        skipping = size;
        carry = null;
      } else carry = carry ? Buffer.concat([carry, rest]) : Buffer.from(rest);
      continue;
    }
    if (carry) {
      // Finish the carried line on its own, then the lines that follow.
      const nl = chunk.indexOf(10, from);
      const line = Buffer.concat([carry, chunk.subarray(from, nl)]);
      carry = null;
      yield { kind: 'region', buf: line, start: 0, end: line.length };
      from = nl + 1;
    }
    if (from < last || (from === last && last >= 0)) yield { kind: 'region', buf: chunk, start: from, end: last };
    const rest = chunk.length - (last + 1);
    if (rest > maxLineBytes) skipping = rest;
    else if (rest > 0) carry = Buffer.from(chunk.subarray(last + 1));
  }
  if (skipping > 0) yield { kind: 'tooLong', bytes: skipping };
  else if (carry) yield { kind: 'region', buf: carry, start: 0, end: carry.length };
}

export type LineItem = { lineNo: number; text: string } | { lineNo: number; tooLong: number };

/** The same lines decoded as UTF-8 text, in batches (one per read chunk). */
export async function* readLineBatches(source: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<LineItem[]> {
  for await (const c of readLineChunks(source, maxLineBytes)) {
    if (c.kind === 'tooLong') {
      yield [{ lineNo: c.lineNo, tooLong: c.bytes }];
      continue;
    }
    const out: LineItem[] = [];
    for (let k = 0; k < c.bounds.length; k += 2) out.push({ lineNo: c.firstLineNo + k / 2, text: c.buf.toString('utf8', c.bounds[k], c.bounds[k + 1]) });
    yield out;
  }
}

/**
 * A file's bytes [start, end) read into one reused buffer: each chunk is valid only until the next
 * one is asked for, so the reader must be done with it (readLineChunks and readLineRegions copy
 * what they keep). A quarter of the cost of a read stream, which allocates memory for every chunk.
 */
export async function* readFileChunks(file: string, start = 0, end = Infinity, size = 4 << 20): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r');
  // Two buffers: the next read runs while the reader works on the chunk it was given.
  const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let pos = start;
  const readInto = (buf: Buffer) => {
    const want = Math.min(size, end - pos);
    const at = pos;
    pos += want;
    return want > 0 ? handle.read(buf, 0, want, at).then((r) => ({ got: r.bytesRead, want })) : Promise.resolve({ got: 0, want: 0 });
  };
  try {
    let which = 0;
    let pending = readInto(bufs[0]);
    for (;;) {
      const { got, want } = await pending;
      if (got === 0) return;
      const current = bufs[which];
      if (got < want) {
        // The end of the file as it is now: the last chunk (a read ahead would leave a gap).
        yield current.subarray(0, got);
        return;
      }
      which ^= 1;
      pending = readInto(bufs[which]);
      yield current.subarray(0, got);
    }
  } finally {
    await handle.close();
  }
}

/**
 * A log input for scanning: a plain file through readFileChunks (reused buffer), a gzip file or
 * stdin through openInput.
 */
export async function openForScanning(file: string, stdin: Readable, start = 0, end = Infinity): Promise<AsyncIterable<Buffer>> {
  if (file === '-') return openInput(file, stdin);
  if (start === 0) {
    const handle = await open(file, 'r');
    const magic = Buffer.alloc(2);
    try {
      await handle.read(magic, 0, 2, 0);
    } finally {
      await handle.close();
    }
    if (magic[0] === 0x1f && magic[1] === 0x8b) return openInput(file, stdin);
  }
  return readFileChunks(file, start, end);
}

/** Opens a file (or "-" for the given stdin) as a byte stream, gunzipping when it starts with gzip's magic bytes. */
export async function openInput(file: string, stdin: Readable): Promise<AsyncIterable<Buffer>> {
  const raw: Readable = file === '-' ? stdin : createReadStream(file, { highWaterMark: 1 << 20 });
  const iterator = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const first = await iterator.next();
  if (first.done) return (async function* () {})();
  const head = typeof first.value === 'string' ? Buffer.from(first.value) : first.value;
  const rest = (async function* () {
    yield head;
    for (;;) {
      const n = await iterator.next();
      if (n.done) return;
      yield typeof n.value === 'string' ? Buffer.from(n.value) : n.value;
    }
  })();
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    return Readable.from(rest).pipe(createGunzip({ chunkSize: 1 << 20 }));
  }
  return rest;
}
