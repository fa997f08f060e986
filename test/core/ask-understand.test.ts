/**
 * The offline engine's reading of questions, without a server: parts from words, label values
 * from a given Live, follow-ups, and the parts it must say it did not understand. The PromQL each
 * reading plans is checked too (the numbers are the job of test/commands/ask-questions.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { understand, type Live, type Parts } from '../../src/core/ask/understand.js';
import { planParts } from '../../src/core/ask/plan.js';
import { describe as describeParts } from '../../src/core/ask/offline.js';
import { extractWindow } from '../../src/core/ask/words.js';

const NOW = new Date('2026-11-21T10:30:00Z');
const LIVE: Live = {
  names: new Set(['pipeline_rows_processed_total', 'pipeline_runs_total', 'pipeline_errors_total', 'pipeline_data_quality_score', 'my_job_rows_total']),
  values: new Map<string, string[]>([
    ['pipeline_name', ['ecommerce_orders', 'billing']],
    ['environment', ['prod', 'staging']],
    ['stage', ['extract', 'transform', 'quality', 'load']],
    ['data_source', ['orders', 'customers', 'products']],
    ['status', ['success', 'failed', 'abandoned']],
    ['error_type', ['null_required', 'exact_duplicate', 'duplicate_key', 'stage_failure']],
    ['check_type', ['overall', 'null_required']],
    ['reason', ['null_required', 'exact_duplicate']],
    ['host', ['alpha', 'beta']],
  ]),
  labelsOf: new Map([['my_job_rows_total', ['host']]]),
};

const read = (question: string, previous: Parts | null = null) => understand({ question, now: NOW, live: LIVE, previous });
const promql = (p: Parts) => {
  const plan = planParts(p, NOW);
  assert.ok(!('problem' in plan), `${JSON.stringify(plan)}`);
  return plan.queries.map((q) => q.promql);
};

test('windows: counted back from now, or from midnight UTC', () => {
  assert.deepEqual(extractWindow('errors in the last 10 minutes', NOW).window, { seconds: 600, phrase: 'in the last 10 minutes', range: '10m' });
  assert.deepEqual(extractWindow('rows in the past 2h', NOW).window, { seconds: 7200, phrase: 'in the last 2 hours', range: '2h' });
  assert.deepEqual(extractWindow('runs today', NOW).window, { seconds: 37_800, phrase: 'today (since 00:00 UTC)', range: '630m' });
  assert.deepEqual(extractWindow('since yesterday', NOW).window?.seconds, 37_800 + 86_400);
  // Saturday 2026-11-21: the week began on Monday the 16th.
  assert.equal(extractWindow('failures this week', NOW).window?.seconds, 5 * 86_400 + 37_800);
});

test('what, how, which, by: customers extracted, per stage, in prod', () => {
  const p = read('how many customers were extracted in prod per pipeline');
  assert.equal(p.concept?.id, 'rows');
  assert.deepEqual(p.filters, [{ label: 'data_source', values: ['customers'] }, { label: 'stage', values: ['extract'] }, { label: 'environment', values: ['prod'] }]);
  assert.deepEqual(p.by, ['pipeline_name']);
  assert.deepEqual(promql(p), ['sum by (pipeline_name) (increase(pipeline_rows_processed_total{data_source="customers",stage="extract",environment="prod"}[1d]))']);
});

test('superlatives rank by the label they name, or the measure\'s own', () => {
  const slowest = read('which stage is the slowest in the last hour');
  assert.deepEqual([slowest.concept?.id, slowest.rank, slowest.by], ['stage_duration', 'top', ['stage']]);
  assert.deepEqual(promql(slowest), ['sort_desc(sum by (stage) (increase(pipeline_stage_duration_seconds_sum[1h])) / sum by (stage) (increase(pipeline_stage_duration_seconds_count[1h])))']);
  const worst = read('what is the worst quality check for billing');
  assert.deepEqual([worst.concept?.id, worst.rank, worst.by], ['quality', 'bottom', ['check_type']]);
  assert.deepEqual(promql(worst), ['sort(max by (pipeline_name, environment, check_type) (last_over_time(pipeline_data_quality_score{check_type!="overall",pipeline_name="billing"}[1d])))']);
});

test('percentiles, yes/no and thresholds', () => {
  const p = read('is the p95 of the load stage under 2 seconds for billing');
  assert.deepEqual([p.concept?.id, p.how, p.quantile, p.yesno, p.threshold?.op, p.threshold?.value], ['stage_duration', 'percentile', 0.95, true, '<', 2]);
  assert.deepEqual(promql(p), ['histogram_quantile(0.95, sum by (le, stage) (increase(pipeline_stage_duration_seconds_bucket{stage="load",pipeline_name="billing"}[1d])))']);
  const failed = read('did any run fail in the last hour?');
  assert.deepEqual([failed.concept?.id, failed.yesno, failed.filters], ['runs', true, [{ label: 'status', values: ['failed'] }]]);
});

test('typos are read as the nearest known word, and said so', () => {
  const p = read('how many errors for pipeline billng');
  assert.deepEqual(p.corrections, [['billng', 'billing']]);
  assert.deepEqual(p.filters, [{ label: 'pipeline_name', values: ['billing'] }]);
  // Four-letter words: only a missing or extra letter is a typo ("life" is not "line").
  assert.deepEqual(read('what is the meaning of life').corrections, []);
});

test('follow-ups keep the previous parts and change only what they name', () => {
  const first = read('p95 duration of the load stage for billing in the last 2 hours');
  const second = read('what about extract?', first);
  assert.equal(second.followUp, true);
  assert.deepEqual(second.filters, [{ label: 'pipeline_name', values: ['billing'] }, { label: 'stage', values: ['extract'] }]);
  assert.deepEqual([second.how, second.quantile, second.window?.range], ['percentile', 0.95, '2h']);
  const third = read('and in the last 10 minutes', second);
  assert.deepEqual([third.window?.range, third.filters.length, third.concept?.id], ['10m', 2, 'stage_duration']);
  const fourth = read('and the errors?', third);
  assert.deepEqual([fourth.concept?.id, fourth.window?.range, fourth.filters], ['errors', '10m', [{ label: 'pipeline_name', values: ['billing'] }, { label: 'stage', values: ['extract'] }]]);
});

test('what is not understood is kept word for word, with the nearest real values', () => {
  assert.deepEqual(read('how many unicorns were processed').unknown, ['unicorns']);
  assert.deepEqual(read('how many rows did the deploy stage process').unknownValues, [{ label: 'stage', value: 'deploy', nearest: ['load', 'quality', 'extract'] }]);
  const none = read('what is the meaning of life');
  assert.equal(none.concept, null);
  assert.deepEqual(none.unknown, ['meaning', 'life']);
  // Two measures in one question: the second is not silently dropped.
  assert.deepEqual(read('how many rows and errors were there').unknown, ['rows']);
});

test('a metric outside the catalog, grouped by its own label', () => {
  const p = read('what is my_job_rows_total by host in the last 30 minutes');
  assert.deepEqual([p.concept?.metric, p.by], ['my_job_rows_total', ['host']]);
  assert.deepEqual(promql(p), ['sum by (host) (increase(my_job_rows_total[30m]))']);
});

test('readings offered instead of an answer are questions the engine understands', () => {
  const refused = read('how many rows did the deploy stage process');
  for (const v of refused.unknownValues[0].nearest) {
    const reading = describeParts({ ...refused, filters: [{ label: 'stage', values: [v] }], unknownValues: [] });
    const again = read(reading);
    assert.deepEqual([again.concept?.id, again.unknown, again.unknownValues, again.filters.find((f) => f.label === 'stage')?.values], ['rows', [], [], [v]], reading);
  }
});
