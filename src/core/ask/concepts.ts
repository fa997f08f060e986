/**
 * What a question can measure: one concept per catalog metric, named with the words of its help
 * text, unit and name, plus the everyday words people use for the common ones ("quarantined rows",
 * "duplicates", "customers", "runs", "lag", "confidence"). Label names get the nouns people use
 * for them ("stage", "check", "topic"), and label values the words that name them ("in
 * production", "failed", "nulls"). Everything here is data read from the catalog; the engine
 * (understand.ts, plan.ts) does not know any metric by heart.
 */
import { CATALOG, type MetricDef } from '../metrics/catalog.js';
import { GLUE, stem, tokens } from './words.js';

export type Kind = 'counter' | 'gauge' | 'histogram' | 'timestamp' | 'freshness' | 'log_error_rate';

export interface Concept {
  id: string;
  /** The catalog (or server) metric; for histograms the base name without _bucket/_sum/_count. */
  metric: string;
  kind: Kind;
  unit: string;
  /** What the numbers are, in the answer: "rows processed". */
  noun: string;
  /** Phrases that name it; longer phrases weigh more. */
  phrases: string[];
  /** Weaker words (from help text and metric name) that only count when nothing names it better. */
  weak: string[];
  /** Filters the concept implies unless the question names another value of the same label. */
  defaults?: Record<string, string>;
  /** Filters always applied. */
  fixed?: Record<string, string>;
  labels: readonly string[];
  /** The label a superlative ranks by when the question names none: "the slowest" → stage. */
  rankBy?: string[];
  /** Labels the answer lists per series when no grouping is asked (gauges name their pipeline). */
  identity?: string[];
  higherIsBetter?: boolean;
  /** Values of a label never shown as a group ("overall" among the checks). */
  hideInGroups?: Record<string, string>;
  catalog: boolean;
}

const PE = ['pipeline_name', 'environment'];

/** Everyday words for the catalog's metrics. Anything not listed is still reachable through its name and help text. */
const CURATED: (Omit<Concept, 'weak' | 'labels' | 'catalog' | 'unit'> & { unit?: string })[] = [
  { id: 'rows', metric: 'pipeline_rows_processed_total', kind: 'counter', noun: 'rows processed', phrases: ['~row', 'rows processed', '~record', 'records processed', '~order', '~volume', '~processed', '~customer', '~product', '~extracted', '~loaded', '~transformed', '~ingested', '~read', '~pulled', '~throughput', 'row throughput', 'rows per second', 'row made it through', 'row got through', 'row passed'], defaults: { stage: 'load', data_source: 'orders' }, rankBy: ['pipeline_name'], identity: ['pipeline_name', 'environment'] },
  { id: 'quarantined', metric: 'pipeline_rows_quarantined_total', kind: 'counter', noun: 'rows quarantined', phrases: ['quarantined', 'quarantined rows', 'row quarantined', 'quarantine', 'rejected', 'rejected rows', 'bad rows'], rankBy: ['reason'], identity: ['pipeline_name', 'environment'] },
  { id: 'errors', metric: 'pipeline_errors_total', kind: 'counter', noun: 'errors', phrases: ['error', 'errors recorded', 'problem row', 'duplicate', 'duplicate record', 'failed row', 'dupe', 'stage failure', 'stage crash', '~null', '~missing value', '~out of range', '~future timestamp', '~foreign_key', '~type conversion', '~unparseable'], rankBy: ['error_type'], identity: ['pipeline_name', 'environment'] },
  { id: 'check_failures', metric: 'pipeline_errors_total', kind: 'counter', noun: 'rows failing quality checks', unit: 'rows', phrases: ['check fail', 'failing check', 'check failure', 'failed check', 'quality failure', 'quality issue', 'rule fail', 'check fails'], fixed: { stage: 'quality' }, rankBy: ['error_type'], identity: ['pipeline_name', 'environment'] },
  { id: 'quality', metric: 'pipeline_data_quality_score', kind: 'gauge', noun: 'quality score', phrases: ['quality', 'quality score', 'data quality', 'dq', 'score', 'dq score', 'check score'], defaults: { check_type: 'overall' }, rankBy: ['pipeline_name', 'environment'], identity: ['pipeline_name', 'environment'], higherIsBetter: true, hideInGroups: { check_type: 'overall' } },
  { id: 'runs', metric: 'pipeline_runs_total', kind: 'counter', noun: 'runs', phrases: ['run', 'job', 'execution', 'pipeline run', 'etl job', 'etl run', '~happened', '~fail', '~failure', '~succeed', '~broke', '~crash'], rankBy: ['pipeline_name'], identity: ['pipeline_name', 'environment'] },
  { id: 'stage_duration', metric: 'pipeline_stage_duration_seconds', kind: 'histogram', noun: 'stage duration', phrases: ['duration', 'stage duration', 'how long', 'processing time', 'slow', 'fast', '~time', '~take', '~latency', 'runtime', 'stage time', 'stage take', 'stage run', 'stage execution'], rankBy: ['stage'], identity: ['stage'] },
  { id: 'last_run_duration', metric: 'pipeline_last_run_duration_seconds', kind: 'gauge', noun: 'duration of the last run', phrases: ['last run take', 'last run duration', 'latest run take', 'last run last', 'whole run take', 'run duration', 'last run long', 'long last run'], identity: ['pipeline_name', 'environment'] },
  { id: 'last_run_rows', metric: 'pipeline_last_run_rows', kind: 'gauge', noun: 'rows loaded by the last run', phrases: ['last run load', 'row in the last run', 'last run row', 'latest run load', 'last run process', 'last run write'], identity: ['pipeline_name', 'environment'] },
  { id: 'last_success', metric: 'pipeline_last_success_timestamp_seconds', kind: 'timestamp', noun: 'last successful run', phrases: ['last succeed', 'last success', 'last successful', 'last successful run', 'last succeeded run', 'last good run', 'last success run', 'succeed last', 'last good run', 'last work', 'last time it succeed', 'last ok'], identity: ['pipeline_name', 'environment'] },
  { id: 'freshness', metric: 'pipeline_data_freshness_seconds', kind: 'freshness', noun: 'data age', phrases: ['fresh', 'freshness', 'stale', 'how old', 'data age', 'age of the data', 'outdated', 'recent'], identity: ['pipeline_name', 'environment'] },
  { id: 'output_size', metric: 'pipeline_output_size_bytes', kind: 'gauge', noun: 'output size', phrases: ['output size', 'how big', 'size', 'byte', 'disk', 'file size', 'parquet', '~large', '~big', 'output'], identity: ['pipeline_name', 'environment', 'dataset'] },
  { id: 'kafka_lag', metric: 'pipeobs_kafka_consumer_lag', kind: 'gauge', noun: 'consumer lag', phrases: ['lag', 'consumer lag', 'behind', 'kafka lag', 'backlog', '~kafka', '~consumer'], rankBy: ['topic', 'consumer_group'], identity: ['topic', 'consumer_group'] },
  { id: 'kafka_messages', metric: 'pipeobs_kafka_messages_total', kind: 'counter', noun: 'Kafka messages consumed', phrases: ['kafka message', 'message consumed', 'message', '~consumed'], rankBy: ['topic'], identity: ['topic'] },
  { id: 'kafka_throughput', metric: 'pipeobs_kafka_messages_per_second', kind: 'gauge', noun: 'Kafka consumer throughput', phrases: ['message per second', 'kafka throughput', 'consumer throughput'], rankBy: ['topic'], identity: ['topic', 'consumer_group'] },
  { id: 'kafka_latency', metric: 'pipeobs_kafka_message_latency_seconds', kind: 'histogram', noun: 'Kafka message latency', phrases: ['message latency', 'kafka latency', 'message processing time'], rankBy: ['topic'], identity: ['topic'] },
  { id: 'predictions', metric: 'pipeobs_ml_predictions_total', kind: 'counter', noun: 'predictions', phrases: ['prediction', 'inference', 'predictions made'], rankBy: ['service'], identity: ['service', 'model_version'] },
  { id: 'low_confidence', metric: 'pipeobs_ml_low_confidence_predictions_total', kind: 'counter', noun: 'low-confidence predictions', phrases: ['low_confidence', 'low_confidence prediction', 'unsure prediction', 'uncertain prediction'], rankBy: ['service'], identity: ['service', 'model_version'] },
  { id: 'confidence', metric: 'pipeobs_ml_confidence', kind: 'histogram', noun: 'model confidence', phrases: ['confidence', 'model confidence', 'prediction confidence', 'certain', 'sure'], rankBy: ['service', 'model_version'], identity: ['service', 'model_version'], higherIsBetter: true },
  { id: 'prediction_latency', metric: 'pipeobs_ml_prediction_latency_seconds', kind: 'histogram', noun: 'prediction latency', phrases: ['prediction latency', 'inference latency', 'model latency', 'prediction time', 'inference time'], rankBy: ['service'], identity: ['service', 'model_version'] },
  { id: 'log_lines', metric: 'pipeobs_logs_lines_total', kind: 'counter', noun: 'log lines', phrases: ['log line', '~line', 'log volume', 'line of log', '~log'], rankBy: ['component'], identity: ['component'] },
  { id: 'log_error_lines', metric: 'pipeobs_logs_error_lines_total', kind: 'counter', noun: 'error log lines', phrases: ['error line', 'log error', 'error in the log', 'error log', 'error log line', 'log error line', '~log'], rankBy: ['component'], identity: ['component'] },
  { id: 'log_error_rate', metric: 'pipeobs_logs_error_lines_total', kind: 'log_error_rate', noun: 'log error rate', phrases: ['log error rate', 'error rate in the log', 'error rate of the log', 'share of error line', 'error percentage', 'error ratio', 'error rate for the log', 'log error percentage', '~log'], rankBy: ['component'], identity: ['component'] },
  { id: 'skipped_lines', metric: 'pipeobs_logs_skipped_lines_total', kind: 'counter', noun: 'log lines skipped', phrases: ['skipped line', 'skipped', 'unusable line', 'malformed line', 'unparseable line', 'bad line', 'log line skipped', 'line skipped', '~log'], rankBy: ['reason'], identity: [] },
  { id: 'last_log_line', metric: 'pipeobs_logs_last_line_timestamp_seconds', kind: 'timestamp', noun: 'newest log line', phrases: ['last log line', 'newest log line', 'latest log line', 'last log', 'log stale', 'log fresh', '~log'], identity: ['component'] },
  { id: 'log_latency', metric: 'pipeobs_logs_latency_seconds', kind: 'histogram', noun: 'durations reported in the logs', phrases: ['log latency', 'latency in the log', 'logged latency', '~log'], rankBy: ['component'], identity: ['component'] },
  { id: 'airflow_runs', metric: 'pipeobs_airflow_task_runs_total', kind: 'counter', noun: 'Airflow task attempts', phrases: ['airflow task', 'task run', 'task attempt', 'dag run', 'airflow run', 'airflow task run', 'airflow task attempt', '~task', '~dag', '~airflow'], rankBy: ['dag_id', 'task_id'], identity: ['dag_id'] },
  { id: 'airflow_duration', metric: 'pipeobs_airflow_task_duration_seconds', kind: 'histogram', noun: 'Airflow task duration', phrases: ['task duration', 'task take', 'airflow duration', 'dag duration', 'task time', 'task slow'], rankBy: ['dag_id', 'task_id'], identity: ['dag_id'] },
  { id: 'airflow_records', metric: 'pipeobs_airflow_records_processed_total', kind: 'counter', noun: 'records Airflow tasks processed', phrases: ['airflow record', 'record airflow', 'task record', 'records airflow processed'], rankBy: ['dag_id'], identity: ['dag_id'] },
  { id: 'llm_tokens', metric: 'pipeobs_llm_tokens_total', kind: 'counter', noun: 'LLM tokens', phrases: ['token', 'llm token', 'tokens used'], rankBy: ['model'], identity: ['model'] },
  { id: 'llm_requests', metric: 'pipeobs_llm_requests_total', kind: 'counter', noun: 'LLM requests', phrases: ['llm request', 'llm call', 'request to the llm', 'openai request'], rankBy: ['model'], identity: ['model'] },
  { id: 'llm_errors', metric: 'pipeobs_llm_errors_total', kind: 'counter', noun: 'failed LLM requests', phrases: ['llm error', 'llm failure', 'openai error'], rankBy: ['error_type'], identity: ['model'] },
  { id: 'llm_latency', metric: 'pipeobs_llm_request_duration_seconds', kind: 'histogram', noun: 'LLM request duration', phrases: ['llm latency', 'llm duration', 'llm response time', 'llm slow'], rankBy: ['model'], identity: ['model'] },
  { id: 'ask_questions', metric: 'pipeobs_ask_questions_total', kind: 'counter', noun: 'questions asked', phrases: ['question', 'question asked', 'ask question'], rankBy: ['mode'], identity: [] },
];

/** Words of help texts that say nothing about which metric is meant. */
const HELP_NOISE = new Set(['the', 'a', 'an', 'of', 'by', 'in', 'on', 'at', 'to', 'for', 'and', 'or', 'each', 'one', 'that', 'it', 'is', 'as', 'its', 'when', 'else', 'with', 'from', 'last', 'run', 'pipeobs', 'pipeline', 'total', 'seconds', 'monitor', 'logs', 'log', 'wall', 'time', 'minus', 'how', 'given', 'per', 'all', 'newest', 'what', 'reported', 'reports', 'their', 'under', 'first', 'reason', 'they', 'group', 'groups', 'them']);

function helpWords(def: MetricDef): string[] {
  const words = tokens(`${def.name.replace(/_/g, ' ')} ${def.help.toLowerCase().replace(/[^a-z0-9 ]/g, ' ')}`);
  return [...new Set(words.filter((w) => w.length > 2 && !HELP_NOISE.has(w) && !/^\d/.test(w)))];
}

function unitOf(metric: string): string {
  return CATALOG.find((m) => m.name === metric)?.unit ?? '';
}

/** Every catalog metric as a concept; the curated ones carry everyday words besides their help text. */
export const CONCEPTS: readonly Concept[] = (() => {
  const out: Concept[] = [];
  for (const c of CURATED) {
    const def = CATALOG.find((m) => m.name === c.metric);
    out.push({ ...c, unit: c.unit ?? unitOf(c.metric), weak: def ? helpWords(def) : [], labels: def?.labels ?? [], catalog: true });
  }
  for (const def of CATALOG) {
    if (out.some((c) => c.metric === def.name && (c.kind === 'counter' || c.kind === 'gauge' || c.kind === 'histogram' || c.kind === 'timestamp'))) continue;
    out.push(fromName(def.name, def.type, def.unit, def.labels, helpWords(def), true));
  }
  return out;
})();

/** A concept for a metric name, from the name alone (any metric the server has). */
export function fromName(name: string, type: 'counter' | 'gauge' | 'histogram', unit: string, labels: readonly string[], weak: string[] = [], catalog = false): Concept {
  const words = name.replace(/_(total|bucket|sum|count)$/, '').split('_').filter((w) => !['pipeobs', 'pipeline'].includes(w));
  return {
    id: name,
    metric: name,
    kind: /_timestamp_seconds$/.test(name) ? 'timestamp' : type,
    unit: unit || (name.endsWith('_seconds') ? 'seconds' : name.endsWith('_bytes') ? 'bytes' : ''),
    noun: words.join(' '),
    phrases: [name, words.join(' ')],
    weak,
    labels,
    identity: labels.filter((l) => ['pipeline_name', 'environment', 'component', 'topic', 'service', 'model'].includes(l)),
    catalog,
  };
}

/** The nouns people use for labels, for filters ("the load stage") and groupings ("per check"). */
export const LABEL_WORDS: Record<string, string[]> = {
  pipeline_name: ['pipeline', 'pipelines', 'job', 'jobs', 'etl', 'pipeline_name'],
  environment: ['environment', 'environments', 'env', 'envs'],
  stage: ['stage', 'stages', 'step', 'steps'],
  check_type: ['check', 'checks', 'quality check', 'quality checks', 'rule', 'rules', 'check_type'],
  error_type: ['error type', 'error types', 'type of error', 'types of error', 'kind of error', 'kinds of error', 'error_type', 'type', 'types', 'kind', 'check', 'checks'],
  reason: ['reason', 'reasons', 'why', 'cause', 'causes'],
  data_source: ['source', 'sources', 'data source', 'data sources', 'data_source', 'table', 'tables'],
  dataset: ['dataset', 'datasets', 'file', 'files'],
  status: ['status', 'statuses', 'outcome', 'outcomes', 'result', 'results'],
  dag_id: ['dag', 'dags', 'dag_id'],
  task_id: ['task', 'tasks', 'task_id'],
  outcome: ['outcome', 'outcomes', 'status', 'result', 'results'],
  topic: ['topic', 'topics'],
  partition: ['partition', 'partitions'],
  consumer_group: ['consumer_group', 'group', 'groups', 'consumer', 'consumers'],
  service: ['service', 'services', 'model', 'models'],
  model_version: ['version', 'versions', 'model version', 'model versions', 'model_version'],
  component: ['component', 'components'],
  model: ['model', 'models', 'llm'],
  type: ['type', 'types'],
  mode: ['mode', 'modes'],
};

/** Words that name a label value (besides the value itself, its words, and its plural). */
export const VALUE_WORDS: Record<string, Record<string, string[]>> = {
  environment: { prod: ['production', 'prd', 'live'], dev: ['development', 'devel'], staging: ['stage env', 'stg'], test: ['testing'] },
  status: { failed: ['fail', 'failure', 'failing', 'broke', 'broken', 'crash', 'crashed', 'unsuccessful', 'error out', 'errored'], success: ['succeed', 'succeeded', 'successful', 'successfully', 'ok', 'passed', 'worked', 'good'], abandoned: ['abandon', 'interrupted', 'cancelled', 'canceled', 'killed'] },
  outcome: { failed: ['fail', 'failure', 'failing', 'broke', 'crashed'], success: ['succeed', 'succeeded', 'successful', 'ok'], up_for_retry: ['retry', 'retried', 'retries', 'retrying', 'up for retry'] },
  stage: { extract: ['extracted', 'extraction', 'extracting', 'ingested', 'ingest', 'ingestion', 'read', 'pulled'], transform: ['transformed', 'transformation', 'transforming'], load: ['loaded', 'loading', 'written', 'wrote', 'write'], quality: ['quality stage', 'checked'] },
  data_source: { customers: ['customer', 'customers'], products: ['product', 'products'], orders: ['order', 'orders'] },
  error_type: { null_required: ['null', 'missing value', 'missing customer', 'null value', 'empty required'], out_of_range: ['out of range', 'negative'], duplicate_key: ['conflicting duplicate', 'duplicate key', 'duplicate', 'dupe'], exact_duplicate: ['exact duplicate', 'exact duplicate record', 'identical', 'duplicate', 'dupe'], unknown_foreign_key: ['unknown foreign_key', 'foreign_key', 'unknown product', 'orphan'], future_timestamp: ['future timestamp', 'future date', 'in the future', 'future'], type_conversion: ['type conversion', 'unparseable', 'conversion', 'parse error'], stage_failure: ['stage failure', 'crash', 'stage crash'] },
  reason: { null_required: ['null', 'missing value', 'missing customer'], out_of_range: ['out of range', 'negative'], duplicate_key: ['conflicting duplicate', 'duplicate key', 'duplicate'], exact_duplicate: ['exact duplicate', 'identical', 'duplicate'], unknown_foreign_key: ['unknown foreign_key', 'foreign_key', 'unknown product'], future_timestamp: ['future timestamp', 'future date', 'future'], type_conversion: ['type conversion', 'unparseable', 'conversion'], malformed_json: ['malformed json', 'bad json', 'invalid json'], unknown_format: ['unknown format'], missing_field: ['missing field'], mistyped_field: ['mistyped field', 'wrong type'], bad_timestamp: ['bad timestamp'], too_long: ['too long'] },
  check_type: { null_required: ['null', 'missing value', 'null check'], out_of_range: ['out of range', 'range check'], duplicate_key: ['duplicate key', 'duplicate check'], unknown_foreign_key: ['foreign_key', 'unknown foreign_key', 'referential'], future_timestamp: ['future timestamp', 'future'] },
  dataset: { orders: ['clean output', 'clean'], quarantine: ['quarantine file', 'quarantine'] },
};

/** Stems of a phrase, for matching against a question's stems. */
export function phraseStems(phrase: string): string[] {
  return tokens(phrase.toLowerCase()).filter((w) => !GLUE.has(w)).map(stem);
}
