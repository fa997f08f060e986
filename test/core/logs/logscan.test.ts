/**
 * The native scanner (native/logscan.c) against the TypeScript parser, the reference: on every
 * line it claims, the same verdict and the same numbers; whole reports identical either way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeLogScanner, STRIDE, NativeKind } from '../../../src/core/logs/native.js';
import { LineParser, fileContext } from '../../../src/core/logs/formats.js';
import { generateLogLines, rng, GEN_FORMATS } from '../../../src/core/logs/generate.js';
import { LogReader } from '../../../src/core/logs/reader.js';
import { buildReport } from '../../../src/core/logs/report.js';

function native() {
  assert.ok(nativeLogScanner, 'the native log scanner is not built: run `npm ci` (npm builds native/logscan.c with node-gyp; g++ and Node\'s headers are needed)');
  return nativeLogScanner;
}

const parser = new LineParser();
const ctx = fileContext('plain.log');
const out = new Float64Array(STRIDE * 16);
const kindOf: Record<string, number> = { kafka: NativeKind.kafka, ml: NativeKind.ml, airflow: NativeKind.airflow };
const hashes = new Map<string, string>();

/** One line through both; fails when the native side claims a line differently from the reference. */
function agree(line: Buffer): number {
  const n = native().scanLogChunk(line, 0, line.length, out);
  assert.equal(n, line.length === 0 ? 0 : 1);
  if (n === 0) return NativeKind.blank;
  assert.equal(out[0], 0);
  assert.equal(out[1], line.length);
  const kind = out[2];
  const reason = parser.parse(line, 0, line.length, ctx);
  const show = JSON.stringify(line.toString('latin1'));
  if (kind === NativeKind.js) return kind;
  if (kind === NativeKind.blank) {
    assert.equal(line.toString('latin1').trim(), '', show);
    return kind;
  }
  assert.equal(reason, null, `native read ${show} but the reference skips it: ${parser.detail}`);
  const f = parser.facts;
  assert.equal(kindOf[f.component], kind, show);
  assert.equal(out[3], f.tsMs, `time of ${show}`);
  assert.equal(out[4] === 1, f.error, `level of ${show}`);
  const same = (a: number, b: number, what: string) => assert.ok(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `${what} of ${show}: native ${a}, reference ${b}`);
  same(out[6], f.durationMs, 'duration');
  if (kind === NativeKind.kafka) {
    same(out[5], f.lag, 'lag');
    same(out[7], f.messagesPerSecond, 'messages/s');
    same(Number.isNaN(out[8]) ? 1 : out[8], f.records, 'records');
  } else if (kind === NativeKind.ml) {
    same(out[8], f.confidence, 'confidence');
  } else {
    same(out[5], f.outcome, 'outcome');
    same(out[7], f.failedRecords, 'failed records');
    same(out[8], f.records, 'records');
  }
  const key = `${kind}:${out[9]}:${out[10]}`;
  const labels = JSON.stringify(f.labels);
  assert.equal(hashes.get(key) ?? labels, labels, `two groups share a hash: ${hashes.get(key)} and ${labels}`);
  hashes.set(key, labels);
  return kind;
}

const CASES = [
  '', '   ', '\r', '{}', '{"a":1}', 'plain text', '[', '[]', '{"timestamp":"2024-01-15T10:30:00Z","consumer_lag":1,"topic":"t","partition":0,"consumer_group":"g"}',
  '{"timestamp":"2024-01-15T10:30:00Z","consumer_lag":1,"topic":"t","partition":0,"consumer_group":"g","latency_ms":1e3}',
  '{"timestamp":"2024-01-15T10:30:00Z","consumer_lag":1,"topic":"t","partition":0,"consumer_group":"g","latency_ms":"12.50"}',
  '{"timestamp":"2024-01-15T10:30:00Z","consumer_lag":-0,"topic":"t\\"x","partition":0,"consumer_group":"g"}',
  '{"timestamp":"2024-01-15T10:30:00Z","consumer_lag":1,"topic":"t","partition":0,"consumer_group":"g","topic":"second"}',
  '{"timestamp":1705314600,"consumer_group":"g","topic":"t","partition":0,"level":"Error"}',
  '{"timestamp":1705314600.5,"consumer_group":"g","topic":"t","partition":0,"level":"ERRORS"}',
  '{"timestamp":"2024-01-15T10:30:00+0530","consumer_group":"g","topic":"t","partition":null}',
  '{"timestamp":"2024-01-15T10:30:00Z","model_version":"v","confidence":1}',
  '{"timestamp":"2024-01-15T10:30:00Z","model_version":"v","confidence":-0.1}',
  '{"timestamp":"2024-01-15T10:30:00Z","model_version":"v","service":false}',
  '{"timestamp":"2024-01-15T10:30:00Z","prediction_id":"p","service":"s"}',
  '{"timestamp":"2024-01-15T10:30:00Z","logger":"a","message":"Marking task as SUCCESS. start_date=20240115T102000, end_date=20240115T103000","dag_id":"d","task_id":"t"}',
  '{"timestamp":"2024-01-15T10:30:00Z","logger":"a","message":"Marking task as FAILED. start_date=2024-01-15T10:20:00Z end_date=\\"x\\"","dag_id":"d","task_id":"t"}',
  '{"timestamp":"2024-01-15T10:30:00Z","logger":"a","message":"records_processed=1.5. records_processed=2s duration=3 duration_ms=7","dag_id":"d","task_id":"t"}',
  '{"timestamp":"2024-01-15T10:30:00Z","logger":"a","message":"caf\u00e9 records_processed=1","dag_id":"d","task_id":"t"}',
  '{"timestamp":"2024-01-15T10:30:00Z","logger":"a","message":"no dag id"}',
  '{"timestamp":"2024-01-15T10:30:00Z","dag_id":"d","task_id":""}',
  '{"timestamp":"2024-01-15T10:30:00Z","dag_id":7,"task_id":8,"message":12}',
  '[2024-01-15, 10:30:00 UTC] {t.py:1} INFO - Marking task as SUCCESS. dag_id=d, task_id=t, start_date=20240115T102955, end_date=20240115T103000',
  '[2024-01-15, 10:30:00 UTC] {t.py:1} info - dag_id=d task_id=t records_processed=5',
  '[2024-01-15, 10:30:00 UTC]  {t.py:1}\tFATAL -  dag_id="d d" task_id=\'t\'',
  '[2024-01-15, 10:30:00 UTC] {t.py:1} INFO -dag_id=d, task_id=t',
  '[2024-01-15, 10:30:00 UTC] {t.py:1} INFO- dag_id=d, task_id=t',
  '[2024-01-15, 10:30:00 UTC]{t.py:1} INFO - dag_id=d, task_id=t',
  '[ 2024-01-15T10:30:00Z ] {t.py:1} INFO - dag_id=d, task_id=t, start_date=99999999T999999, end_date=20240115T103000',
  '[2024-01-15, 10:30:00 UTC] {t.py:1} INFO - dag_id=d, task_id=t, records_processed=1e3',
  '[2024-01-15, 10:30:00 UTC] {t.py:1} INFO - Marking task as SUCCESS. dag_id=d, task_id=t \u00e9',
];

test('native and TypeScript parsers agree on every case', () => {
  const kinds = new Set<number>();
  for (const c of CASES) kinds.add(agree(Buffer.from(c)));
  // The cases exercise every kind the native side can answer.
  assert.deepEqual([...kinds].sort(), [0, 1, 2, 3, 4]);
});

test('native and TypeScript parsers agree on 30,000 generated and mutated lines', () => {
  const r = rng(99);
  const lines: Buffer[] = [];
  for (const block of generateLogLines({ formats: GEN_FORMATS, lines: 3000, startMs: Date.UTC(2026, 0, 1), endMs: Date.UTC(2026, 0, 2), errorRate: 0.1, lag: 'spike', confidenceDrift: 0.3, seed: 5 })) {
    for (const l of block.split('\n')) if (l) lines.push(Buffer.from(l));
  }
  const specials = [0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x3d, 0x20, 0x2e, 0x2d, 0x30, 0x39, 0x65, 0x54, 0x5a, 0x2b, 0xff, 0x00, 0x0d, 0x09];
  let claimed = 0;
  for (let i = 0; i < 30_000; i++) {
    const base = lines[i % lines.length];
    let b: Buffer = Buffer.from(base);
    const edits = i < lines.length ? 0 : 1 + Math.floor(r() * 3);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(r() * b.length);
      const what = r();
      const byte = specials[Math.floor(r() * specials.length)];
      if (what < 0.4) b[at] = byte;
      else if (what < 0.6) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
      else if (what < 0.8) b = Buffer.concat([b.subarray(0, at), Buffer.from([byte]), b.subarray(at)]);
      else b = b.subarray(0, at);
    }
    if (b.includes(10)) continue;
    if (agree(b) !== NativeKind.js) claimed++;
  }
  assert.ok(claimed > 8_000, `the native side read only ${claimed} lines itself`);
});

test('reports are identical with and without the native scanner, over chunks of many lines', async () => {
  const text = [...generateLogLines({ formats: GEN_FORMATS, lines: 20_000, startMs: Date.UTC(2026, 0, 1), endMs: Date.UTC(2026, 0, 1, 12), errorRate: 0.05, lag: 'growing', confidenceDrift: 0.2, seed: 3 })].join('') + CASES.join('\n') + '\n\n{"half": ';
  const chunks = (async function* () {
    for (let i = 0; i < text.length; i += 65_537) yield Buffer.from(text.slice(i, i + 65_537));
  });
  const window = { sinceMs: Date.UTC(2026, 0, 1, 2), untilMs: Date.UTC(2026, 0, 1, 10) };
  const reports = [];
  for (const nativeOn of [true, false]) {
    const reader = new LogReader({ mappings: [], window, components: null, maxGroups: 30, lowConfidence: 0.7, maxLineBytes: 4096, native: nativeOn });
    const input = await reader.readStream(chunks(), 'mixed.log');
    reports.push(buildReport(reader, [input], window, new Date(0)));
  }
  assert.deepEqual(reports[0], reports[1]);
  const r = reports[0];
  assert.ok(r.summary.lines_used > 10_000 && r.skipped.by_reason.some((b) => b.reason === 'outside_window'));
});
