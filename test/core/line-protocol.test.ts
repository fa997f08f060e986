import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLine, checkLine, parsePoint, scanLine, timeBounds, timestampFor, type ParsedPoint } from '../../src/core/influx/line-protocol.js';

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const bounds = timeBounds('ns', NOW, 31 * 86_400_000);
const NS = BigInt(NOW) * 1_000_000n;

test('valid lines parse to the measurement, tags, fields and timestamp VictoriaMetrics would store', () => {
  const f = (line: string, expected: Omit<ParsedPoint, 'timestamp'> & { timestamp?: number } | null) => {
    // Parsed twice, to catch state leaking between lines.
    for (let i = 0; i < 2; i++) assert.deepEqual(parsePoint(line, bounds), expected, line);
  };
  // plain
  f('cpu usage=1.5', { measurement: 'cpu', tags: [], fields: [['usage', 1.5]], timestamp: undefined });
  f('cpu,host=a,region=eu usage=1,idle=2i 1795348800000000000', {
    measurement: 'cpu', tags: [['host', 'a'], ['region', 'eu']], fields: [['usage', 1], ['idle', 2]], timestamp: Number(NS),
  });
  // value types
  f('m v=-1.5e3,w=+.5,x=7u,y=true,z=F,i=-3i', { measurement: 'm', tags: [], fields: [['v', -1500], ['w', 0.5], ['x', 7], ['y', 1], ['z', 0], ['i', -3]], timestamp: undefined });
  // escapes
  f('my\\ measure,tag\\,key=a\\ b\\,c\\=d\\\\e field\\=x=1', { measurement: 'my measure', tags: [['tag,key', 'a b,c=d\\e']], fields: [['field=x', 1]], timestamp: undefined });
  // unicode, CRLF, multiple spaces before the timestamp
  f('temp,city=Zürich,emoji=🚀 °C=21.5  1795348800000000000\r', { measurement: 'temp', tags: [['city', 'Zürich'], ['emoji', '🚀']], fields: [['°C', 21.5]], timestamp: Number(NS) });
  // blank and comment lines carry nothing
  f('', null);
  f('   ', null);
  f('# a comment', null);
});

test('invalid lines give a reason naming what is wrong', () => {
  const f = (line: string, reason: RegExp) => {
    for (let i = 0; i < 2; i++) {
      const v = checkLine(line, bounds);
      assert.equal(typeof v, 'string', `${JSON.stringify(line)} should be invalid`);
      assert.match(v as string, reason);
    }
  };
  // structure
  f('cpu', /no fields/);
  f('cpu ', /no fields after/);
  f(',host=a v=1', /empty measurement/);
  f('cpu,host v=1', /tag "host" has no "="/);
  f('cpu,host= v=1', /tag "host" has an empty value/);
  f('cpu,=a v=1', /empty key/);
  f('cpu v', /field "v" has no "="/);
  f('cpu =1', /field with an empty key/);
  // values VictoriaMetrics would store as 0 or garbage
  f('cpu v="text"', /string; VictoriaMetrics stores string fields as 0/);
  f('cpu v="unterminated', /unterminated quoted string/);
  f('cpu v=abc', /"abc" is not a number/);
  f('cpu v=1.2.3', /is not a number/);
  f('cpu v=12x', /is not a number/);
  f('cpu v=1.5i', /is not an integer/);
  f('cpu v=-1u', /is not an unsigned integer/);
  f('cpu v=NaN', /is not a number/);
  f('cpu v=', /empty value/);
  // timestamps
  f('cpu v=1 12abc', /timestamp "12abc" is not an integer/);
  f('cpu v=1 1.5', /not an integer/);
  f(`cpu v=1 ${NS + 3n * 86_400_000_000_000n}`, /more than 2 days ahead/);
  f(`cpu v=1 ${NS - 40n * 86_400_000_000_000n}`, /older than VictoriaMetrics' retention/);
  f(`cpu v=1 ${NOW}`, /older than VictoriaMetrics' retention/); // milliseconds read as nanoseconds: 1970
  // bytes that are not text
  f('cpu\u0000 v=1', /control character/);
});

test('invalid UTF-8 bytes are refused; valid multi-byte text is not', () => {
  const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
  const f = (b: Buffer) => scanLine(b, 0, b.length, bounds);
  assert.equal(f(bytes('cpu,h=', [0xff, 0xfe], ' v=1')), 'holds a control character or invalid UTF-8');
  assert.equal(f(bytes('cpu,h=', [0xe2, 0x82], ' v=1')), 'holds a control character or invalid UTF-8'); // truncated €
  assert.equal(f(bytes('cpu,h=\ufffd€ v=1')), 1);
  // A line inside a larger buffer: only its own bytes count.
  const buf = bytes('junk\n', 'cpu v=1,w=2', '\n', [0xff]);
  assert.equal(scanLine(buf, 5, 16, bounds), 2);
});

test('precision changes how timestamps are read', () => {
  assert.equal(checkLine(`cpu v=1 ${NOW}`, timeBounds('ms', NOW, 1e12)), 1);
  assert.equal(checkLine(`cpu v=1 ${Math.floor(NOW / 1000)}`, timeBounds('s', NOW, 1e12)), 1);
  assert.equal(checkLine(`cpu v=1 ${NOW * 1000}`, timeBounds('us', NOW, 1e12)), 1);
});

test('buildLine escapes every special character and refuses line breaks', () => {
  const line = buildLine({ measurement: 'pipeline run', tags: [['pipeline_name', 'a,b=c d\\e'], ['env', 'prod']], fields: [['rows', '1200i'], ['duration', '3.2']], timestamp: '1795348800000000000' });
  assert.equal(line, 'pipeline\\ run,env=prod,pipeline_name=a\\,b\\=c\\ d\\\\e rows=1200i,duration=3.2 1795348800000000000');
  assert.deepEqual(parsePoint(line, bounds), {
    measurement: 'pipeline run', tags: [['env', 'prod'], ['pipeline_name', 'a,b=c d\\e']], fields: [['rows', 1200], ['duration', 3.2]], timestamp: Number(NS),
  });
  assert.throws(() => buildLine({ measurement: 'm', tags: [['t', 'a\nb']], fields: [['v', '1']] }), /line break/);
  assert.throws(() => buildLine({ measurement: 'm', tags: [], fields: [['v', '"s"']] }), /string/);
  assert.throws(() => buildLine({ measurement: 'm', tags: [], fields: [] }), /at least one --field/);
});

test('timestampFor converts ISO times into the chosen precision', () => {
  assert.equal(timestampFor('2026-11-22T12:00:00Z', 'ns'), String(NS));
  assert.equal(timestampFor('2026-11-22T12:00:00Z', 'us'), String(BigInt(NOW) * 1000n));
  assert.equal(timestampFor('2026-11-22T12:00:00Z', 'ms'), String(NOW));
  assert.equal(timestampFor('2026-11-22T12:00:00Z', 's'), String(NOW / 1000));
  assert.equal(timestampFor('1795348800', 's'), '1795348800');
  assert.throws(() => timestampFor('tomorrow', 'ns'), /neither an integer nor an ISO 8601 time/);
});
