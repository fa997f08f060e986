/**
 * What a pipeline run reports about itself, as calls on a recorder. The catalog-backed recorder
 * updates the prom-client registry; the null recorder does nothing (runs with metrics off,
 * which the benchmark uses to measure what the instrumentation costs).
 */
import type { CatalogRegistry } from '../metrics/registry.js';
import type { RunStatus, Stage } from '../metrics/catalog.js';

export interface PipelineRecorder {
  /** Set first, so every sample pushed or scraped from then on belongs to this run (see the business report). */
  runStarted(startedAtSeconds: number): void;
  stageDuration(stage: Stage, seconds: number): void;
  rowsProcessed(stage: Stage, dataSource: string, rows: number): void;
  errors(stage: Stage, errorType: string, count: number): void;
  qualityScore(checkType: string, score: number): void;
  freshness(dataSource: string, seconds: number): void;
  outputSize(dataset: string, bytes: number): void;
  quarantined(reason: string, rows: number): void;
  runFinished(status: RunStatus, durationSeconds: number, finishedAtSeconds: number, loadedRows: number): void;
}

export const nullRecorder: PipelineRecorder = {
  runStarted() {},
  stageDuration() {},
  rowsProcessed() {},
  errors() {},
  qualityScore() {},
  freshness() {},
  outputSize() {},
  quarantined() {},
  runFinished() {},
};

export function catalogRecorder(reg: CatalogRegistry, base: { pipeline_name: string; environment: string }): PipelineRecorder {
  return {
    runStarted: (at) => reg.gauge('pipeline_last_run_start_timestamp_seconds').set(base, at),
    stageDuration: (stage, s) => reg.histogram('pipeline_stage_duration_seconds').observe({ ...base, stage }, s),
    rowsProcessed: (stage, data_source, n) => reg.counter('pipeline_rows_processed_total').inc({ ...base, stage, data_source }, n),
    errors: (stage, error_type, n) => reg.counter('pipeline_errors_total').inc({ ...base, stage, error_type }, n),
    qualityScore: (check_type, score) => reg.gauge('pipeline_data_quality_score').set({ ...base, check_type }, score),
    freshness: (data_source, s) => reg.gauge('pipeline_data_freshness_seconds').set({ ...base, data_source }, s),
    outputSize: (dataset, bytes) => reg.gauge('pipeline_output_size_bytes').set({ ...base, dataset }, bytes),
    quarantined: (reason, n) => reg.counter('pipeline_rows_quarantined_total').inc({ ...base, reason }, n),
    runFinished: (status, duration, finishedAt, rows) => {
      reg.counter('pipeline_runs_total').inc({ ...base, status }, 1);
      reg.gauge('pipeline_last_run_duration_seconds').set(base, duration);
      if (status === 'success') {
        reg.gauge('pipeline_last_success_timestamp_seconds').set(base, finishedAt);
        reg.gauge('pipeline_last_run_rows').set(base, rows);
      }
    },
  };
}
