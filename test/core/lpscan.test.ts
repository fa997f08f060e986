import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { nativeScanner } from '../../src/core/influx/push.js';
import { lineEnd, scanLine, timeBounds, unitsPerMs } from '../../src/core/influx/line-protocol.js';

const NOW = Date.UTC(2026, 10, 22, 12);
const bounds = timeBounds('ns', NOW, 31 * 86_400_000);

function native() {
  assert.ok(nativeScanner(), 'the native scanner is not built: run `npm ci` (npm builds native/lpscan.c with node-gyp; g++ and Node\'s headers are needed)');
  return nativeScanner()!;
}

/** Both scanners over one buffer: the same lines, the same ends, the same verdicts (invalid as -1). */
function agree(buf: Buffer, b = bounds) {
  const fromNative = Array.from(native().scanChunk(buf, 0, buf.length, b.minMs, b.maxMs, unitsPerMs(b.precision)));
  const fromTs: number[] = [];
  for (let pos = 0; pos < buf.length; ) {
    const v = scanLine(buf, pos, buf.length, b);
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
  // what VictoriaMetrics 1.79 reads differently from line protocol
  'cpu v=1 0', 'cpu v=1 000', 'cpu v=1 -0', 'cpu v=1 -34526000000000', 'cpu v=1 -5', ' baz=1', '  # c', 'cpu v=1 \r', 'cpu v=.5', 'cpu v=-.42', 'cpu v=1.',
  'cpu v=+1', 'cpu v=+1i', 'cpu v=9223372036854775807i', 'cpu v=9223372036854775808i', 'cpu v=-9223372036854775808i', 'cpu v=-9223372036854775809i',
  'cpu v=18446744073709551615u', 'cpu v=18446744073709551616u', 'cpu v=0000000000000000000000001i', 'cpu v=1e308', 'cpu v=1.8e308', 'cpu v=1e309', 'cpu v=0.0001e312',
  'cpu v=1797693134862315708145274237317043567981e269', 'cpu v=1797693134862315808145274237317043567981e269', 'cpu v=1234567890123456789.', 'cpu v=-123456789012345678.',
  'cpu v=NaN', 'cpu v=-inf', 'cpu v=Infinity', 'cpu v="42"', 'cpu v="a b,c"', 'cpu v="a"b', 'cpu v="a"b"', 'cpu a"b=1', 'cpu v=1"', 'cpu v=\\"1',
  'cpu,b=2,c=3,b=1 v=1', 'cpu,b=1,b\\=1 v=1', 'cpu,host= v=1', 'cpu,=a v=1', 'cpu,= v=1', 'cpu,a=b, v=1', ',a=b v=1', 'cpu,h=ost=x v=1', 'cpu,a=b\\ c=1',
  `cpu,${Array.from({ length: 30 }, (_, k) => `t${k}=v`).join(',')} v=1`, `cpu,${Array.from({ length: 31 }, (_, k) => `t${k}=v`).join(',')} v=1`,
  'cpu,__name__=x v=1', `cpu,${'k'.repeat(257)}=x v=1`, `cpu,${'k'.repeat(256)}=x v=1`, `cpu,${'\\,'.repeat(256)}=x v=1`, `cpu,k=${'v'.repeat(16385)} v=1`, `cpu,k=${'v'.repeat(16384)} v=1`,
  `${'m'.repeat(16382)} v=1`, `${'m'.repeat(16381)} v=1`, `${'m'.repeat(16381)} v\\ =1`,
  'a\tb,k=\u0001 v=1', 'm x=1 99999999999999999999', 'm x=1 9223372036854775807', 'm x=1 12\r\r', 'm x=1\r\r', 'm\\ x=1', 'm x\\=1=2',
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
  const alphabet = ['a', 'b', 'x', '_', '1', '2', '9', '.', '-', '+', 'e', 'E', 'i', 'u', 't', 'f', 'T', 'F', 'true', 'false', ' ', ' ', ',', ',', '=', '=', '\\', '"', '"', '#', '\r', '\u00e9', '\u20ac', '\u0001', '\u007f', '\t', NS, '0', 'nan', 'inf', '9223372036854775808', 'e308'];
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

test('native and TypeScript scanners agree on every line of the public corpus, case by case and all in one chunk', () => {
  const cases = readFileSync(new URL('../../../test/data/line-protocol/corpus.jsonl', import.meta.url), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { b64: string; precision: 'ns' | 'us' | 'ms' | 's' });
  assert.equal(cases.length, 873);
  for (const c of cases) {
    const b = timeBounds(c.precision, NOW, 100 * 365 * 86_400_000);
    agree(Buffer.from(c.b64, 'base64'), b);
    agree(Buffer.from(c.b64, 'base64'), timeBounds(c.precision, NOW, Infinity));
  }
  agree(Buffer.concat(cases.flatMap((c) => [Buffer.from(c.b64, 'base64'), Buffer.from('\n')])), timeBounds('ns', NOW, 31 * 86_400_000));
});
