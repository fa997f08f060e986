import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from '../helpers/cli.js';
import { elements, renderedDom } from '../helpers/browser.js';
import { runBatch } from '../../src/core/logs/batch.js';
import type { LogReport } from '../../src/core/logs/report.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const golden = path.join(root, 'test', 'golden');
const EXAMPLE = ['monitor-logs', 'examples/logs', '--now', '2026-11-21T12:00:00Z', '--hours', '12'];

async function run(args: string[], opts: Parameters<typeof runCli>[1] = {}) {
  return runCli(args, { cwd: root, ...opts });
}

/** Compares with the golden file; UPDATE_GOLDEN=1 writes it instead. */
function matchesGolden(name: string, actual: string) {
  const file = path.join(golden, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    assert.ok(process.env.UPDATE_GOLDEN === '1', `golden file ${name} is missing: run the tests with UPDATE_GOLDEN=1 once and review it`);
    writeFileSync(file, actual);
  }
  assert.equal(actual, readFileSync(file, 'utf8'), `output differs from test/golden/${name} (UPDATE_GOLDEN=1 rewrites it after review)`);
}

for (const [format, ext] of [['text', 'txt'], ['json', 'json'], ['csv', 'csv'], ['html', 'html']] as const) {
  test(`golden ${format} report over examples/logs`, async () => {
    const r = await run([...EXAMPLE, '-o', format]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    matchesGolden(`monitor-logs-examples.${ext}`, r.stdout);
  });
}

test('the examples give a report with every component, and the JSON is the documented schema', async () => {
  const r = await run([...EXAMPLE, '-o', 'json']);
  const doc = JSON.parse(r.stdout) as LogReport;
  assert.equal(doc.schema_version, 1);
  assert.deepEqual(Object.keys(doc), ['schema_version', 'generated_at', 'interrupted', 'window', 'low_confidence_threshold', 'inputs', 'summary', 'components', 'rows', 'skipped']);
  assert.deepEqual(doc.summary.active_components, ['airflow', 'kafka', 'ml', 'consumer', 'etl', 'inference']);
  assert.deepEqual(doc.window, { since: '2026-11-21T00:00:00.000Z', until: '2026-11-21T12:00:00.000Z', hours: 12 });
  // The rotated, gzipped Kafka file is read, and its lines are before the window.
  const gz = doc.inputs.find((i) => i.file.endsWith('consumer.log.1.gz'))!;
  assert.equal(gz.lines, 200);
  assert.deepEqual(doc.skipped.by_reason.map((b) => [b.reason, b.count]), [['outside_window', 200]]);
  // Airflow's task logs without dag_id in their lines are grouped by their path.
  const airflow = doc.components.find((c) => c.component === 'airflow')!;
  const load = airflow.groups.find((g) => g.group.dag_id === 'ecommerce_daily_etl' && g.group.task_id === 'load_warehouse')!;
  assert.ok(load.tasks.retry >= 1 && load.records >= 68_250);
  const kafka = doc.components.find((c) => c.component === 'kafka')!;
  assert.equal(kafka.lines, 600);
  assert.ok(kafka.lag!.max! > 40_000, 'the example lag grows');
  const ml = doc.components.find((c) => c.component === 'ml')!;
  assert.ok(ml.confidence!.low_pct! > 10);
});

test('the example logs with phrases (Airflow tasks, a Kafka consumer, an ML service, an ETL service) give their figures in the report', async () => {
  const doc = JSON.parse((await run([...EXAMPLE, '-o', 'json'])).stdout) as LogReport;
  // Computed apart from pipeobs: each phrase read with its own expression.
  type Acc = { lines: number; errors: number; records: number; failed: number; lat: number[] };
  const want = new Map<string, Acc>();
  const dir = path.join(root, 'examples', 'logs', 'python');
  for (const file of ['etl.log', 'consumer.log', 'inference.log']) {
    for (const line of readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean)) {
      const m = /^\S+ \S+ (?:- (\S+) - (\w+) - |(\w+) (\S+): )(.*)$/.exec(line)!;
      const logger = m[1] ?? m[4];
      const level = m[2] ?? m[3];
      const msg = m[5];
      const a = want.get(logger) ?? { lines: 0, errors: 0, records: 0, failed: 0, lat: [] };
      want.set(logger, a);
      a.lines++;
      if (level === 'ERROR') a.errors++;
      for (const r of [/Records ingested: (\d+)/, /Duplicates marked: (\d+)/, /Exported (\d+) rows/, /Processed (\d+) records/, /records=(\d+)/]) {
        const x = r.exec(msg);
        if (x) a.records += Number(x[1]);
      }
      const f = /Records failed: (\d+)/.exec(msg);
      if (f) a.failed += Number(f[1]);
      const l = /took ([\d.]+) ms|latency_ms=([\d.]+)/.exec(msg);
      if (l) a.lat.push(Number(l[1] ?? l[2]));
    }
  }
  assert.deepEqual([...want.keys()].sort(), ['consumer.orders', 'consumer.payments', 'etl.dedupe', 'etl.export', 'etl.ingest', 'inference.churn']);
  for (const [logger, a] of want) {
    const g = doc.components.find((c) => c.component === logger.split('.')[0])!.groups.find((x) => x.group.logger === logger)!;
    assert.deepEqual(
      [g.lines, g.errors, g.records, g.failed_records, g.latency_ms.count, g.latency_ms.min, g.latency_ms.max],
      [a.lines, a.errors, a.records, a.failed, a.lat.length, a.lat.length ? Math.min(...a.lat) : null, a.lat.length ? Math.max(...a.lat) : null],
      logger,
    );
  }
  // The Airflow DAG whose tasks say their numbers in phrases.
  const airflow = doc.components.find((c) => c.component === 'airflow')!;
  const task = (t: string) => airflow.groups.find((g) => g.group.dag_id === 'events_pipeline' && g.group.task_id === t)!;
  assert.deepEqual([task('ingest_events').records, task('dedupe_events').records, task('export_events').records], [5100, 37, 5063]);
  for (const t of ['ingest_events', 'dedupe_events', 'export_events']) assert.deepEqual(task(t).tasks, { success: 1, failed: 0, retry: 0 });
  assert.equal(task('ingest_events').latency_ms.max, 24_000, 'the task ran from 03:00:00 to 03:00:24');
});

test('--component takes a Python logger\'s component; a name no line has is warned about', async () => {
  const r = await run([...EXAMPLE, '--component', 'etl,nosuch', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as LogReport;
  assert.deepEqual(doc.summary.active_components, ['etl']);
  assert.equal(doc.summary.lines_used, 66);
  assert.match(r.stderr, /--component nosuch: no usable line of this component in the window/);
});

test('the HTML report renders in Chromium with the report\'s numbers in its charts', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'report.html');
  const r = await run([...EXAMPLE, '-o', 'html', '--out', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /wrote .*report\.html/);
  const json = JSON.parse((await run([...EXAMPLE, '-o', 'json'])).stdout) as LogReport;
  const html = readFileSync(file, 'utf8');
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|<img|@import|url\(|fetch\(|XMLHttpRequest/, 'the report loads nothing from the network');
  const dom = renderedDom(file);
  assert.match(dom, /<body[^>]*data-rendered="true"/, 'the page script ran to the end');
  for (const c of json.components) {
    const points = elements(dom, 'circle', 'point').filter((p) => p['data-component'] === c.component);
    assert.deepEqual(points.map((p) => [p['data-hour'], Number(p['data-value'])]), c.hours.map((h) => [h.hour, h.records]), `${c.component} records per hour`);
    const box = elements(dom, 'g', 'box').find((b) => b['data-component'] === c.component)!;
    assert.deepEqual([box['data-p50'], box['data-p95'], box['data-p99'], box['data-max']].map(Number), [c.latency_ms.p50, c.latency_ms.p95, c.latency_ms.p99, c.latency_ms.max]);
    const bars = elements(dom, 'rect', 'error-bar').filter((b) => b['data-component'] === c.component);
    assert.deepEqual(bars.map((b) => Number(b['data-value'])), c.hours.filter((h) => h.error_rate_pct !== null).map((h) => h.error_rate_pct));
    if (c.errors > 0) assert.ok(bars.some((b) => Number(b.height) > 0));
    const share = elements(dom, 'rect', 'share-bar').find((b) => b['data-component'] === c.component)!;
    assert.equal(Number(share['data-lines']), c.lines);
  }
  assert.match(dom, new RegExp(`id="card-total-records".*?${json.summary.total_records.toLocaleString('en-US')}`, 's'));
  assertChartsWhole(dom, json);
  // A window that starts and ends inside hours: those hours are marked partial, in the data and in both charts.
  const partialFile = path.join(dir, 'partial.html');
  const args = ['monitor-logs', 'examples/logs', '--since', '2026-11-21T00:30:00Z', '--until', '2026-11-21T11:15:00Z'];
  assert.equal((await run([...args, '-o', 'html', '--out', partialFile])).code, 0);
  const pj = JSON.parse((await run([...args, '-o', 'json'])).stdout) as LogReport;
  assert.deepEqual(pj.components[0].hours.filter((h) => h.partial).map((h) => h.hour), ['2026-11-21T00:00:00.000Z', '2026-11-21T11:00:00.000Z']);
  const pdom = renderedDom(partialFile);
  assertChartsWhole(pdom, pj);
  const hollow = elements(pdom, 'circle', 'partial');
  assert.equal(hollow.length, 2 * pj.components.length);
  assert.ok(hollow.every((p) => p.fill === '#fff' && p['data-partial'] === 'true'));
  assert.ok(elements(pdom, 'rect', 'partial').every((b) => b['data-partial'] === 'true' && b['fill-opacity'] === '0.4'));
  assert.match(pdom, /class="partial-note"/);
  assert.match(pdom, /21 Nov 00h\*<\/text>/, 'the partial first hour\'s label has its star');
});

/** What every page must show: no chart cut off, round ticks, hour labels and a legend on the error chart, per-component facts. */
function assertChartsWhole(dom: string, json: LogReport) {
  assert.match(dom, /<body[^>]*data-clipped-charts="0"/, `a chart is cut off: ${[...dom.matchAll(/data-clipped="([^"]*)"/g)].map((m) => m[1]).join(' | ')}`);
  // Each axis has five ticks, 0 to 4 steps of 1, 2, 2.5 or 5 times a power of ten.
  const ticks = elements(dom, 'text', 'tick').map((t) => Number(t['data-value']));
  assert.ok(ticks.length > 0 && ticks.length % 5 === 0);
  for (let a = 0; a < ticks.length; a += 5) {
    const step = ticks[a + 1];
    const mantissa = step / 10 ** Math.floor(Math.log10(step));
    assert.ok([1, 2, 2.5, 5].some((m) => Math.abs(mantissa - m) < 1e-9), `axis step ${step} is not round`);
    assert.deepEqual(ticks.slice(a, a + 5).map((v) => Math.round((v / step) * 1e9) / 1e9), [0, 1, 2, 3, 4]);
  }
  const errorBox = /id="chart-errors">.*?<\/svg>/s.exec(dom)![0];
  assert.ok(elements(errorBox, 'text', 'hour-label').length >= 2, 'the error-rate chart has hour labels');
  const errorLegend = /id="legend-errors">(.*?)<\/div>/s.exec(dom)![1];
  for (const c of json.components) assert.match(errorLegend, new RegExp(`data-component="${c.component}"`), `the error-rate legend names ${c.component}`);
  for (const c of json.components) {
    const facts = elements(dom, 'div', 'component-facts').find((f) => f['data-component'] === c.component)!;
    assert.equal(Number(facts['data-records-per-hour']), c.records_per_hour_avg);
    assert.equal(facts['data-latency-min'] === '' ? null : Number(facts['data-latency-min']), c.latency_ms.min);
  }
}

test('bad input never crashes: binary garbage, truncated and over-long lines, an empty file; --strict names the first', async () => {
  const dir = tempDir();
  const good = '{"timestamp": "2026-11-21T10:00:00Z", "consumer_lag": 5, "topic": "t", "partition": 0, "consumer_group": "g", "latency_ms": 2}';
  writeFileSync(path.join(dir, 'a-garbage.log'), Buffer.concat([Buffer.from([0, 1, 2, 255, 254, 10, 0x7b, 0x22, 10]), Buffer.from(`${good}\n`)]));
  writeFileSync(path.join(dir, 'b-truncated.log'), `${good}\n${good.slice(0, 60)}`);
  writeFileSync(path.join(dir, 'c-long.log'), `${good}\n{"x": "${'y'.repeat(10 << 20)}"}\n${good}\n`);
  writeFileSync(path.join(dir, 'd-empty.log'), '');
  writeFileSync(path.join(dir, 'e.log.gz'), gzipSync(`${good}\n`).subarray(0, 20));
  const args = ['monitor-logs', dir, '--now', '2026-11-21T12:00:00Z', '-o', 'json'];
  const r = await run(args);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as LogReport;
  assert.equal(doc.summary.lines_used, 4);
  const reasons = Object.fromEntries(doc.skipped.by_reason.map((b) => [b.reason, b]));
  assert.equal(reasons.unknown_format.count, 1);
  assert.deepEqual(reasons.unknown_format.examples[0].line, 1);
  assert.equal(reasons.malformed_json.count, 2);
  assert.deepEqual(reasons.malformed_json.examples.map((e) => `${path.basename(e.file)}:${e.line}`), ['a-garbage.log:2', 'b-truncated.log:2']);
  assert.deepEqual(reasons.too_long.examples.map((e) => `${path.basename(e.file)}:${e.line}`), ['c-long.log:2']);
  assert.match(reasons.too_long.examples[0].detail, /10485769 bytes/);
  const gz = doc.inputs.find((i) => i.file.endsWith('e.log.gz'))!;
  assert.match(gz.error!, /unexpected end of file/);
  assert.match(r.stderr, /warning: reading .*e\.log\.gz stopped after 0 lines/);
  const strict = await run([...args, '--strict']);
  assert.equal(strict.code, 5);
  assert.match(strict.stderr, /--strict: 4 line\(s\) skipped, the first at .*a-garbage\.log:1: unknown_format/);
  assert.equal(JSON.parse(strict.stdout).summary.lines_used, 4, 'the report is still printed in full');
});

test('a file that disappears before it is read is reported, and the others are counted', async () => {
  const dir = tempDir();
  const line = '{"timestamp": "2026-11-21T10:00:00Z", "model_version": "v1", "confidence": 0.9}\n';
  for (const n of ['1', '2', '3']) writeFileSync(path.join(dir, `p${n}.log`), line.repeat(1000));
  let removed = false;
  const result = await runBatch(
    { inputs: [dir], cwd: dir, mappings: [], window: { sinceMs: Date.UTC(2026, 10, 21), untilMs: Date.UTC(2026, 10, 22) }, components: null, maxGroups: 100, lowConfidence: 0.7, maxLineBytes: 4096 },
    process.stdin,
    new Date(),
    (p) => {
      if (!removed) rmSync(path.join(dir, 'p2.log'));
      removed = true;
      void p;
    },
  );
  const byFile = Object.fromEntries(result.report.inputs.map((i) => [i.file, i]));
  assert.match(byFile['p2.log'].error!, /ENOENT/);
  assert.equal(byFile['p1.log'].lines + byFile['p3.log'].lines, 2000);
  assert.equal(result.report.summary.lines_used, 2000);
});

test('stdin (gzip too), quoted globs, --component and --map with a mapping file', async () => {
  const gz = gzipSync(readFileSync(path.join(root, 'examples/logs/ml/predictions.log')));
  const fromStdin = JSON.parse((await run(['monitor-logs', '-', '--now', '2026-11-21T12:00:00Z', '-o', 'json'], { stdin: gz })).stdout) as LogReport;
  assert.equal(fromStdin.components[0].lines, 400);
  assert.equal(fromStdin.inputs[0].file, '(stdin)');
  const glob = JSON.parse((await run(['monitor-logs', 'examples/logs/**/*.log', '--now', '2026-11-21T12:00:00Z', '--component', 'kafka,ml', '-o', 'json'])).stdout) as LogReport;
  assert.deepEqual(glob.summary.active_components, ['kafka', 'ml']);
  assert.equal(glob.inputs.length, 12, 'the .gz file does not match *.log');
  assert.ok(glob.summary.other_component_lines > 200);
  const mapped = JSON.parse((await run(['monitor-logs', 'examples/mapped/payments.log', '--map-file', 'examples/mapped/payments-map.json', '--now', '2026-11-21T12:00:00Z', '-o', 'json'])).stdout) as LogReport;
  const payments = mapped.components[0];
  assert.equal(payments.component, 'payments');
  assert.deepEqual(payments.group_labels, ['service', 'region']);
  assert.equal(payments.lines, 300);
  const viaFlag = JSON.parse((await run(['monitor-logs', 'examples/mapped/payments.log', '--map', 'component=payments,time=ts,level=severity,latency=took_ms,count=items,group=service+region', '--now', '2026-11-21T12:00:00Z', '-o', 'json'])).stdout) as LogReport;
  assert.deepEqual(viaFlag.components, mapped.components);
});

test('usage and configuration errors say what was wrong', async () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['monitor-logs'], 2, /no logs to read/],
    [['monitor-logs', 'x', '--hours', '0'], 2, /--hours 0 is not valid: expected a number from 1 to 720/],
    [['monitor-logs', 'x', '--since', '2026-11-21', '--until', '2026-11-20'], 2, /--since 2026-11-21T00:00:00.000Z is not before --until/],
    [['monitor-logs', 'x', '--since', '2026-01-01', '--until', '2026-03-01'], 2, /longer than 30 days/],
    [['monitor-logs', 'x', '--component', 'Spark!'], 2, /--component Spark!: no such component/],
    [['monitor-logs', 'x', '--map', 'level=lvl'], 2, /--map #1: time is required/],
    [['monitor-logs', 'x', '--map', 'component=kafka,time=t'], 2, /built-in format's name/],
    [['monitor-logs', 'x', '--map-file', 'package.json'], 3, /package\.json: mapping #1: unknown key name/],
    [['monitor-logs', 'x', '--map-file', 'README.md'], 3, /README\.md is not JSON/],
    [['monitor-logs', 'nothing*.log'], 2, /none of the inputs names a readable log/],
    [['monitor-logs', 'no/such/dir', 'nothing*.log'], 2, /cannot read no\/such\/dir: no such file or directory/],
    [['monitor-logs', 'x', '-o', 'xml'], 2, /--output xml is not supported/],
  ];
  for (const [args, code, message] of cases) {
    const r = await run(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});

test('gen-logs writes the same lines for the same seed, in every format', async () => {
  const dir = tempDir();
  mkdirSync(path.join(dir, 'x'));
  const args = ['gen-logs', '--lines', '400', '--since', '2026-11-21T00:00:00Z', '--until', '2026-11-21T04:00:00Z', '--seed', '9'];
  const a = await run([...args, '--out', path.join(dir, 'x', 'a.log')]);
  const b = await run(args);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(readFileSync(path.join(dir, 'x', 'a.log'), 'utf8'), b.stdout);
  const report = JSON.parse((await run(['monitor-logs', path.join(dir, 'x'), '--now', '2026-11-21T04:00:00Z', '--strict', '-o', 'json'])).stdout) as LogReport;
  assert.equal(report.summary.lines_used, 400);
  assert.deepEqual(report.summary.active_components, ['airflow', 'kafka', 'ml']);
});

test('a big file read on two threads gives the same report as one thread, line numbers of skipped lines included', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'big.log');
  const gen = await run(['gen-logs', '--lines', '70000', '--since', '2026-11-21T00:00:00Z', '--until', '2026-11-21T23:59:59Z', '--seed', '8']);
  const lines = gen.stdout.split('\n');
  // Unusable lines in both halves, so both threads report some.
  for (const at of [10, 20_000, 52_000, 69_000]) lines[at] = `{"broken": ${at}`;
  writeFileSync(file, lines.join('\n'));
  assert.ok(readFileSync(file).length > 16 << 20, 'big enough to be read on threads');
  const args = ['monitor-logs', file, '--now', '2026-11-22T00:00:00Z', '-o', 'json'];
  const one = await run([...args, '--workers', '1']);
  const two = await run([...args, '--workers', '2']);
  assert.equal(two.code, 0, two.stderr);
  assert.equal(two.stdout, one.stdout);
  const doc = JSON.parse(two.stdout) as LogReport;
  assert.deepEqual(doc.skipped.by_reason[0].examples.map((e) => e.line), [11, 20_001, 52_001, 69_001]);
  assert.equal(doc.summary.lines_used, 70_000 - 4);
});

test('Ctrl-C stops the reading, not the report: what was read is reported, exit 130', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'big.log');
  writeFileSync(file, (await run(['gen-logs', '--lines', '70000', '--since', '2026-11-21T00:00:00Z', '--until', '2026-11-21T23:59:59Z', '--seed', '3'])).stdout);
  const window = { sinceMs: Date.UTC(2026, 10, 21), untilMs: Date.UTC(2026, 10, 22) };
  for (const workers of [1, 2]) {
    const stop = new AbortController();
    const result = await runBatch(
      { inputs: [file], cwd: dir, mappings: [], window, components: null, maxGroups: 100, lowConfidence: 0.7, maxLineBytes: 1 << 20, workers },
      process.stdin,
      new Date(window.untilMs),
      () => stop.abort(),
      stop.signal,
    );
    assert.equal(result.interrupted, true);
    assert.equal(result.report.interrupted, true);
    const used = result.report.summary.lines_used;
    assert.ok(used > 0 && used < 70_000, `${workers} thread(s): ${used} lines before the stop`);
    assert.equal(result.report.inputs[0].interrupted, true);
  }
  // From the command line: a signal at once gives an (empty) report, marked, and exit 130.
  const r = await run(['monitor-logs', file, '--now', '2026-11-22T00:00:00Z', '-o', 'json'], { onSignalRegistered: (fire) => fire('SIGINT') });
  assert.equal(r.code, 130);
  assert.match(r.stderr, /SIGINT: stopping; reporting the lines read so far/);
  assert.match(r.stderr, /interrupted: the report covers the [\d,]+ lines read before the signal/);
  assert.equal(JSON.parse(r.stdout).interrupted, true);
});

test('user formats from a YAML --format-file: regex with named groups and logfmt, every fact, figures computed apart', async () => {
  const dir = tempDir();
  const formats = `formats:
  - name: worker-phrases
    component: ingest
    regex: '^(?<time>\\S+) \\[(?<worker>[^\\]]+)\\] (?<level>[A-Z]+) (?<message>.*)$'
    group: [worker]
    fields:
      records: 'Records ingested: (?<value>\\d+)'
      latency_ms: 'took (?<value>[\\d.]+) ms'
      failed_records: 'failed=(?<value>\\d+)'
      outcome: 'outcome=(?<value>\\w+)'
  - name: payments-logfmt
    logfmt: true
    component: payments
    time: ts
    level: level
    group: [service]
    fields: {records: rows, latency_s: took_s, lag: lag, confidence: conf, throughput: mps}
`;
  writeFileSync(path.join(dir, 'formats.yaml'), formats);
  const start = Date.UTC(2026, 10, 21, 1);
  const lines: string[] = [];
  type Acc = { lines: number; errors: number; records: number; failed: number; lat: number[]; lag: Array<[number, number]>; conf: number[]; mps: number[]; success: number; failedTasks: number };
  const exp = new Map<string, Acc>();
  const acc = (k: string) => exp.get(k) ?? (exp.set(k, { lines: 0, errors: 0, records: 0, failed: 0, lat: [], lag: [], conf: [], mps: [], success: 0, failedTasks: 0 }), exp.get(k)!);
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < 3000; i++) {
    const t = start + i * 3000;
    const iso = new Date(t).toISOString();
    const err = rand() < 0.1;
    if (i % 2 === 0) {
      const worker = `w${i % 3}`;
      const a = acc(`ingest/${worker}`);
      const n = Math.floor(rand() * 9000);
      const ms = Math.round(rand() * 5000) / 10;
      a.lines++;
      a.errors += err ? 1 : 0;
      let msg = `Records ingested: ${n} took ${ms} ms`;
      a.records += n;
      a.lat.push(ms);
      if (i % 10 === 0) {
        msg += ` failed=${i % 7} outcome=${err ? 'FAILED' : 'success'}`;
        a.failed += i % 7;
        if (err) a.failedTasks++;
        else a.success++;
      }
      lines.push(`${iso} [${worker}] ${err ? 'ERROR' : 'INFO'} ${msg}`);
    } else {
      const service = i % 4 === 1 ? 'checkout' : 'refunds';
      const a = acc(`payments/${service}`);
      const rows = Math.floor(rand() * 500);
      const s = Math.round(rand() * 2000) / 1000;
      const lag = Math.floor(rand() * 100);
      const conf = Math.round(rand() * 1000) / 1000;
      const mps = Math.round(rand() * 10000) / 10;
      a.lines++;
      a.errors += err ? 1 : 0;
      a.records += rows;
      a.lat.push(s * 1000);
      a.lag.push([t, lag]);
      a.conf.push(conf);
      a.mps.push(mps);
      lines.push(`ts=${iso} level=${err ? 'error' : 'info'} service=${service} rows=${rows} took_s=${s} lag=${lag} conf=${conf} mps=${mps} msg="charged"`);
    }
  }
  lines.push(`ts=${new Date(start).toISOString()} level=info service=checkout rows=1e400`);
  writeFileSync(path.join(dir, 'mixed.log'), lines.join('\n') + '\n');
  const r = await run(['monitor-logs', path.join(dir, 'mixed.log'), '--format-file', path.join(dir, 'formats.yaml'), '--now', '2026-11-21T12:00:00Z', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as LogReport;
  assert.equal(doc.summary.lines_used, 3000);
  assert.deepEqual(doc.skipped.by_reason.map((b) => [b.reason, b.count]), [['mistyped_field', 1]]);
  assert.match(doc.skipped.by_reason[0].examples[0].detail, /format payments-logfmt: records 1e400 is out of range/);
  assert.deepEqual(doc.summary.active_components, ['ingest', 'payments']);
  const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
  const r3 = (v: number) => Math.round(v * 1000) / 1000;
  for (const [key, a] of exp) {
    const [component, label] = key.split('/');
    const c = doc.components.find((x) => x.component === component)!;
    assert.deepEqual(c.group_labels, [component === 'ingest' ? 'worker' : 'service']);
    const g = c.groups.find((x) => Object.values(x.group)[0] === label)!;
    assert.equal(g.lines, a.lines, key);
    assert.equal(g.errors, a.errors, key);
    assert.equal(g.records, a.records, key);
    assert.equal(g.failed_records, a.failed, key);
    assert.deepEqual(g.tasks, { success: a.success, failed: a.failedTasks, retry: 0 }, key);
    assert.equal(g.latency_ms.count, a.lat.length, key);
    assert.equal(g.latency_ms.max, r3(Math.max(...a.lat)), key);
    assert.equal(g.latency_ms.mean, r3(mean(a.lat)), key);
    if (component === 'payments') {
      assert.deepEqual(g.lag, { last: a.lag.at(-1)![1], max: Math.max(...a.lag.map((x) => x[1])), avg: r3(mean(a.lag.map((x) => x[1]))) }, key);
      assert.equal(g.confidence!.count, a.conf.length, key);
      assert.equal(g.confidence!.mean, Math.round(mean(a.conf) * 1e4) / 1e4, key);
      assert.deepEqual(g.throughput_mps, { avg: r3(mean(a.mps)), max: Math.max(...a.mps) }, key);
    } else assert.equal(g.lag, null);
  }
  // The same file as JSON is the same formats.
  const asJson = JSON.stringify({ formats: (await import('yaml')).parse(formats).formats });
  writeFileSync(path.join(dir, 'formats.json'), asJson);
  const again = await run(['monitor-logs', path.join(dir, 'mixed.log'), '--format-file', path.join(dir, 'formats.json'), '--now', '2026-11-21T12:00:00Z', '-o', 'json']);
  assert.deepEqual((JSON.parse(again.stdout) as LogReport).components, doc.components);
});

test('a bad --format-file is a configuration error naming the format and the key', async () => {
  const dir = tempDir();
  const cases: Array<[string, RegExp]> = [
    [`formats: [{name: a, component: x, regex: '(?<time>\\S+) (', fields: {}}]`, /format a: regex: not a valid regular expression/],
    [`formats: [{name: a, component: x, regex: '(?<ts>\\S+)'}]`, /format a: time: the regex has no named group time \(it has ts\)/],
    [`formats: [{name: a, component: x, regex: '(?<time>\\S+)', fields: {rows: 'x'}}]`, /format a: fields\.rows: unknown fact \(expected records, failed_records/],
    [`formats: [{name: a, component: x, regex: '(?<time>\\S+)', fields: {records: 'n=(\\d+)'}}]`, /format a: fields\.records: the regex has no \(\?<value>…\) group/],
    [`formats: [{name: a, component: kafka, logfmt: true}]`, /format a: component: kafka is the name of a built-in format/],
    [`formats: [{component: x, logfmt: true}]`, /format #1: name: missing/],
    [`formats: [{name: a, component: x, logfmt: true, regex: '(?<time>.)'}]`, /format a: regex: give either regex \(with named groups\) or logfmt: true/],
    [`formats: [{name: a, component: x, logfmt: true, colour: red}]`, /format a: colour: unknown key/],
    [`formats: [{name: a, component: x, logfmt: true, group: [{a: 1}]}]`, /format a: group: expected a list of key names/],
    [`formats: {name: a}`, /expected "formats:" with a list of at least one format/],
    [`formats: [{name: a, component: x, logfmt: true}`, /is not YAML or JSON/],
  ];
  for (const [text, message] of cases) {
    writeFileSync(path.join(dir, 'f.yaml'), text);
    const r = await run(['monitor-logs', 'examples/logs', '--format-file', path.join(dir, 'f.yaml')]);
    assert.equal(r.code, 3, `${text}: ${r.stderr}`);
    assert.match(r.stderr, message, text);
    assert.match(r.stderr, /f\.yaml/, text);
  }
});
