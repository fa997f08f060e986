import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metricNames, nearestNames } from '../../src/core/ask/promql.js';

test('metric names in PromQL: selectors, not functions, keywords, labels or durations', () => {
  const f = (q: string, names: string[]) => assert.deepEqual(metricNames(q).sort(), [...names].sort(), q);
  f('up', ['up']);
  f('pipeline_rows_processed_total{stage="load"}', ['pipeline_rows_processed_total']);
  f('sum by (stage, pipeline_name) (rate(pipeline_rows_processed_total[5m]))', ['pipeline_rows_processed_total']);
  f('histogram_quantile(0.95, sum by (le) (rate(pipeline_stage_duration_seconds_bucket{stage=~"load|quality"}[1h])))', ['pipeline_stage_duration_seconds_bucket']);
  f('a_total / ignoring (x) b_total', ['a_total', 'b_total']);
  f('x > bool 5 and on (job) y offset 1h', ['x', 'y']);
  f('{__name__="from_name", job="j"}', ['from_name']);
  f('count(up{instance="by (x)"}) without (job)', ['up']);
  f('time() - pipeline_last_success_timestamp_seconds', ['pipeline_last_success_timestamp_seconds']);
  f('1 + 2', []);
});

test('the nearest real names to an invented one', () => {
  const known = ['pipeline_rows_processed_total', 'pipeline_errors_total', 'pipeline_data_quality_score', 'pipeline_stage_duration_seconds_bucket'];
  assert.deepEqual(nearestNames('pipeline_rows_total', known, 2), ['pipeline_rows_processed_total', 'pipeline_errors_total']);
  assert.equal(nearestNames('data_quality', known, 1)[0], 'pipeline_data_quality_score');
  assert.equal(nearestNames('stage_latency_seconds', known, 1)[0], 'pipeline_stage_duration_seconds_bucket');
});
