import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyReport, hasTimestamp, nativeScanner, streamLineProtocol } from '../../src/core/influx/push.js';
import { timeBounds } from '../../src/core/influx/line-protocol.js';

test('hasTimestamp reads the tail of a valid line', () => {
  const f = (line: string, expected: boolean) => {
    const b = Buffer.from(line);
    assert.equal(hasTimestamp(b, 0, b.length), expected, line);
    assert.equal(hasTimestamp(b, 0, b.length), expected, `${line} (again)`);
  };
  // with a timestamp
  f('m v=1 1700000000000000000', true);
  f('m,t=a v=1i,w=2 17', true);
  f('m v=1 -5', true);
  f('m\\ x,t=a\\ b v=1 0', true);
  f('m my\\\\ v=1 123', true); // an escaped backslash, then a real space
  // without
  f('m v=1', false);
  f('m v=-5', false);
  f('m v=1.5', false);
  f('m v=1e10', false);
  f('m v=12i', false);
  f('m v=true', false);
  f('m f\\ 1=2', false);
  f('m a=1,b\\ 2=3', false);
  f('m v=1\\ 5', false); // an escaped space is not a separator
});

test('lines without a timestamp get the time their chunk was read; lines with one are untouched', async () => {
  for (const portable of [true, false]) {
    if (!portable && !nativeScanner()) continue;
    const sent: string[] = [];
    const times = [1_700_000_000_123, 1_700_000_005_000];
    let calls = 0;
    const chunks = ['a v=1\nb v=2 99\nc v=3\r\n', 'd v=4\ne v=5 7\n'];
    await streamLineProtocol('(test)', (async function* () {
      yield* chunks;
    })(), {
      bounds: { ...timeBounds('ms', 1_700_000_000_000, Number.POSITIVE_INFINITY), minMs: -Infinity, maxMs: Infinity },
      batchLines: 100, batchBytes: 1 << 20, maxLineBytes: 1024, concurrency: 1, keepInvalid: 10, portable,
      stampMissing: () => times[calls++],
    }, { send: async (body) => void sent.push(Buffer.concat(body).toString()) }, emptyReport());
    assert.deepEqual(sent, [`a v=1 ${times[0]}\nb v=2 99\nc v=3 ${times[0]}\nd v=4 ${times[1]}\ne v=5 7\n`], `portable=${portable}`);
    assert.equal(calls, 2);
  }
});
