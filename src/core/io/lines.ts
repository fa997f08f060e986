/**
 * Reads lines from a byte stream in bounded memory, without decoding them: each read chunk is
 * handed on with the byte offsets of the lines in it, so a caller can check the raw bytes and
 * forward slices of them. A line longer than maxLineBytes is never held: it is reported with
 * its length and the reader moves on. Gzip input is recognised by its magic bytes.
 */
import { constants as fsConstants, createReadStream, openSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import net from 'node:net';
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
 * A log input for scanning: a plain file through readFileChunks (reused buffer); a gzip file,
 * stdin, a FIFO, a pipe (`<(zcat …)`, a /dev/fd path) or a device through openInput, read as a
 * stream. When `stop` is aborted the input ends where it is, even while blocked waiting for a
 * writer, so what was read before the signal can be reported.
 */
export async function openForScanning(file: string, stdin: Readable, start = 0, end = Infinity, stop?: AbortSignal): Promise<AsyncIterable<Buffer>> {
  if (file === '-') return openInput(file, stdin, stop);
  if (start === 0) {
    // Opened without blocking (a FIFO with no writer would hold the open); a pipe or a terminal
    // cannot be read by position (ESPIPE) and is read as a stream, without a stat of every input.
    const handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    const magic = Buffer.alloc(2);
    try {
      await handle.read(magic, 0, 2, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESPIPE') return openInput(file, stdin, stop);
      throw err;
    } finally {
      await handle.close();
    }
    if (magic[0] === 0x1f && magic[1] === 0x8b) return openInput(file, stdin, stop);
  }
  return endOnAbort(readFileChunks(file, start, end), stop);
}

/** What an input path is: a regular file (read by position), a pipe (FIFO, socket) or a device (read in order). */
export async function inputKind(file: string): Promise<'file' | 'pipe' | 'device'> {
  const st = await stat(file);
  if (st.isFIFO() || st.isSocket()) return 'pipe';
  if (st.isCharacterDevice()) return 'device';
  return 'file';
}

/**
 * Opens a file (or "-" for the given stdin) as a byte stream, gunzipping when it starts with
 * gzip's magic bytes. FIFOs and pipes are opened without blocking (a FIFO with no writer yet
 * waits in the event loop, not in a thread a signal cannot reach); a stop signal ends the stream.
 */
export async function openInput(file: string, stdin: Readable, stop?: AbortSignal): Promise<AsyncIterable<Buffer>> {
  let raw: AsyncIterable<Buffer | string>;
  if (file === '-') raw = stdin;
  else {
    const kind = await inputKind(file);
    raw = kind === 'pipe' ? openPipe(file) : kind === 'device' ? readDevice(file, stop) : createReadStream(file, { highWaterMark: 1 << 20 });
  }
  return gunzipIfNeeded(endOnAbort(raw, stop), stop);
}

/** A FIFO or pipe as a socket on its descriptor: libuv then waits for data with epoll. */
function openPipe(file: string): Readable {
  const fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  return new net.Socket({ fd, readable: true, writable: false });
}

/** A character device (/dev/zero, a terminal) read in order, a chunk at a time, until stopped. */
async function* readDevice(file: string, stop?: AbortSignal): AsyncGenerator<Buffer> {
  const handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    while (!stop?.aborted) {
      const buf = Buffer.allocUnsafe(1 << 20);
      let got: number;
      try {
        got = (await handle.read(buf, 0, buf.length, null)).bytesRead;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        await new Promise((resolve) => setTimeout(resolve, 25));
        continue;
      }
      if (got === 0) return;
      yield buf.subarray(0, got);
    }
  } finally {
    await handle.close();
  }
}

const ABORTED = Symbol('aborted');

/**
 * The chunks of a source until it ends or `stop` is aborted, whichever comes first: a read that
 * is waiting (a FIFO without writer, an idle stdin) does not hold the signal back.
 */
export async function* endOnAbort<T extends Buffer | string>(source: AsyncIterable<T>, stop?: AbortSignal): AsyncGenerator<Buffer> {
  if (!stop) {
    for await (const chunk of source) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    return;
  }
  const it = source[Symbol.asyncIterator]();
  // One listener per read, removed when the read ends: nothing piles up on a long input.
  const next = () =>
    new Promise<IteratorResult<T> | typeof ABORTED>((resolve, reject) => {
      const onAbort = () => resolve(ABORTED);
      stop.addEventListener('abort', onAbort, { once: true });
      it.next().then(
        (r) => {
          stop.removeEventListener('abort', onAbort);
          resolve(r);
        },
        (err: unknown) => {
          stop.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  let finished = false;
  try {
    for (;;) {
      if (stop.aborted) return;
      const r = await next();
      if (r === ABORTED || r.done) {
        finished = r !== ABORTED;
        return;
      }
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  } finally {
    // A stream stops reading (a socket closes its descriptor); a read in flight is not awaited.
    if (!finished) {
      if (source instanceof Readable) source.destroy();
      else void it.return?.()?.catch(() => {});
    }
  }
}

/** Gunzips a stream that starts with gzip's magic bytes; a gzip stream cut by a signal ends without an error. */
async function* gunzipIfNeeded(source: AsyncGenerator<Buffer>, stop?: AbortSignal): AsyncGenerator<Buffer> {
  const first = await source.next();
  if (first.done) return;
  const head = first.value;
  if (!(head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)) {
    yield head;
    yield* source;
    return;
  }
  const all = (async function* () {
    yield head;
    yield* source;
  })();
  try {
    for await (const chunk of Readable.from(all).pipe(createGunzip({ chunkSize: 1 << 20 }))) yield chunk as Buffer;
  } catch (err) {
    if (!stop?.aborted) throw err;
  }
}
