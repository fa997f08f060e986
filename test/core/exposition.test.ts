import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeInfluxKey, escapePromLabelValue, splitMetricName, toInfluxLines, toPrometheusText } from '../../src/core/metrics/exposition.js';
import { parsePoint, timeBounds } from '../../src/core/influx/line-protocol.js';
import { CATALOG, seriesNames } from '../../src/core/metrics/catalog.js';

test('Prometheus label values escape backslash, quote and newline, and keep everything else', () => {
  const f = (input: string, expected: string) => assert.equal(escapePromLabelValue(input), expected);
  f('plain', 'plain');
  f('a"b', 'a\\"b');
  f('a\\b', 'a\\\\b');
  f('a\nb', 'a\\nb');
  f('sp ace,comma=eq', 'sp ace,comma=eq');
  f('Zürich 🚀', 'Zürich 🚀');
});

test('Prometheus text carries an explicit timestamp on every sample and leaves out empty labels', () => {
  const text = toPrometheusText([
    { name: 'm_total', labels: { a: 'x"y', b: '' }, value: 3 },
    { name: 'h_bucket', labels: { le: '+Inf' }, value: 2 },
    { name: 'g', labels: {}, value: Number.NaN },
  ], 1795348800123.4);
  assert.equal(text, 'm_total{a="x\\"y"} 3 1795348800123\nh_bucket{le="+Inf"} 2 1795348800123\ng NaN 1795348800123\n');
  assert.throws(() => toPrometheusText([{ name: 'bad-name', labels: {}, value: 1 }], 0), /invalid metric name/);
});

test('line protocol keys escape space, comma, equals and backslash; a line break is refused', () => {
  assert.equal(escapeInfluxKey('a b,c=d\\e'), 'a\\ b\\,c\\=d\\\\e');
  assert.throws(() => escapeInfluxKey('a\nb'), /line break/);
});

test('a metric name splits at its last underscore so VictoriaMetrics rebuilds it from measurement_field', () => {
  assert.deepEqual(splitMetricName('pipeline_data_quality_score'), { measurement: 'pipeline_data_quality', field: 'score' });
  assert.deepEqual(splitMetricName('pipeline_stage_duration_seconds_bucket'), { measurement: 'pipeline_stage_duration_seconds', field: 'bucket' });
  assert.throws(() => splitMetricName('nounderscore'), /no inner underscore/);
  for (const def of CATALOG) for (const name of seriesNames(def)) assert.doesNotThrow(() => splitMetricName(name), name);
});

test('samples sharing measurement and tags share one line, and parse back to the same values', () => {
  const text = toInfluxLines([
    { name: 'd_seconds_sum', labels: { stage: 'load', p: 'a b' }, value: 1.5 },
    { name: 'd_seconds_count', labels: { p: 'a b', stage: 'load' }, value: 3 },
    { name: 'd_seconds_bucket', labels: { stage: 'load', p: 'a b', le: '0.5' }, value: 1 },
    { name: 'skip_me', labels: {}, value: Number.POSITIVE_INFINITY },
  ], 1795348800000);
  assert.equal(text, 'd_seconds,p=a\\ b,stage=load sum=1.5,count=3 1795348800000\nd_seconds,le=0.5,p=a\\ b,stage=load bucket=1 1795348800000\n');
  const bounds = timeBounds('ms', 1795348800000, 1e12);
  const points = text.trim().split('\n').map((l) => parsePoint(l, bounds));
  assert.deepEqual(points[0]?.fields, [['sum', 1.5], ['count', 3]]);
  assert.deepEqual(points[1]?.tags, [['le', '0.5'], ['p', 'a b'], ['stage', 'load']]);
});
