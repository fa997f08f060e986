import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTimestampText } from '../../../src/core/logs/timestamp.js';

const T = Date.UTC(2024, 0, 15, 10, 30, 0);
const OK: Array<[string, number]> = [
  ['2024-01-15T10:30:00Z', T],
  ['2024-01-15T10:30:00.123Z', T + 123],
  ['2024-01-15T10:30:00.1Z', T + 100],
  ['2024-01-15T10:30:00', T],
  ['2024-01-15 10:30:00', T],
  ['2024-01-15 10:30:00,250', T + 250],
  ['2024-01-15T10:30', T],
  ['2024-01-15T12:30:00+02:00', T],
  ['2024-01-15T12:30:00+0200', T],
  ['2024-01-15T08:30:00-02', T],
  ['2024-01-15T10:30:00.123+0000', T + 123],
  ['2024-01-15, 10:30:00 UTC', T],
  ['2024-01-15 10:30:00 GMT', T],
  ['2024-01-15', Date.UTC(2024, 0, 15)],
  ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ['1705314600', T],
  ['1705314600.5', T + 500],
  ['1705314600000', T],
  ['1705314600000000', T],
  ['1705314600000000000', T],
];
const BAD = ['', 'yesterday', '2024-13-01T00:00:00Z', '2024-01-32', '2024-01-15T25:00:00Z', '2024-01-15T10:61:00Z', '2024-01-15X10:30:00', '2024-01-15T10:30:00 PST', '2024-01-15T10:30:00+2', '2024/01/15 10:30', '12:30', '-5', '17e8', '2024-01-15T10'];

test('timestamps: ISO 8601 with and without zone, Python and Airflow forms, epoch s/ms/µs/ns', () => {
  for (const [text, want] of OK) assert.equal(parseTimestampText(text), want, text);
});

test('timestamps that are not times give NaN', () => {
  for (const text of BAD) assert.ok(Number.isNaN(parseTimestampText(text)), text);
});
