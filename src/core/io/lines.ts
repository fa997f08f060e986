/**
 * Reads text lines from a byte stream in bounded memory: a line longer than maxLineBytes is
 * not held; it is reported as too long (with its length) and the reader moves on to the next
 * line. Gzip input is recognised by its magic bytes, whatever the file is called.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

export type LineItem = { lineNo: number; text: string } | { lineNo: number; tooLong: number };

/** Yields batches of lines (arrays, to keep per-line overhead low in hot loops). */
export async function* readLineBatches(source: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<LineItem[]> {
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  let carryBytes = 0;
  let skipping = 0; // >0: inside an over-long line, counting its bytes
  let lineNo = 0;
  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    const batch: LineItem[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(10, pos);
      const end = nl < 0 ? chunk.length : nl;
      const len = end - pos;
      if (skipping > 0) {
        skipping += len;
        if (nl >= 0) {
          batch.push({ lineNo: ++lineNo, tooLong: skipping });
          skipping = 0;
        }
      } else if (carryBytes + len > maxLineBytes) {
        skipping = carryBytes + len;
        carry = '';
        carryBytes = 0;
        decoder.decode(); // reset
        if (nl >= 0) {
          batch.push({ lineNo: ++lineNo, tooLong: skipping });
          skipping = 0;
        }
      } else if (nl < 0) {
        carry += decoder.decode(chunk.subarray(pos, end), { stream: true });
        carryBytes += len;
      } else {
        const text = carry + decoder.decode(chunk.subarray(pos, end));
        carry = '';
        carryBytes = 0;
        batch.push({ lineNo: ++lineNo, text });
      }
      pos = nl < 0 ? chunk.length : nl + 1;
    }
    if (batch.length) yield batch;
  }
  if (skipping > 0) yield [{ lineNo: ++lineNo, tooLong: skipping }];
  else if (carryBytes > 0) yield [{ lineNo: ++lineNo, text: carry + decoder.decode() }];
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
