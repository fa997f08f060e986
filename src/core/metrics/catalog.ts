/**
 * The metric catalog: every metric pipeobs emits, defined once as data. The pipeline's
 * registry, the push serializers, the README's catalog table and (later) dashboards, alert
 * rules and `ask` all read it. Label values that are known in advance are listed, so every
 * counter series a run can produce can be created at 0 before the first exposition.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDef {
  name: string;
  type: MetricType;
  help: string;
  unit: string;
  labels: readonly string[];
  /** Upper bounds for histogram buckets, in the metric's unit. */
  buckets?: readonly number[];
  /** Which part of pipeobs emits it. */
  source: 'run-pipeline' | 'ask';
}

/** Stages of the ETL, in order. */
export const STAGES = ['extract', 'transform', 'quality', 'load'] as const;
export type Stage = (typeof STAGES)[number];

/** Data quality checks run by the quality stage; each is also an error_type and a check_type. */
export const QUALITY_CHECKS = ['null_required', 'out_of_range', 'duplicate_key', 'unknown_foreign_key', 'future_timestamp'] as const;
export type QualityCheck = (typeof QUALITY_CHECKS)[number];

/** Errors recorded outside the quality checks. */
export const TRANSFORM_ERRORS = ['type_conversion', 'exact_duplicate'] as const;
export type TransformError = (typeof TRANSFORM_ERRORS)[number];
/** A stage that threw: the run failed in that stage. */
export const STAGE_FAILURE = 'stage_failure';

export const RUN_STATUSES = ['success', 'failed', 'abandoned'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const DATA_SOURCES = ['orders', 'customers', 'products'] as const;
export type DataSource = (typeof DATA_SOURCES)[number];

/** Buckets from 1 ms to 10 minutes, dense enough that p50/p95/p99 of stages are meaningful. */
export const STAGE_DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600,
] as const;

const P = ['pipeline_name', 'environment'] as const;

export const CATALOG: readonly MetricDef[] = [
  {
    name: 'pipeline_rows_processed_total',
    type: 'counter',
    help: 'Rows that left a pipeline stage, by data source',
    unit: 'rows',
    labels: [...P, 'stage', 'data_source'],
    source: 'run-pipeline',
  },
  {
    name: 'pipeline_stage_duration_seconds',
    type: 'histogram',
    help: 'Wall time of one execution of a pipeline stage',
    unit: 'seconds',
    labels: [...P, 'stage'],
    buckets: STAGE_DURATION_BUCKETS,
    source: 'run-pipeline',
  },
  {
    name: 'pipeline_data_quality_score',
    type: 'gauge',
    help: 'Share of rows passing each quality check in the last run, 0-100; check_type="overall" is the mean over checks',
    unit: 'percent',
    labels: [...P, 'check_type'],
    source: 'run-pipeline',
  },
  {
    name: 'pipeline_data_freshness_seconds',
    type: 'gauge',
    help: 'Age of the newest record loaded by the last run: load time minus the newest record timestamp',
    unit: 'seconds',
    labels: [...P, 'data_source'],
    source: 'run-pipeline',
  },
  {
    name: 'pipeline_errors_total',
    type: 'counter',
    help: 'Rows or executions that failed, by stage and error type',
    unit: 'errors',
    labels: [...P, 'stage', 'error_type'],
    source: 'run-pipeline',
  },
  {
    name: 'pipeline_output_size_bytes',
    type: 'gauge',
    help: 'Size of the Parquet files written by the last run (dataset="orders" clean rows, "quarantine" failing rows)',
    unit: 'bytes',
    labels: [...P, 'dataset'],
    source: 'run-pipeline',
  },
  {
    name: 'pipeline_rows_quarantined_total',
    type: 'counter',
    help: 'Rows set aside in the quarantine Parquet file, by the first reason they failed',
    unit: 'rows',
    labels: [...P, 'reason'],
    source: 'run-pipeline',
  },
  {
    name: 'pipeline_runs_total',
    type: 'counter',
    help: 'Pipeline runs by final status (success, failed, abandoned)',
    unit: 'runs',
    labels: [...P, 'status'],
    source: 'run-pipeline',
  },
  {
    name: 'pipeline_last_success_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time at which the last successful run finished',
    unit: 'seconds',
    labels: [...P],
    source: 'run-pipeline',
  },
  {
    name: 'pipeline_last_run_duration_seconds',
    type: 'gauge',
    help: 'Wall time of the last run, all stages',
    unit: 'seconds',
    labels: [...P],
    source: 'run-pipeline',
  },
  {
    name: 'pipeline_last_run_rows',
    type: 'gauge',
    help: 'Rows the last run loaded to its output (clean rows)',
    unit: 'rows',
    labels: [...P],
    source: 'run-pipeline',
  },
  {
    name: 'pipeobs_llm_requests_total',
    type: 'counter',
    help: 'Chat-completion requests ask sent to the LLM, by model and outcome (ok, error)',
    unit: 'requests',
    labels: ['model', 'outcome'],
    source: 'ask',
  },
  {
    name: 'pipeobs_llm_tokens_total',
    type: 'counter',
    help: 'Tokens the LLM reported using, by model and type (prompt, completion)',
    unit: 'tokens',
    labels: ['model', 'type'],
    source: 'ask',
  },
  {
    name: 'pipeobs_llm_request_duration_seconds',
    type: 'histogram',
    help: 'Wall time of one chat-completion request, retries included',
    unit: 'seconds',
    labels: ['model'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120],
    source: 'ask',
  },
  {
    name: 'pipeobs_llm_errors_total',
    type: 'counter',
    help: 'Failed LLM requests by model and error type (auth, model_not_found, rate_limited, unreachable, server, other)',
    unit: 'errors',
    labels: ['model', 'error_type'],
    source: 'ask',
  },
  {
    name: 'pipeobs_ask_questions_total',
    type: 'counter',
    help: 'Questions ask answered, by mode (llm, offline) and outcome (answered, unanswered, failed)',
    unit: 'questions',
    labels: ['mode', 'outcome'],
    source: 'ask',
  },
];

export const LLM_ERROR_TYPES = ['auth', 'model_not_found', 'rate_limited', 'unreachable', 'server', 'other'] as const;
export type LlmErrorType = (typeof LLM_ERROR_TYPES)[number];

export const CATALOG_BY_NAME: ReadonlyMap<string, MetricDef> = new Map(CATALOG.map((m) => [m.name, m]));

export function metricDef(name: string): MetricDef {
  const def = CATALOG_BY_NAME.get(name);
  if (!def) throw new Error(`metric ${name} is not in the catalog`);
  return def;
}

/** Series names a metric produces in the Prometheus exposition format. */
export function seriesNames(def: MetricDef): string[] {
  if (def.type !== 'histogram') return [def.name];
  return [`${def.name}_bucket`, `${def.name}_sum`, `${def.name}_count`];
}

/** Every label combination of each counter that a pipeline run can produce (besides pipeline_name and environment). */
export function pipelineCounterSeries(): Record<string, Record<string, string>[]> {
  return {
    pipeline_rows_processed_total: STAGES.flatMap((stage) =>
      (stage === 'extract' ? DATA_SOURCES : (['orders'] as const)).map((data_source) => ({ stage, data_source })),
    ),
    pipeline_errors_total: [
      ...TRANSFORM_ERRORS.map((error_type) => ({ stage: 'transform', error_type })),
      ...QUALITY_CHECKS.map((error_type) => ({ stage: 'quality', error_type })),
      ...STAGES.map((stage) => ({ stage, error_type: STAGE_FAILURE })),
    ],
    pipeline_rows_quarantined_total: [...TRANSFORM_ERRORS, ...QUALITY_CHECKS].map((reason) => ({ reason })),
    pipeline_runs_total: RUN_STATUSES.map((status) => ({ status })),
  };
}
