/**
 * Python's logging, written by real Python with its stock formatter layouts, read by both
 * scanners: every figure checked against what the test told Python to log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LogReader } from '../../../src/core/logs/reader.js';
import { buildReport } from '../../../src/core/logs/report.js';
import { rng } from '../../../src/core/logs/generate.js';

const PYTHON = `
import json, logging, sys
spec = json.load(sys.stdin)
for fmt, file in spec["files"]:
    handler = logging.FileHandler(file)
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)
    for name, level, message in spec["lines"]:
        logging.getLogger(name if name != "root" else None).log(getattr(logging, level), message)
    handler.close()
`;

const LAYOUTS = ['%(asctime)s - %(name)s - %(levelname)s - %(message)s', '%(asctime)s %(levelname)s %(name)s: %(message)s'];
const LOGGERS = ['ingest.worker', 'ingest.reader', 'export', 'root', 'kafka.consumer.fetcher', 'Weird-Name.x'];
const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];

interface Expect { component: string; lines: number; errors: number; records: number; failed: number; latencies: number[] }

function python(): string {
  const r = spawnSync('python3', ['--version']);
  assert.equal(r.status, 0, 'python3 is needed for this test: install it (apt-get install python3)');
  return 'python3';
}

test('lines written by Python logging in both stock layouts give exact figures, native or not', async () => {
  const rand = rng(14);
  const lines: Array<[string, string, string]> = [];
  const expected = new Map<string, Expect>();
  const componentOf = (logger: string) => (logger === 'root' || logger === 'kafka.consumer.fetcher' ? 'python' : logger.split('.')[0].toLowerCase());
  for (let i = 0; i < 3000; i++) {
    const logger = LOGGERS[Math.floor(rand() * LOGGERS.length)];
    const level = LEVELS[Math.floor(rand() * LEVELS.length)];
    const n = Math.floor(rand() * 100_000);
    const ms = Math.round(rand() * 10_000) / 10;
    const e = expected.get(logger) ?? { component: componentOf(logger), lines: 0, errors: 0, records: 0, failed: 0, latencies: [] };
    expected.set(logger, e);
    e.lines++;
    if (level === 'ERROR' || level === 'CRITICAL') e.errors++;
    const kind = i % 6;
    let message: string;
    if (kind === 0) {
      message = `Records ingested: ${n}`;
      e.records += n;
    } else if (kind === 1) {
      message = `Exported ${n} rows to warehouse, took ${ms} ms`;
      e.records += n;
      e.latencies.push(ms);
    } else if (kind === 2) {
      message = `Duplicates marked: ${n}`;
      e.records += n;
    } else if (kind === 3) {
      message = `batch done records_processed=${n} records_failed=${n % 7} duration=${ms}`;
      e.records += n;
      e.failed += n % 7;
      e.latencies.push(ms * 1000);
    } else if (kind === 4) {
      message = `Retrying in ${n} s after a timeout: café ☕`;
    } else {
      message = `Records failed: ${n % 11}. Processed ${n} records in batch #${i}`;
      e.failed += n % 11;
      e.records += n;
    }
    lines.push([logger, level, message]);
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'pipeobs-python-'));
  try {
    const files = LAYOUTS.map((fmt, i) => [fmt, path.join(dir, `app${i}.log`)]);
    const r = spawnSync(python(), ['-c', PYTHON], { input: JSON.stringify({ files, lines }), env: { ...process.env, TZ: 'UTC' }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const now = Date.now();
    const window = { sinceMs: now - 3_600_000, untilMs: now + 3_600_000 };
    const reports = [];
    for (const nativeOn of [true, false]) {
      const reader = new LogReader({ mappings: [], window, components: null, maxGroups: 100, lowConfidence: 0.7, maxLineBytes: 1 << 20, native: nativeOn });
      const inputs = [];
      for (const [, file] of files) inputs.push(await reader.readStream(createReadStream(file), path.basename(file)));
      reports.push(buildReport(reader, inputs, window, new Date(now)));
    }
    const report = reports[0];
    assert.deepEqual(report, reports[1], 'the native scanner and the TypeScript parser give the same report');
    assert.equal(report.summary.lines_read, 6000);
    assert.equal(report.summary.lines_used, 6000, JSON.stringify(report.skipped));
    for (const [logger, e] of expected) {
      const comp = report.components.find((c) => c.component === e.component);
      assert.ok(comp, `component ${e.component} of ${logger}`);
      assert.deepEqual(comp.group_labels, ['logger']);
      const g = comp.groups.find((x) => x.group.logger === logger);
      assert.ok(g, `group ${logger}`);
      assert.equal(g.lines, 2 * e.lines, logger);
      assert.equal(g.errors, 2 * e.errors, logger);
      assert.equal(g.records, 2 * e.records, logger);
      assert.equal(g.failed_records, 2 * e.failed, logger);
      assert.equal(g.latency_ms.count, 2 * e.latencies.length, logger);
      if (e.latencies.length) assert.equal(g.latency_ms.max, Math.max(...e.latencies), logger);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
