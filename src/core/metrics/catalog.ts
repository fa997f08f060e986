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
  source: 'run-pipeline' | 'ask' | 'monitor-logs';
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

/** Buckets of monitor-logs' latency histograms: 1 ms to an hour (Kafka messages to Airflow tasks). */
export const LOG_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600] as const;
export const LOG_CONFIDENCE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1] as const;
const AIRFLOW = ['dag_id', 'task_id'] as const;
const KAFKA = ['topic', 'partition', 'consumer_group'] as const;
const ML = ['service', 'model_version'] as const;
/** Airflow task outcomes as monitor-logs exports them. */
export const TASK_OUTCOMES = ['success', 'failed', 'up_for_retry'] as const;

function logMetric(name: string, type: MetricType, help: string, unit: string, labels: readonly string[], buckets?: readonly number[]): MetricDef {
  return { name, type, help, unit, labels, ...(buckets ? { buckets } : {}), source: 'monitor-logs' };
}

/** What monitor-logs --server exports, per component and group (groups beyond --max-groups are "other"). */
const LOG_METRICS: readonly MetricDef[] = [
  logMetric('pipeobs_logs_lines_total', 'counter', 'Usable log lines read, by component (airflow, kafka, ml, a Python logger\'s or logfmt component, a --map or --format-file component)', 'lines', ['component']),
  logMetric('pipeobs_logs_error_lines_total', 'counter', 'Log lines at ERROR, CRITICAL or FATAL level, by component', 'lines', ['component']),
  logMetric('pipeobs_logs_records_total', 'counter', 'Records the logs account for (Airflow records_processed and phrases such as "Records ingested: N", Kafka messages, ML predictions, a mapped or --format-file count), by component', 'records', ['component']),
  logMetric('pipeobs_logs_skipped_lines_total', 'counter', 'Log lines that could not be used, by reason (malformed_json, unknown_format, missing_field, mistyped_field, bad_timestamp, too_long)', 'lines', ['reason']),
  logMetric('pipeobs_logs_last_line_timestamp_seconds', 'gauge', 'Time written in the newest log line read, by component: time() minus it is how stale the logs are', 'seconds', ['component']),
  logMetric('pipeobs_logs_latency_seconds', 'histogram', 'Durations the logs report (Airflow task and batch durations, Kafka message latency, ML prediction latency), by component', 'seconds', ['component'], LOG_LATENCY_BUCKETS),
  logMetric('pipeobs_logs_overflow_groups_total', 'counter', 'Distinct groups counted in the "other" group because the component reached --max-groups', 'groups', ['component']),
  logMetric('pipeobs_logs_files_followed', 'gauge', 'Log files monitor-logs --server is following', 'files', []),
  logMetric('pipeobs_airflow_task_lines_total', 'counter', 'Airflow log lines by DAG and task', 'lines', AIRFLOW),
  logMetric('pipeobs_airflow_task_error_lines_total', 'counter', 'Airflow log lines at ERROR level or above, by DAG and task', 'lines', AIRFLOW),
  logMetric('pipeobs_airflow_records_processed_total', 'counter', 'Records Airflow tasks reported processing (records_processed=, rows_processed=, or phrases: "Records ingested: N", "Exported N rows", "Duplicates marked: N")', 'records', AIRFLOW),
  logMetric('pipeobs_airflow_task_runs_total', 'counter', 'Airflow task attempts ended, by outcome (success, failed, up_for_retry)', 'runs', [...AIRFLOW, 'outcome']),
  logMetric('pipeobs_airflow_task_duration_seconds', 'histogram', 'Durations Airflow tasks and batches reported (duration=, or end_date minus start_date)', 'seconds', AIRFLOW, LOG_LATENCY_BUCKETS),
  logMetric('pipeobs_kafka_messages_total', 'counter', 'Messages Kafka consumers logged (batch_size when given, else one per line)', 'messages', KAFKA),
  logMetric('pipeobs_kafka_error_lines_total', 'counter', 'Kafka consumer log lines at ERROR level or above', 'lines', KAFKA),
  logMetric('pipeobs_kafka_consumer_lag', 'gauge', 'Consumer lag in the newest log line of each topic, partition and consumer group', 'messages', KAFKA),
  logMetric('pipeobs_kafka_messages_per_second', 'gauge', 'Throughput the newest Kafka consumer log line reported', 'messages/s', KAFKA),
  logMetric('pipeobs_kafka_message_latency_seconds', 'histogram', 'Message processing latency Kafka consumers logged (latency_ms)', 'seconds', KAFKA, LOG_LATENCY_BUCKETS),
  logMetric('pipeobs_ml_predictions_total', 'counter', 'Predictions ML services logged, by service and model version', 'predictions', ML),
  logMetric('pipeobs_ml_error_lines_total', 'counter', 'ML service log lines at ERROR level or above', 'lines', ML),
  logMetric('pipeobs_ml_low_confidence_predictions_total', 'counter', 'Predictions with confidence under --low-confidence', 'predictions', ML),
  logMetric('pipeobs_ml_prediction_latency_seconds', 'histogram', 'Prediction latency ML services logged (latency_ms)', 'seconds', ML, LOG_LATENCY_BUCKETS),
  logMetric('pipeobs_ml_confidence', 'histogram', 'Model confidence of predictions, 0-1', 'ratio', ML, LOG_CONFIDENCE_BUCKETS),
];

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
    name: 'pipeline_schema_changes_total',
    type: 'counter',
    help: 'Columns added, dropped or retyped since the previous `pipeobs check` of the dataset, by change type',
    unit: 'changes',
    labels: [...P, 'data_source', 'change_type'],
    source: 'run-pipeline', // the pipeline_* family; emitted by check
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
  ...LOG_METRICS,
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
