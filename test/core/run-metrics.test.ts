import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attributeRuns } from '../../src/core/analytics/run-metrics.js';
import type { SeriesSample } from '../../src/core/analytics/series.js';

const P = { pipeline_name: 'p', environment: 'dev' };
/** One push of a process: the samples run-pipeline sends at time ts. */
function push(ts: number, o: { start?: number; success: number; failed?: number; errors: number; quality?: number; duration?: number }, extra: Record<string, string> = {}): SeriesSample[] {
  const out: SeriesSample[] = [
    { metric: 'pipeline_runs_total', labels: { ...P, ...extra, status: 'success' }, ts, value: o.success },
    { metric: 'pipeline_runs_total', labels: { ...P, ...extra, status: 'failed' }, ts, value: o.failed ?? 0 },
    { metric: 'pipeline_errors_total', labels: { ...P, ...extra, stage: 'quality', error_type: 'null_required' }, ts, value: o.errors },
  ];
  if (o.start !== undefined) out.push({ metric: 'pipeline_last_run_start_timestamp_seconds', labels: { ...P, ...extra }, ts, value: o.start / 1000 });
  if (o.quality !== undefined) out.push({ metric: 'pipeline_data_quality_score', labels: { ...P, ...extra, check_type: 'overall' }, ts, value: o.quality });
  if (o.duration !== undefined) out.push({ metric: 'pipeline_last_run_duration_seconds', labels: { ...P, ...extra }, ts, value: o.duration });
  return out;
}

test('a long-running process whose second push was lost: the third run\'s counters are reported as combined, not given to it', () => {
  const s = [
    ...push(1000, { success: 0, errors: 0 }),
    ...push(61_000, { start: 60_000, success: 1, errors: 5, quality: 99, duration: 1 }),
    // the push after the run that started at 120 000 never arrived
    ...push(181_000, { start: 180_000, success: 3, errors: 17, quality: 97, duration: 2 }),
  ];
  assert.deepEqual(attributeRuns(s).map((r) => [r.startMs, r.status, r.errors, r.runsCovered, r.qualityScore, r.durationSeconds]), [
    [60_000, 'ok', 5, 1, 99, 1],
    [180_000, 'combined', null, 2, 97, 2],
  ]);
});

test('cron processes (each starting from 0) are attributed exactly; a scraped copy with job/instance is a second source of the same run', () => {
  const s = [
    ...push(1000, { success: 0, errors: 0 }),
    ...push(2000, { start: 1500, success: 1, errors: 4, quality: 98, duration: 0.4 }),
    ...push(3_601_000, { success: 0, errors: 0 }),
    ...push(3_602_000, { start: 3_601_500, success: 0, failed: 1, errors: 0 }),
    ...push(7_201_000, { success: 0, errors: 0 }),
    ...push(7_202_000, { start: 7_201_500, success: 1, errors: 9, quality: 96, duration: 0.5 }),
    // scraped mid-run and after it by a vmagent that kept job and instance
    ...push(7_201_700, { start: 7_201_500, success: 0, errors: 3 }, { job: 'j', instance: 'i' }),
    ...push(7_215_000, { start: 7_201_500, success: 1, errors: 9, quality: 96, duration: 0.5 }, { job: 'j', instance: 'i' }),
  ];
  assert.deepEqual(attributeRuns(s).map((r) => [r.startMs, r.status, r.errors]), [
    [1500, 'ok', 4],
    [3_601_500, 'ok', 0],
    [7_201_500, 'ok', 9],
    [7_201_500, 'no_baseline', null],
  ]);
});
