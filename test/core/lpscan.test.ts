import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeScanner } from '../../src/core/influx/push.js';
import { lineEnd, scanLine, timeBounds, unitsPerMs } from '../../src/core/influx/line-protocol.js';

const NOW = Date.UTC(2026, 10, 22, 12);
const bounds = timeBounds('ns', NOW, 31 * 86_400_000);

function native() {
  assert.ok(nativeScanner, 'the native scanner is not built: run `npm ci` (npm builds native/lpscan.c with node-gyp; g++ and Node\'s headers are needed)');
  return nativeScanner;
}

/** Both scanners over one buffer: the same lines, the same ends, the same verdicts (invalid as -1). */
function agree(buf: Buffer) {
  const fromNative = Array.from(native().scanChunk(buf, 0, buf.length, bounds.minMs, bounds.maxMs, unitsPerMs('ns')));
  const fromTs: number[] = [];
  for (let pos = 0; pos < buf.length; ) {
    const v = scanLine(buf, pos, buf.length, bounds);
    fromTs.push(pos, lineEnd, typeof v === 'string' ? -1 : v);
    pos = lineEnd + 1;
  }
  assert.deepEqual(fromNative, fromTs, JSON.stringify(buf.toString('latin1')));
}

const NS = String(BigInt(NOW) * 1_000_000n);
const CASES = [
  'cpu usage=1.5', `cpu,host=a,region=eu usage=1,idle=2i ${NS}`, 'm v=-1.5e3,w=+.5,x=7u,y=true,z=F,i=-3i',
  'my\\ measure,tag\\,key=a\\ b\\,c\\=d\\\\e field\\=x=1', `temp,city=Zürich,emoji=🚀 °C=21.5  ${NS}\r`, '', '   ', '# a comment',
  'cpu', 'cpu ', ',host=a v=1', 'cpu,host v=1', 'cpu,host= v=1', 'cpu,=a v=1', 'cpu v', 'cpu =1', 'cpu v="text"', 'cpu v="unterminated',
  'cpu v=abc', 'cpu v=1.2.3', 'cpu v=12x', 'cpu v=1.5i', 'cpu v=-1u', 'cpu v=NaN', 'cpu v=', 'cpu v=1 12abc', 'cpu v=1 1.5', `cpu v=1 ${NOW}`,
  `cpu v=1 ${BigInt(NS) + 3n * 86_400_000_000_000n}`, 'cpu\u0000 v=1', 'cpu v=1,', 'cpu v=1 ', 'cpu,a=b\\', 'a\\\r b=1', 'x v=1e', 'x v=1e+', 'x v=.e1', 'x v=+i',
  'x v=tRUE', 'x v=True', 'x,a=b=c v=1', 'x v=1\r', 'x v=1\rjunk', 'x  v=1', ' x v=1', 'x v=1  -5',
];

test('native and TypeScript scanners agree on every case, one per chunk and all in one chunk', () => {
  for (const c of CASES) agree(Buffer.from(c));
  agree(Buffer.from(CASES.join('\n')));
  agree(Buffer.concat([Buffer.from('cpu,h='), Buffer.from([0xff, 0xfe]), Buffer.from(' v=1\nok v=2\n'), Buffer.from([0xe2, 0x82]), Buffer.from('\nx,t=\u20ac v=3')]));
  agree(Buffer.from([0xed, 0xa0, 0x80, 0x20])); // a UTF-16 surrogate in UTF-8: invalid
  agree(Buffer.concat([Buffer.from('m,t='), Buffer.from([0xf0, 0x9f, 0x9a, 0x80]), Buffer.from(' v=1'), Buffer.from([0xc0, 0xaf])]));
});

test('native and TypeScript scanners agree on 20,000 random lines made of the characters that matter', () => {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const alphabet = ['a', 'b', 'x', '_', '1', '2', '9', '.', '-', '+', 'e', 'E', 'i', 'u', 't', 'f', 'T', 'F', 'true', 'false', ' ', ' ', ',', ',', '=', '=', '\\', '"', '#', '\r', '\u00e9', '\u20ac', '\u0001', '\u007f', NS];
  const lines: string[] = [];
  for (let n = 0; n < 20_000; n++) {
    const templ = rnd() < 0.5;
    let l = templ ? `m${rnd() < 0.5 ? ',t=v' : ''} f=${Math.floor(rnd() * 100)}` : '';
    const k = Math.floor(rnd() * 12);
    for (let j = 0; j < k; j++) {
      const piece = alphabet[Math.floor(rnd() * alphabet.length)];
      const at = Math.floor(rnd() * (l.length + 1));
      l = l.slice(0, at) + piece + l.slice(at);
    }
    lines.push(l);
  }
  for (let i = 0; i < lines.length; i += 500) agree(Buffer.from(lines.slice(i, i + 500).join('\n')));
  // and invalid UTF-8 bytes at random places
  for (let n = 0; n < 2000; n++) {
    const b = Buffer.from(`m,t=a${'x'.repeat(n % 7)} v=1`);
    b[Math.floor(rnd() * b.length)] = 0x80 + Math.floor(rnd() * 0x80);
    agree(b);
  }
});
