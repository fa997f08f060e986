import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatDuration, renderTableCsv, renderTableText } from '../../src/core/output/render.js';

const table = { columns: ['stage', 'rows', 'note'], rows: [['extract', 10000, 'a\tb'], ['load', 9.5, null]] };

test('on a terminal a table is aligned, numbers to the right', () => {
  assert.equal(renderTableText(table, { tty: true, color: false }), [
    'stage     rows  note',
    '───────  ─────  ────',
    'extract  10000  a\tb',
    'load       9.5',
  ].join('\n') + '\n');
});

test('in a pipe a table is tab-separated, with tabs and newlines in cells replaced', () => {
  assert.equal(renderTableText(table, { tty: false, color: false }), 'stage\trows\tnote\nextract\t10000\ta b\nload\t9.5\t\n');
});

test('CSV quotes what needs quoting', () => {
  assert.equal(renderTableCsv({ columns: ['a', 'b'], rows: [['x,y', 'say "hi"'], ['line\nbreak', 1]] }), 'a,b\n"x,y","say ""hi"""\n"line\nbreak",1\n');
});

test('sizes and durations read naturally', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(8.6 * 1024 * 1024), '8.6 MiB');
  assert.equal(formatDuration(0.0421), '42 ms');
  assert.equal(formatDuration(3.256), '3.26 s');
  assert.equal(formatDuration(125), '2m05s');
});
