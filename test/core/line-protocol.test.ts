import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLine, checkLine, parsePoint, scanLine, timeBounds, timestampFor, type ParsedPoint } from '../../src/core/influx/line-protocol.js';

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const bounds = timeBounds('ns', NOW, 31 * 86_400_000);
const NS = BigInt(NOW) * 1_000_000n;

test('valid lines parse to the measurement, tags, fields and timestamp VictoriaMetrics would store', () => {
  const f = (line: string, expected: Omit<ParsedPoint, 'timestamp' | 'timestampMs'> & { timestamp?: number } | null) => {
    // Parsed twice, to catch state leaking between lines.
    for (let i = 0; i < 2; i++) {
      const got = parsePoint(line, bounds);
      if (got) {
        delete got.timestampMs;
        if (got.timestamp === undefined) delete got.timestamp;
      }
      const want = expected && { ...expected };
      if (want && want.timestamp === undefined) delete want.timestamp;
      assert.deepEqual(got, want, line);
    }
  };
  // plain
  f('cpu usage=1.5', { measurement: 'cpu', tags: [], fields: [['usage', 1.5]] });
  f('cpu,host=a,region=eu usage=1,idle=2i 1795348800000000000', {
    measurement: 'cpu', tags: [['host', 'a'], ['region', 'eu']], fields: [['usage', 1], ['idle', 2]], timestamp: Number(NS),
  });
  // value types: numbers as VictoriaMetrics reads them, the largest 64-bit integers, booleans
  f('m v=-1.5e3,x=7u,y=true,z=F,i=-3i,w=0.5,e=1E+2', { measurement: 'm', tags: [], fields: [['v', -1500], ['x', 7], ['y', 1], ['z', 0], ['i', -3], ['w', 0.5], ['e', 100]] });
  f('m a=9223372036854775807i,b=-9223372036854775808i,c=18446744073709551615u,d=000042i', {
    measurement: 'm', tags: [], fields: [['a', 9223372036854775807], ['b', -9223372036854775808], ['c', 18446744073709551615], ['d', 42]],
  });
  // escapes, the VictoriaMetrics way: a backslash goes before space, comma, "=" and backslash, and stays before anything else
  f('my\\ measure,tag\\,key=a\\ b\\,c\\=d\\\\e field\\=x=1', { measurement: 'my measure', tags: [['tag,key', 'a b,c=d\\e']], fields: [['field=x', 1]] });
  f('cpu,regions=eas\\t,x=y\\\\ value=1', { measurement: 'cpu', tags: [['regions', 'eas\\t'], ['x', 'y\\']], fields: [['value', 1]] });
  // an unescaped "=" in a tag value: the key ends at the first one, and VictoriaMetrics keeps the rest
  f('cpu,h=ost=localhost value=42', { measurement: 'cpu', tags: [['h', 'ost=localhost']], fields: [['value', 42]] });
  // unicode, CRLF, several spaces between the parts
  f('temp,city=Zürich,emoji=🚀   °C=21.5  1795348800000000000\r', { measurement: 'temp', tags: [['city', 'Zürich'], ['emoji', '🚀']], fields: [['°C', 21.5]], timestamp: Number(NS) });
  // names exactly at VictoriaMetrics' limits (escapes removed first)
  assert.equal(checkLine(`cpu,${'k'.repeat(256)}=x,y=${'v'.repeat(16384)} v=1`, bounds), 1);
  assert.equal(checkLine(`${'m'.repeat(16382)} v=1`, bounds), 1);
  assert.equal(checkLine(`cpu,${'\\,'.repeat(256)}=x v=1`, bounds), 1);
  // control characters are stored as they are
  f('x\u0001y,k=\tv v=1', { measurement: 'x\u0001y', tags: [['k', '\tv']], fields: [['v', 1]] });
  // blank and comment lines carry nothing
  f('', null);
  f('   ', null);
  f('# a comment', null);
  f('  # an indented comment', null);
});

test('timestampMs is the time VictoriaMetrics stores: exact, truncated towards zero', () => {
  const at = (line: string, precision: 'ns' | 'us' | 'ms' | 's') => parsePoint(line, timeBounds(precision, NOW, Infinity))?.timestampMs;
  assert.equal(at('m v=1 1795348800123456789', 'ns'), 1795348800123);
  assert.equal(at('m v=1 1795348800123456', 'us'), 1795348800123);
  assert.equal(at('m v=1 1795348800', 's'), 1795348800000);
  assert.equal(at('m v=1 1234', 'ns'), 0);
  assert.equal(at('m v=1 -5', 'ns'), 0); // -5 ns is 0 ms in integer division: stored at 1970-01-01
  assert.equal(at('m v=1', 'ns'), undefined);
});

test('every reason says what VictoriaMetrics does with the line', () => {
  const f = (line: string, reason: RegExp) => {
    for (let i = 0; i < 2; i++) {
      const v = checkLine(line, bounds);
      assert.equal(typeof v, 'string', `${JSON.stringify(line)} should be reported`);
      assert.match(v as string, reason, JSON.stringify(line));
    }
  };
  // dropped: structure
  f('cpu', /^no fields: .*; VictoriaMetrics drops the line$/);
  f('cpu ', /^no fields after the measurement and tags; VictoriaMetrics drops the line$/);
  f('cpu,host v=1', /^tag "host" has no "=" \(the unescaped "," at byte 4 starts a tag: write "\\," for a comma inside a name or value\); VictoriaMetrics drops the line$/);
  f('cpu,host=a,b v=1', /^tag "b" has no "=" \(the unescaped "," at byte 11 starts a tag/);
  f('cpu,host=a,,b=c v=1', /^an empty tag \(a stray ","\); VictoriaMetrics drops the line$/);
  f('cpu v', /^field "v" has no "=" \(the unescaped space at byte 4 ends the measurement and tags: write "\\ " for a space inside a name or value\); VictoriaMetrics drops the line$/);
  f('cpu,host=my server v=1', /^field "server" has no "=" \(the unescaped space at byte 12 ends/);
  f('cpu =1', /^a field with an empty key; VictoriaMetrics drops the line$/);
  f('cpu v=1,', /^an empty field \(a stray ","\); VictoriaMetrics drops the line$/);
  f('cpu v=', /^field "v" has no value; VictoriaMetrics drops the line$/);
  f('cpu v="unterminated', /^field "v": unterminated quoted string; VictoriaMetrics drops the line$/);
  f('cpu v="a"b', /^field "v": text after the closing quote; VictoriaMetrics drops the line$/);
  f('cpu a"b=1', /^an unescaped '"' at byte 6, in a field key; VictoriaMetrics 1.79 misreads the rest of the line$/);
  f('cpu v=1"', /^field "v": an unescaped '"' at byte 8, inside a value that is not quoted; VictoriaMetrics 1.79 misreads the rest of the line$/);
  // dropped: spaces at either end
  f(' cpu v=1', /^the line starts with a space; VictoriaMetrics drops the line$/);
  f(' v=1', /^the line starts with a space; VictoriaMetrics 1.79 misreads the rest of the line$/);
  f('cpu v=1 ', /^the line ends with a space \(VictoriaMetrics reads a timestamp after it\); VictoriaMetrics drops the line$/);
  f(`cpu v=1 ${NS}  `, /^the line ends with a space/);
  // dropped: integers VictoriaMetrics cannot read
  f('cpu v=1.5i', /^field "v": "1.5i" is not an integer; VictoriaMetrics drops the line$/);
  f('cpu v=+1i', /^field "v": "\+1i" has a "\+" sign, which VictoriaMetrics does not read; VictoriaMetrics drops the line$/);
  f('cpu v=-1u', /^field "v": "-1u" is a negative unsigned integer; VictoriaMetrics drops the line$/);
  f('cpu v=9223372036854775808i', /is beyond a 64-bit integer; VictoriaMetrics drops the line$/);
  f('cpu v=18446744073709551616u', /is beyond an unsigned 64-bit integer; VictoriaMetrics drops the line$/);
  f('cpu v=pi', /^field "v": "pi" is not an integer; VictoriaMetrics drops the line$/); // ends in "i"
  // dropped: timestamps
  f('cpu v=1 12abc', /^timestamp "12abc" is not an integer; VictoriaMetrics drops the line$/);
  f('cpu v=1 +5', /^timestamp "\+5" is not an integer/);
  f('cpu v=1 x=2', /^timestamp "x=2" is not an integer \(it looks like a field: is the space at byte 8 meant to be escaped, "\\ "\?\); VictoriaMetrics drops the line$/);
  f('cpu v=1 99999999999999999999', /^timestamp 99999999999999999999 is beyond a 64-bit integer; VictoriaMetrics drops the line$/);
  f('cpu v=1 -34526000000000', /^timestamp -34526000000000 is before 1970 \(VictoriaMetrics stores no negative times\); VictoriaMetrics drops the line$/);
  f(`cpu v=1 ${BigInt(NS) + 3n * 86_400_000_000_000n}`, /is more than 2 days ahead; VictoriaMetrics drops the line$/);
  f(`cpu v=1 ${BigInt(NS) - 40n * 86_400_000_000_000n}`, /older than VictoriaMetrics' retention period; VictoriaMetrics drops the line$/);
  // a timestamp in another unit gets the flag to use
  f(`cpu v=1 ${NOW}`, /older than VictoriaMetrics' retention period \(looks like milliseconds: use --precision ms\); VictoriaMetrics drops the line$/);
  f(`cpu v=1 ${NOW / 1000}`, /\(looks like seconds: use --precision s\)/);
  f(`cpu v=1 ${NOW * 1000}`, /\(looks like microseconds: use --precision us\)/);
  // stored, but not as written: values
  f('cpu v="text"', /^field "v" is a string; VictoriaMetrics stores it as 0$/);
  f('cpu v="42"', /^field "v" is the string "42"; VictoriaMetrics stores it as the number 42$/);
  f('cpu v=abc', /^field "v": "abc" is not a number; VictoriaMetrics stores it as 0$/);
  f('cpu v=1.2.3', /is not a number; VictoriaMetrics stores it as 0$/);
  f('cpu v=.5', /^field "v": ".5" is not a number \(VictoriaMetrics 1.79 does not read ".5": write 0.5\); VictoriaMetrics stores it as 0$/);
  f('cpu v=-.42', /\(VictoriaMetrics 1.79 does not read "-.42": write -0.42\); VictoriaMetrics stores it as 0$/);
  f('cpu v=1.', /\(VictoriaMetrics 1.79 does not read a number ending in ".": write 1.0\); VictoriaMetrics stores it as 0$/);
  f('cpu v=+1', /\(VictoriaMetrics 1.79 does not read a leading "\+"\); VictoriaMetrics stores it as 0$/);
  f('cpu v=tRUE', /"tRUE" is not a number; VictoriaMetrics stores it as 0$/);
  f('cpu v=NaN', /^field "v" is NaN; VictoriaMetrics drops this sample$/);
  f('cpu v=1e400', /^field "v": "1e400" is not a finite number; VictoriaMetrics stores it as \+Inf$/);
  f('cpu v=-inf', /stores it as -Inf$/);
  // stored, but not as written: time, labels, names
  f('cpu v=1 0', /^timestamp 0; VictoriaMetrics stores it at the time of arrival$/);
  f('cpu,b=2,c=3,b=1 v=1', /^tag "b" is given twice; VictoriaMetrics keeps the last value, "1"$/);
  f('cpu,host= v=1', /^tag "host" has an empty value; VictoriaMetrics stores the line without it$/);
  f('cpu,=a v=1', /^a tag with an empty key; VictoriaMetrics stores the line without it$/);
  f(`cpu,${Array.from({ length: 31 }, (_, k) => `t${k}=v`).join(',')} v=1`, /^more than 30 tags; VictoriaMetrics keeps only the first 30 labels$/);
  f(',foo=bar baz=123', /^empty measurement; VictoriaMetrics names the metric after the field alone \("baz"\)$/);
  f('cpu,__name__=x v=1', /^tag "__name__" = "x" is the metric name's own label; VictoriaMetrics stores the line without it$/);
  f(`cpu,${'k'.repeat(257)}=x v=1`, /^tag key "k+…" is longer than 256 bytes; VictoriaMetrics keeps its first 256$/);
  f(`cpu,k=${'v'.repeat(16385)} v=1`, /^tag "k" has a value longer than 16384 bytes; VictoriaMetrics keeps its first 16384$/);
  f(`${'m'.repeat(16383)} v=1`, /^the metric name \(measurement, "_", field "v"\) is longer than 16384 bytes; VictoriaMetrics keeps its first 16384$/);
  // a problem that drops the line wins over one that only changes it
  f('cpu v="text" ', /drops the line$/);
  f('cpu,host= v=1 -1000000000', /drops the line$/);
});

test('invalid UTF-8 in a name is reported with its byte; valid multi-byte text is not', () => {
  const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
  const f = (b: Buffer) => scanLine(b, 0, b.length, bounds);
  const BAD = '; VictoriaMetrics stores the raw bytes, which its JSON answers cannot carry';
  assert.equal(f(bytes('cpu,h=', [0xff, 0xfe], ' v=1')), `invalid UTF-8 at byte 7${BAD}`);
  assert.equal(f(bytes('cpu,h=', [0xe2, 0x82], ' v=1')), `invalid UTF-8 at byte 7${BAD}`); // truncated €
  assert.equal(f(bytes('c', [0xbd], 'pu v=1')), `invalid UTF-8 at byte 2${BAD}`);
  assert.equal(f(bytes('cpu,h=\ufffd€ v=1')), 1);
  // in a value, the bytes are not stored: the value is 0
  assert.match(f(bytes('cpu v=1', [0xff])) as string, /stores it as 0$/);
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
    measurement: 'pipeline run', tags: [['env', 'prod'], ['pipeline_name', 'a,b=c d\\e']], fields: [['rows', 1200], ['duration', 3.2]], timestamp: Number(NS), timestampMs: NOW,
  });
  assert.throws(() => buildLine({ measurement: 'm', tags: [['t', 'a\nb']], fields: [['v', '1']] }), /line break/);
  assert.throws(() => buildLine({ measurement: 'm', tags: [], fields: [['v', '"s"']] }), /string/);
  assert.throws(() => buildLine({ measurement: 'm', tags: [], fields: [] }), /at least one --field/);
  assert.throws(() => buildLine({ measurement: '#m', tags: [], fields: [['v', '1']] }), /starts with "#", which makes the line a comment/);
  assert.throws(() => buildLine({ measurement: 'm', tags: [], fields: [['v', '.5']] }), /field v: ".5" is not a number .*; VictoriaMetrics stores it as 0/);
});

test('timestampFor converts ISO times into the chosen precision', () => {
  assert.equal(timestampFor('2026-11-22T12:00:00Z', 'ns'), String(NS));
  assert.equal(timestampFor('2026-11-22T12:00:00Z', 'us'), String(BigInt(NOW) * 1000n));
  assert.equal(timestampFor('2026-11-22T12:00:00Z', 'ms'), String(NOW));
  assert.equal(timestampFor('2026-11-22T12:00:00Z', 's'), String(NOW / 1000));
  assert.equal(timestampFor('1795348800', 's'), '1795348800');
  assert.throws(() => timestampFor('tomorrow', 'ns'), /neither an integer nor an ISO 8601 time/);
});
