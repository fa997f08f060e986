/**
 * The native scanner (native/logscan.c) against the TypeScript parser, the reference: on every
 * line it claims, the same verdict and the same numbers; whole reports identical either way.
 */
import { test } from 'node:test';
import { readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { nativeLogScanner, STRIDE, NativeKind, Slot } from '../../../src/core/logs/native.js';
import { LineParser, fileContext } from '../../../src/core/logs/formats.js';
import { generateLogLines, rng, GEN_FORMATS } from '../../../src/core/logs/generate.js';
import { LogReader } from '../../../src/core/logs/reader.js';
import { buildReport } from '../../../src/core/logs/report.js';

function native() {
  assert.ok(nativeLogScanner(), 'the native log scanner is not built: run `npm ci` (npm builds native/logscan.c with node-gyp; g++ and Node\'s headers are needed)');
  return nativeLogScanner()!;
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
  assert.equal(out[Slot.start], 0);
  assert.equal(out[Slot.end], line.length);
  const kind = out[Slot.kind];
  const reason = parser.parse(line, 0, line.length, ctx);
  const show = JSON.stringify(line.toString('latin1'));
  if (kind === NativeKind.js) return kind;
  if (kind === NativeKind.blank) {
    assert.equal(line.toString('latin1').trim(), '', show);
    return kind;
  }
  assert.equal(reason, null, `native read ${show} but the reference skips it: ${parser.detail}`);
  const f = parser.facts;
  assert.equal(kindOf[f.component] ?? NativeKind.python, kind, show);
  assert.equal(out[Slot.time], f.tsMs, `time of ${show}`);
  assert.equal(out[Slot.error] === 1, f.error, `level of ${show}`);
  const same = (a: number, b: number, what: string) => assert.ok(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `${what} of ${show}: native ${a}, reference ${b}`);
  // Every slot means the same for every kind of line.
  same(out[Slot.latency], f.durationMs, 'duration');
  same(out[Slot.records], f.records, 'records');
  same(out[Slot.failed], f.failedRecords, 'failed records');
  same(out[Slot.lag], f.lag, 'lag');
  same(out[Slot.mps], f.messagesPerSecond, 'messages/s');
  same(out[Slot.confidence], f.confidence, 'confidence');
  same(out[Slot.outcome], f.outcome, 'outcome');
  const key = `${kind}:${out[Slot.hashA]}:${out[Slot.hashB]}`;
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
  // Out-of-range numbers are the reference's to refuse (issue #12).
  '{"timestamp":"2024-01-15T10:30:00Z","consumer_lag":1e400,"topic":"t","partition":0,"consumer_group":"g"}',
  '{"timestamp":"2024-01-15T10:30:00Z","consumer_lag":1,"topic":"t","partition":0,"consumer_group":"g","latency_ms":-1e400}',
  '{"timestamp":"2024-01-15T10:30:00Z","model_version":"v","confidence":0.5,"latency_ms":"1e309"}',
  '[2024-01-15, 10:30:00 UTC] {t.py:1} INFO - dag_id=d, task_id=t, records_processed=1e400',
  '[2024-01-15, 10:30:00 UTC] {t.py:1} INFO - dag_id=d, task_id=t, Records ingested: 99999999999999999999',
  // Phrases in Airflow messages.
  '[2024-01-15, 10:30:00 UTC] {t.py:1} INFO - dag_id=d, task_id=t Exported 42 rows to s3, took 1.5 s',
  '[2024-01-15, 10:30:00 UTC] {t.py:1} INFO - dag_id=d, task_id=t Records ingested: 5100. Duplicates marked: 12',
  '[2024-01-15, 10:30:00 UTC] {t.py:1} INFO - dag_id=d, task_id=t rows=7 Processed 7 rows took 3ms duration_ms=9',
  // Python logging, both stock layouts.
  '2024-01-15 10:30:00,123 - ingest.worker - INFO - Records ingested: 5100',
  '2024-01-15 10:30:00,123 - ingest.worker - ERROR - Records failed: 3 records ingested:2 took 12.5 ms',
  '2024-01-15 10:30:00,123 INFO export.writer: Exported 1,200 rows',
  '2024-01-15 10:30:00,123 WARNING export.writer: exported 12 ROWS took 2 seconds took 7 minutes',
  '2024-01-15 10:30:00,123 CRITICAL root: Processed 5 records.x',
  '2024-01-15 10:30:00,123 - root - INFO -',
  '2024-01-15 10:30:00,123 - a - INFO - ',
  '2024-01-15 10:30:00,123 INFO a:',
  '2024-01-15 10:30:00,123 INFO a:b',
  '2024-01-15 10:30:00 - a.b - DEBUG - took 5 5ms; took 1.s; took 5ms2; took 5  ms; overtook 5 ms; Records ingested:  5',
  '2024-01-15T10:30:00.5 - a.b - Error - records processed: 1.5.3 rows processed: 2.5, Loaded 3 records_x',
  '2024-13-15 10:30:00,123 - a - INFO - x',
  '2024-01-15 10:30:00,123 - a b - INFO - x',
  '2024-01-15 10:30:00,123 - a - Level 5 - x',
  '2024-01-15 10:30:00,123 - caf\u00e9 - INFO - Records ingested: 1',
  '2024-01-15 10:30:00,123 - a - INFO - took_ms=x',
  '2024-01-15 10:30:00,123 - a - INFO - duration=150ms. took_ms=2ms',
  '2024-01-15 10:30:00,123 - a - INFO - Exported 1,200 rows, Records ingested: 5,100,200.5; took 1,500 ms',
  '2024-01-15 10:30:00,123 - a - INFO - Records ingested: 5,10 Records ingested: 1,2345 Processed 1234,567 rows Loaded 12,345,67 rows',
  '2024-01-15 10:30:00,123 - a - INFO - Records failed: 1,000. Wrote 999,999,999,999,999,999 rows took 0,5 s took 1,000s',
  '2024-01-15 10:30:00,123 - a - INFO - Records ingested: ,100 Rows loaded: 1,,000 Processed 1, 000 rows',
  '2024-01-15 10:30:00,123 - a - INFO - Exported 12 rows (rows=10), [duration=1.5s]. took_ms=(3) x=1)',
  '2024-01-15 10:30:00,123 - a - INFO - duration=1.5s, x duration=ms duration=3msx',
  '2024-01-15 10:30:00,123 - a - INFO - wrote 3 row. Written 4 rows! inserted 5 rowsy insertED 6 Rows',
];

test('native and TypeScript parsers agree on every case', () => {
  const kinds = new Set<number>();
  for (const c of CASES) kinds.add(agree(Buffer.from(c)));
  // The cases exercise every kind the native side can answer.
  assert.deepEqual([...kinds].sort(), [0, 1, 2, 3, 4, 5]);
});

test('the record layout and the kinds are declared alike in TypeScript and C', async () => {
  const root = new URL('../../../../', import.meta.url);
  const c = await readFile(new URL('native/logscan.c', root), 'utf8');
  const ts = await readFile(new URL('src/core/logs/native.ts', root), 'utf8');
  const norm = (n: string) => n.toLowerCase().replace(/_/g, '');
  const cSlots = /enum \{ (R_START[^}]*) \}/.exec(c)![1].split(',').map((x) => x.trim());
  assert.equal(cSlots.pop(), 'STRIDE');
  const tsSlots = [.../export const enum Slot \{([^}]*)\}/.exec(ts)![1].matchAll(/^\s*(\w+)(?: = 0)?,/gm)].map((m) => m[1]);
  assert.deepEqual(cSlots.map((x) => norm(x.slice(2))), tsSlots.map(norm));
  assert.equal(STRIDE, cSlots.length);
  const cKinds = [.../enum \{ (K_JS[^}]*) \}/.exec(c)![1].matchAll(/K_(\w+) = (\d+)/g)].map((m) => [norm(m[1]), Number(m[2])]);
  const tsKinds = [.../export const enum NativeKind \{([^}]*)\}/.exec(ts)![1].matchAll(/^\s*(\w+) = (\d+),/gm)].map((m) => [norm(m[1]), Number(m[2])]);
  assert.deepEqual(cKinds, tsKinds);
  assert.equal(Slot.hashB, STRIDE - 1);
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
