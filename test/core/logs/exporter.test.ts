/**
 * /metrics for the formats read without configuration and the user's own: their components
 * appear in the per-component series as the built-ins' do, with exact values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogReader } from '../../../src/core/logs/reader.js';
import { createLogRegistry } from '../../../src/core/logs/exporter.js';

test('Python, logfmt and user-format components are exported per component', async () => {
  const reader = new LogReader({
    mappings: [], components: null, maxGroups: 10, lowConfidence: 0.7, maxLineBytes: 1 << 16, totals: true,
    window: { sinceMs: -Infinity, untilMs: Infinity },
    formats: [{ name: 'pipes', component: 'pipes', regex: '^(?<time>\\S+) (?<level>\\w+) pipe=(?<pipe>\\w+) n=(?<n>\\d+)$', time: 'time', level: 'level', message: null, group: ['pipe'], fields: [{ fact: 'records', from: 'n', regex: null }] }],
  });
  const text = [
    '2026-11-21 10:00:00,001 - ingest.worker - INFO - Records ingested: 5100',
    '2026-11-21 10:00:01,001 - ingest.worker - ERROR - Exported 12 rows took 250 ms',
    '2026-11-21 10:00:02,001 INFO root: hello',
    'ts=2026-11-21T10:00:03Z level=info service=billing rows=7',
    '2026-11-21T10:00:04Z INFO pipe=a n=30',
    '2026-11-21T10:00:05Z ERROR pipe=b n=12',
  ].join('\n') + '\n';
  await reader.readStream((async function* () { yield Buffer.from(text); })(), 'x.log');
  const metrics = await createLogRegistry({ reader, filesFollowed: () => 1 }).metrics();
  const value = (series: string) => {
    const line = metrics.split('\n').find((l) => l.startsWith(series + ' '));
    assert.ok(line, `${series} in:\n${metrics}`);
    return Number(line.slice(series.length + 1));
  };
  assert.equal(value('pipeobs_logs_records_total{component="ingest"}'), 5112);
  assert.equal(value('pipeobs_logs_error_lines_total{component="ingest"}'), 1);
  assert.equal(value('pipeobs_logs_lines_total{component="python"}'), 1);
  assert.equal(value('pipeobs_logs_records_total{component="billing"}'), 7);
  assert.equal(value('pipeobs_logs_records_total{component="pipes"}'), 42);
  assert.equal(value('pipeobs_logs_error_lines_total{component="pipes"}'), 1);
  assert.equal(value('pipeobs_logs_latency_seconds_count{component="ingest"}'), 1);
  assert.equal(value('pipeobs_logs_latency_seconds_sum{component="ingest"}'), 0.25);
});

test('the format table and the catalog agree: every built-in metric is in the catalog with the format\'s group labels', async () => {
  const { BUILTIN_FORMATS } = await import('../../../src/core/logs/format-table.js');
  const { CATALOG, metricDef } = await import('../../../src/core/metrics/catalog.js');
  const declared = new Set<string>();
  for (const f of BUILTIN_FORMATS) {
    for (const m of f.metrics) {
      declared.add(m.name);
      const def = metricDef(m.name);
      assert.deepEqual(def.labels.filter((l) => l !== 'outcome'), [...f.groupLabels], m.name);
      assert.equal(def.type, m.kind === 'latency' || m.kind === 'confidence' ? 'histogram' : def.type, m.name);
    }
  }
  // Every component-specific catalog metric of monitor-logs comes from the table.
  const specific = CATALOG.filter((m) => m.source === 'monitor-logs' && !m.name.startsWith('pipeobs_logs_')).map((m) => m.name);
  assert.deepEqual(specific.filter((n) => !declared.has(n)), []);
});
