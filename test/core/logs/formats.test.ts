import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineParser, Outcome, fileContext, parseFieldMapping, forEachKeyValue, type LineFacts } from '../../../src/core/logs/formats.js';

const T = Date.UTC(2024, 0, 15, 10, 30, 0);
const PAYMENTS = parseFieldMapping({ component: 'payments', time: 'ts', level: 'severity', latency: 'took', latency_unit: 's', count: 'n', group: ['service', 'region'] }, 'test');
const parser = new LineParser([PAYMENTS]);

function parseOnce(buf: Buffer, path: string): { reason: string | null; detail: string; facts: LineFacts } {
  const reason = parser.parse(buf, 0, buf.length, fileContext(path));
  return { reason, detail: parser.detail, facts: { ...parser.facts, labels: [...parser.facts.labels] } };
}

/** Parses the line twice, with lines of other kinds before each time: the parser reuses its state, and none may leak. */
function parse(line: string | Buffer, path = 'x.log'): { reason: string | null; detail: string; facts: LineFacts } {
  const buf = typeof line === 'string' ? Buffer.from(line) : line;
  parseOnce(Buffer.from(ML), 'other.log');
  const first = parseOnce(buf, path);
  parseOnce(Buffer.from('[2024-01-15, 10:30:00 UTC] {t.py:1} ERROR - Marking task as FAILED. dag_id=d, task_id=t, records_processed=9 duration=1'), 'dag_id=z/task_id=y/1.log');
  const second = parseOnce(buf, path);
  assert.deepEqual(second, first, 'the same line parsed after others gives the same result');
  return first;
}

const KAFKA = '{"timestamp": "2024-01-15T10:30:00Z", "level": "INFO", "name": "consumer", "consumer_lag": 1234, "topic": "orders", "partition": 3, "consumer_group": "etl", "latency_ms": 12.5, "messages_per_second": 845.2}';
const ML = '{"timestamp": "2024-01-15T10:30:00.250Z", "service": "churn", "level": "INFO", "model_version": "v2", "prediction_id": "p1", "input_shape": [1, 32], "prediction": 1, "confidence": 0.93, "latency_ms": 20.5, "features_hash": "ab"}';

const GOOD: Array<[string, string, Partial<LineFacts>, string?]> = [
  ['kafka', KAFKA, { component: 'kafka', labels: ['orders', '3', 'etl'], tsMs: T, lag: 1234, durationMs: 12.5, messagesPerSecond: 845.2, records: 1, error: false }],
  ['kafka error level, batch_size, numbers in strings, epoch ms', '{"timestamp": 1705314600000, "level": "error", "consumer_lag": "77", "topic": "t", "partition": "0", "consumer_group": "g", "latency_ms": "3", "batch_size": 50}', { component: 'kafka', labels: ['t', '0', 'g'], tsMs: T, lag: 77, durationMs: 3, records: 50, error: true }],
  ['kafka escaped label, CRLF and spaces', '  {"timestamp":"2024-01-15T10:30:00Z","consumer_group":"g\\"1","topic":"a\\u00e9","partition":1}\r', { component: 'kafka', labels: ['aé', '1', 'g"1'], tsMs: T, lag: NaN }],
  ['ml', ML, { component: 'ml', labels: ['churn', 'v2'], tsMs: T + 250, confidence: 0.93, durationMs: 20.5, records: 1 }],
  ['ml without service, CRITICAL', '{"timestamp": "2024-01-15T10:30:00Z", "level": "CRITICAL", "model_version": 3, "confidence": 0}', { component: 'ml', labels: ['-', '3'], confidence: 0, error: true }],
  ['airflow json with counts', '{"timestamp": "2024-01-15T10:30:00Z", "logger": "airflow.task", "level": "INFO", "message": "DAG completed - records_processed=15000 duration=45.2", "dag_id": "etl", "task_id": "load", "run_id": "r", "execution_date": "2024-01-15"}', { component: 'airflow', labels: ['etl', 'load'], records: 15000, durationMs: 45200, outcome: Outcome.none }],
  ['airflow json failed task with dates', '{"timestamp": "2024-01-15T10:30:00Z", "logger": "airflow.task", "level": "ERROR", "message": "Marking task as FAILED. dag_id=etl, task_id=load, execution_date=20240115T000000, start_date=20240115T102950, end_date=20240115T103000", "dag_id": "etl", "task_id": "load"}', { component: 'airflow', outcome: Outcome.failed, durationMs: 10_000, error: true, records: 0 }],
  ['airflow json without dag_id: from the log path', '{"timestamp": "2024-01-15T10:30:00Z", "logger": "airflow.task", "level": "INFO", "message": "rows_processed=12 records_failed=2 duration_ms=800"}', { component: 'airflow', labels: ['daily', 'extract'], records: 12, failedRecords: 2, durationMs: 800 }, 'logs/dag_id=daily/run_id=r1/task_id=extract/attempt=1.log'],
  ['airflow text, Airflow 2.8 time', '[2024-01-15, 10:30:00 UTC] {taskinstance.py:1345} INFO - Marking task as SUCCESS. dag_id=etl, task_id=load, execution_date=20240115T000000, start_date=20240115T102955, end_date=20240115T103000', { component: 'airflow', labels: ['etl', 'load'], tsMs: T, outcome: Outcome.success, durationMs: 5000, error: false }],
  ['airflow text, Airflow 2.x time, retry', '[2024-01-15T10:30:00.123+0000] {taskinstance.py:1400} INFO - Marking task as UP_FOR_RETRY. dag_id=etl, task_id=load', { component: 'airflow', tsMs: T + 123, outcome: Outcome.retry }],
  ['airflow text error, path labels, quoted and dotted values', "[2024-01-15 10:30:00,000] {logging_mixin.py:151} ERROR - Loaded batch - records_processed='25000' duration=12.5s.", { component: 'airflow', labels: ['d1', 't1'], error: true, records: 25000, durationMs: 12_500 }, 'dag_id=d1/run_id=x/task_id=t1/attempt=2.log'],
  ['mapped log', '{"ts": 1705314600, "severity": "warning", "took": 0.25, "n": 4, "service": "checkout", "region": "eu"}', { component: 'payments', labels: ['checkout', 'eu'], tsMs: T, durationMs: 250, records: 4, error: false }],
  ['mapped log without group fields', '{"ts": "2024-01-15T10:30:00Z", "severity": "FATAL"}', { component: 'payments', labels: ['-', '-'], error: true, records: 1 }],
  ['python default layout, a phrase', '2024-01-15 10:30:00,123 - ingest.worker - INFO - Records ingested: 5100', { component: 'ingest', labels: ['ingest.worker'], tsMs: T + 123, records: 5100, error: false, durationMs: NaN }],
  ['python colon layout, error, phrases and pairs', '2024-01-15 10:30:00,500 CRITICAL export.writer: Exported 12 rows (rows=10), Records failed: 2, took 1.5 s', { component: 'export', labels: ['export.writer'], tsMs: T + 500, records: 10, failedRecords: 2, durationMs: 1500, error: true }],
  ['python root logger, empty message', '2024-01-15 10:30:00,000 - root - WARNING -', { component: 'python', labels: ['root'], records: 0 }],
  ['python logger named like a built-in', '2024-01-15 10:30:00,000 - kafka.consumer - INFO - Processed 3 records', { component: 'python', labels: ['kafka.consumer'], records: 3 }],
  ['python logger named like a mapping', '2024-01-15 10:30:00,000 - payments.api - INFO - x', { component: 'python', labels: ['payments.api'] }],
  ['python duration in ms on a seconds key', '2024-01-15T10:30:00.25 - a.b - INFO - duration=150ms', { component: 'a', tsMs: T + 250, durationMs: 150 }],
  ['logfmt', 'ts=2024-01-15T10:30:00Z level=error service=billing rows=120 took_ms=12.5 msg="Exported 5 rows"', { component: 'billing', labels: ['billing'], tsMs: T, error: true, records: 120, durationMs: 12.5 }],
  ['logfmt without a logger key', 'time="2024-01-15 10:30:00" lvl=info msg="Records ingested: 7"', { component: 'logfmt', labels: ['-'], tsMs: T, records: 7 }],
  ['airflow phrases', '[2024-01-15, 10:30:00 UTC] {logging_mixin.py:188} INFO - Duplicates marked: 37. dag_id=d, task_id=t', { component: 'airflow', labels: ['d', 't'], records: 37 }],
];

const BAD: Array<[string, string | Buffer, string, RegExp]> = [
  ['truncated JSON', '{"timestamp": "2024-01-15T10:30:00Z", "topic": "or', 'malformed_json', /unterminated string at byte 48/],
  ['trailing comma', '{"a": 1,}', 'malformed_json', /expected a quoted key/],
  ['two objects', '{"a": 1} {"b": 2}', 'malformed_json', /text after the object/],
  ['bad literal', '{"a": tru}', 'malformed_json', /invalid value/],
  ['plain text', 'hello world', 'unknown_format', /neither a JSON object/],
  ['JSON of no known format', '{"foo": 1, "bar": "x"}', 'unknown_format', /without the fields/],
  ['binary garbage', Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x01]), 'unknown_format', /neither/],
  ['bracket, not Airflow', '[INFO] something happened', 'unknown_format', /not an Airflow task log line/],
  ['kafka without timestamp', '{"consumer_lag": 5, "topic": "t", "partition": 0, "consumer_group": "g"}', 'missing_field', /timestamp is missing/],
  ['kafka without topic', '{"timestamp": "2024-01-15T10:30:00Z", "consumer_lag": 5, "partition": 0, "consumer_group": "g"}', 'missing_field', /topic is missing/],
  ['kafka lag not a number', '{"timestamp": "2024-01-15T10:30:00Z", "consumer_lag": "lots", "topic": "t", "partition": 0, "consumer_group": "g"}', 'mistyped_field', /consumer_lag: expected a number, got "lots"/],
  ['kafka topic an object', '{"timestamp": "2024-01-15T10:30:00Z", "consumer_lag": 1, "topic": {"a": 1}, "partition": 0, "consumer_group": "g"}', 'missing_field', /topic: expected a string, got a JSON object/],
  ['kafka bad timestamp', '{"timestamp": "yesterday", "consumer_lag": 1, "topic": "t", "partition": 0, "consumer_group": "g"}', 'bad_timestamp', /timestamp: "yesterday" is not/],
  ['ml confidence above 1', '{"timestamp": "2024-01-15T10:30:00Z", "model_version": "v1", "confidence": 1.7}', 'mistyped_field', /confidence: 1.7 is outside 0..1/],
  ['ml without model_version', '{"timestamp": "2024-01-15T10:30:00Z", "prediction_id": "p", "confidence": 0.5}', 'missing_field', /model_version is missing/],
  ['airflow text bad time', '[yesterday] {x.py:1} INFO - hello', 'bad_timestamp', /time "yesterday"/],
  ['airflow count not a number', '[2024-01-15, 10:30:00 UTC] {x.py:1} INFO - records_processed=many', 'mistyped_field', /records_processed=many is not a number/],
  ['mapped log with a mistyped latency', '{"ts": 1705314600, "took": "slow"}', 'mistyped_field', /took: expected a number/],
  ['kafka lag 1e400 (issue #12)', '{"timestamp": "2024-01-15T10:30:00Z", "consumer_lag": 1e400, "topic": "t", "partition": 0, "consumer_group": "g"}', 'mistyped_field', /consumer_lag: 1e400 is out of range/],
  ['ml latency -1e400 in a string', '{"timestamp": "2024-01-15T10:30:00Z", "model_version": "v", "confidence": 0.5, "latency_ms": "-1e400"}', 'mistyped_field', /latency_ms: -1e400 is out of range/],
  ['mapped count beyond 1e15', '{"ts": 1705314600, "n": 2e15}', 'mistyped_field', /n: 2e15 is out of range/],
  ['airflow count 1e400', '[2024-01-15, 10:30:00 UTC] {x.py:1} INFO - records_processed=1e400', 'mistyped_field', /records_processed=1e400 is out of range/],
  ['python phrase beyond 1e15', '2024-01-15 10:30:00,000 - a - INFO - Records ingested: 99999999999999999999', 'mistyped_field', /the number is out of range/],
  ['python bad date', '2024-13-15 10:30:00,000 - a - INFO - x', 'bad_timestamp', /time "2024-13-15 10:30:00,000" is not a valid date/],
  ['python-like but not a stock layout', '2024-01-15 10:30:00,000 | a | INFO | x', 'unknown_format', /nor logfmt/],
  ['logfmt bad time', 'ts=yesterday level=info', 'bad_timestamp', /logfmt key ts: "yesterday"/],
  ['words with = but no time key', 'user=bob action=login', 'unknown_format', /nor logfmt/],
];

for (const [name, line, want, path] of GOOD) {
  test(`parses: ${name}`, () => {
    const { reason, detail, facts } = parse(line, path);
    assert.equal(reason, null, detail);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(facts[k as keyof LineFacts], v, `${name}: ${k}`);
  });
}

for (const [name, line, reason, detail] of BAD) {
  test(`skips with a reason: ${name}`, () => {
    const got = parse(line);
    assert.equal(got.reason, reason, got.detail);
    assert.match(got.detail, detail);
  });
}

test('key=value pairs in messages: word boundaries, quotes, separators', () => {
  const pairs: string[] = [];
  forEachKeyValue(`a=1, b="two words"; x.y=3 9z=no -c=4 d= e='q' f="open g=5`, (k, v) => pairs.push(`${k}:${v}`));
  assert.deepEqual(pairs, ['a:1', 'b:two words', 'x.y:3', 'c:4', "e:q", 'f:open', 'g:5']);
});

test('field mappings are checked: time required, known keys, a lowercase component', () => {
  assert.throws(() => parseFieldMapping({ level: 'lvl' }, 'm'), /m: time is required/);
  assert.throws(() => parseFieldMapping({ time: 't', colour: 'x' }, 'm'), /unknown key colour/);
  assert.throws(() => parseFieldMapping({ time: 't', component: 'Bad Name' }, 'm'), /component Bad Name/);
  assert.throws(() => parseFieldMapping({ time: 't', latency_unit: 'h' }, 'm'), /latency_unit must be ms or s/);
  assert.deepEqual(parseFieldMapping({ time: 't', group: 'a+b' }, 'm').group, ['a', 'b']);
});
