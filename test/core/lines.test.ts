import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { openInput, readLineBatches, type LineItem } from '../../src/core/io/lines.js';

async function collect(chunks: (string | Buffer)[], max = 1024): Promise<LineItem[]> {
  const out: LineItem[] = [];
  for await (const b of readLineBatches((async function* () { yield* chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)); })(), max)) out.push(...b);
  return out;
}

test('lines split across chunks, multi-byte characters split across chunks, and a last line without newline', async () => {
  const euro = Buffer.from('€'); // 3 bytes
  const items = await collect(['a=1\nb=', '2\nc=', euro.subarray(0, 1), euro.subarray(1), '\n\nlast']);
  assert.deepEqual(items, [
    { lineNo: 1, text: 'a=1' }, { lineNo: 2, text: 'b=2' }, { lineNo: 3, text: 'c=€' }, { lineNo: 4, text: '' }, { lineNo: 5, text: 'last' },
  ]);
});

test('a line over the limit is reported with its length and never held; the next line is read normally', async () => {
  const big = 'x'.repeat(5000);
  const items = await collect(['ok=1\n', big.slice(0, 3000), big.slice(3000), '\nnext=2\n', 'y'.repeat(2000)], 1024);
  assert.deepEqual(items, [{ lineNo: 1, text: 'ok=1' }, { lineNo: 2, tooLong: 5000 }, { lineNo: 3, text: 'next=2' }, { lineNo: 4, tooLong: 2000 }]);
});

test('gzip input is recognised by its magic bytes; empty input gives no lines', async () => {
  const gz = gzipSync(Buffer.from('a=1\nb=2\n'));
  const src = await openInput('-', Readable.from([gz]));
  const items: LineItem[] = [];
  for await (const b of readLineBatches(src, 1024)) items.push(...b);
  assert.deepEqual(items, [{ lineNo: 1, text: 'a=1' }, { lineNo: 2, text: 'b=2' }]);
  const empty = await openInput('-', Readable.from([]));
  const none: LineItem[] = [];
  for await (const b of readLineBatches(empty, 1024)) none.push(...b);
  assert.deepEqual(none, []);
});

test('an over-long line inside one chunk is reported between the lines around it', async () => {
  const items = await collect([`a=1\n${'z'.repeat(3000)}\nb=2\nc=3\n`], 1024);
  assert.deepEqual(items, [{ lineNo: 1, text: 'a=1' }, { lineNo: 2, tooLong: 3000 }, { lineNo: 3, text: 'b=2' }, { lineNo: 4, text: 'c=3' }]);
});

test('readFileChunks gives a byte range in order through reused buffers; lines read from it come out whole', async () => {
  const { readFileChunks, readLineRegions } = await import('../../src/core/io/lines.js');
  const { writeFileSync } = await import('node:fs');
  const { tempDir } = await import('../helpers/cli.js');
  const file = `${tempDir()}/f.log`;
  const text = Array.from({ length: 200 }, (_, i) => `line ${i} ${'x'.repeat(i % 13)}`).join('\n') + '\n';
  writeFileSync(file, text);
  const copies: Buffer[] = [];
  for await (const c of readFileChunks(file, 5, text.length - 3, 16)) copies.push(Buffer.from(c));
  assert.equal(Buffer.concat(copies).toString(), text.slice(5, text.length - 3));
  const lines: string[] = [];
  for await (const r of readLineRegions(readFileChunks(file, 0, Infinity, 16), 1024)) {
    if (r.kind === 'region') lines.push(...r.buf.toString('utf8', r.start, r.end).split('\n'));
  }
  assert.deepEqual(lines, text.slice(0, -1).split('\n'));
});
