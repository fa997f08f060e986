#!/usr/bin/env node
// Writes the Grafana dashboards (dashboards/pipeline-observability.json for run-pipeline and ask,
// dashboards/log-monitoring.json for monitor-logs) from the panel lists below, so every panel
// follows the same conventions. Run after changing it: node scripts/build-dashboards.mjs
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DS = { type: 'prometheus', uid: 'victoriametrics' };
// Batch jobs push and exit: between runs an instant query finds nothing (VictoriaMetrics looks back
// 5 minutes at most). A value that must stay visible between runs is the last one pushed in KEEP
// (stat panels, evaluated once: instant queries) or in LINE (time series, evaluated at every step:
// a shorter window, so a line runs on between daily runs without scanning a month at each point).
const KEEP = '30d';
const LINE = '1d';
const F = 'pipeline_name=~"$pipeline",environment=~"$environment"';
let id = 0;
let y = 0;
let panels = [];

function row(title) {
  panels.push({ id: ++id, type: 'row', title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
}
function place(w, h, x) {
  return { h, w, x, y };
}
function panel(type, title, targets, opts = {}) {
  const { w = 6, h = 5, x = 0, unit, thresholds, min, max, decimals, description, instant, legend, table } = opts;
  panels.push({
    id: ++id,
    type,
    title,
    description,
    datasource: DS,
    gridPos: place(w, h, x),
    targets: targets.map((expr, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DS,
      expr: typeof expr === 'string' ? expr : expr.expr,
      legendFormat: typeof expr === 'string' ? legend ?? '' : expr.legend,
      ...(instant || table ? { instant: true, range: false, format: table ? 'table' : 'time_series' } : { range: true }),
    })),
    fieldConfig: {
      defaults: {
        ...(unit ? { unit } : {}),
        ...(min !== undefined ? { min } : {}),
        ...(max !== undefined ? { max } : {}),
        ...(decimals !== undefined ? { decimals } : {}),
        thresholds: { mode: 'absolute', steps: thresholds ?? [{ color: 'green', value: null }] },
        ...(type === 'timeseries' ? { custom: { drawStyle: opts.bars ? 'bars' : 'line', fillOpacity: opts.bars ? 80 : 10, lineWidth: 1, showPoints: 'auto', stacking: { mode: opts.bars ? 'normal' : 'none' } } } : {}),
      },
      overrides: [],
    },
    options:
      type === 'stat'
        ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'area', textMode: 'value' }
        : type === 'table'
          ? { showHeader: true, footer: { show: false } }
          : type === 'piechart'
            ? { legend: { displayMode: 'table', placement: 'right', values: ['value', 'percent'] }, reduceOptions: { calcs: ['lastNotNull'] } }
            : { legend: { displayMode: 'table', placement: 'bottom', calcs: ['mean', 'max', 'lastNotNull'] }, tooltip: { mode: 'multi' } },
    ...(table ? { transformations: [{ id: 'merge', options: {} }, { id: 'organize', options: { excludeByName: { Time: true } } }] } : {}),
  });
}
const red = (v) => ({ color: 'red', value: v });
const yellow = (v) => ({ color: 'yellow', value: v });
const green = (v) => ({ color: 'green', value: v });

const variable = (name, label, query) => ({
  name,
  label,
  type: 'query',
  datasource: DS,
  query: { query, refId: name },
  definition: query,
  refresh: 2,
  includeAll: true,
  multi: true,
  allValue: '.*',
  current: { text: 'All', value: '$__all' },
  sort: 1,
});

/** A dashboard with the conventions every pipeobs dashboard shares (UTC, 30 s refresh, last 6 h). */
const dashboard = (uid, title, description, tags, variables, list) => ({
  uid,
  title,
  description,
  tags,
  timezone: 'utc',
  schemaVersion: 39,
  version: 1,
  editable: true,
  refresh: '30s',
  time: { from: 'now-6h', to: 'now' },
  timepicker: { refresh_intervals: ['10s', '30s', '1m', '5m', '15m'] },
  templating: { list: variables },
  annotations: { list: [] },
  panels: list,
});

const pipelineDashboard = dashboard(
  'pipeobs-pipeline',
  'pipeobs: pipeline observability',
  'Is the data flowing, fresh, correct and fast? Metrics of pipeobs run-pipeline and ask.',
  ['pipeobs', 'pipelines', 'etl'],
  [
    variable('pipeline', 'Pipeline', 'label_values(pipeline_runs_total, pipeline_name)'),
    variable('environment', 'Environment', 'label_values(pipeline_runs_total{pipeline_name=~"$pipeline"}, environment)'),
  ],
  panels,
);

row('Overview');
panel('stat', 'Rows loaded', [`sum(increase(pipeline_rows_processed_total{${F},stage="load",data_source="orders"}[$__range]))`], { x: 0, w: 4, unit: 'short', instant: true, description: 'Rows loaded to the output in the selected time range' });
panel('stat', 'Quality score', [`min(last_over_time(pipeline_data_quality_score{${F},check_type="overall"}[${KEEP}]))`], { x: 4, w: 4, unit: 'percent', min: 0, max: 100, decimals: 2, thresholds: [red(null), yellow(95), green(99)], instant: true, description: 'Overall quality score of the last run that reached the quality stage' });
panel('stat', 'Errors', [`sum(increase(pipeline_errors_total{${F}}[$__range]))`], { x: 8, w: 4, unit: 'short', thresholds: [green(null), yellow(1), red(100)], instant: true });
panel('stat', 'Failed runs', [`sum(increase(pipeline_runs_total{${F},status="failed"}[$__range]))`], { x: 12, w: 4, unit: 'short', thresholds: [green(null), red(1)], instant: true, description: 'Runs that failed in a stage or were kept back by the quality gate, in the selected time range' });
panel('stat', 'Data freshness at load', [`max(last_over_time(pipeline_data_freshness_seconds{${F}}[${KEEP}]))`], { x: 16, w: 4, unit: 's', thresholds: [green(null), yellow(600), red(900)], instant: true, description: 'Age of the newest record when the last successful run loaded it' });
panel('stat', 'Since last success', [`time() - max(last_over_time(pipeline_last_success_timestamp_seconds{${F}}[${KEEP}]))`], { x: 20, w: 4, unit: 's', thresholds: [green(null), yellow(3600), red(4500)], instant: true, description: 'Time since the last successful run finished (the alert PipelineNoSuccessfulRun fires past the pipeline\'s SLA, 1 h by default)' });
y += 5;

row('Throughput and duration');
// Throughput is rows per second of stage time (two increases over the same window), not rows per
// second of wall clock: for a job that runs a minute an hour, rate() would be 60 times too low.
panel('timeseries', 'Throughput by stage (rows per second of stage time)', [{ expr: `sum by (stage) (increase(pipeline_rows_processed_total{${F},data_source="orders"}[$__rate_interval])) / sum by (stage) (increase(pipeline_stage_duration_seconds_sum{${F}}[$__rate_interval]))`, legend: '{{stage}}' }], { x: 0, w: 8, h: 8, unit: 'rowsps', description: 'Points where runs ended: rows that left each stage divided by the time the stage took' });
panel('timeseries', 'p50 stage duration', [{ expr: `histogram_quantile(0.5, sum by (le, stage) (increase(pipeline_stage_duration_seconds_bucket{${F}}[$__rate_interval])))`, legend: '{{stage}}' }], { x: 8, w: 8, h: 8, unit: 's' });
panel('timeseries', 'p95 stage duration', [{ expr: `histogram_quantile(0.95, sum by (le, stage) (increase(pipeline_stage_duration_seconds_bucket{${F}}[$__rate_interval])))`, legend: '{{stage}}' }], { x: 16, w: 8, h: 8, unit: 's' });
y += 8;

row('Quality and errors');
panel('timeseries', 'Quality score by check', [{ expr: `min by (check_type) (last_over_time(pipeline_data_quality_score{${F}}[${LINE}]))`, legend: '{{check_type}}' }], { x: 0, w: 8, h: 8, unit: 'percent', max: 100, thresholds: [red(null), yellow(95), green(99)] });
panel('timeseries', 'Errors by stage and type', [{ expr: `sum by (stage, error_type) (increase(pipeline_errors_total{${F}}[$__rate_interval]))`, legend: '{{stage}} / {{error_type}}' }], { x: 8, w: 8, h: 8, unit: 'short', bars: true });
panel('piechart', 'Quarantined rows by reason', [{ expr: `sum by (reason) (increase(pipeline_rows_quarantined_total{${F}}[$__range]))`, legend: '{{reason}}' }], { x: 16, w: 8, h: 8, unit: 'short', instant: true });
y += 8;

row('Runs and output');
panel('table', 'Rows per pipeline, stage and environment', [`sum by (pipeline_name, environment, stage) (increase(pipeline_rows_processed_total{${F},data_source="orders"}[$__range]))`], { x: 0, w: 10, h: 8, unit: 'short', table: true });
panel('piechart', 'Stage breakdown (time spent)', [{ expr: `sum by (stage) (increase(pipeline_stage_duration_seconds_sum{${F}}[$__range]))`, legend: '{{stage}}' }], { x: 10, w: 7, h: 8, unit: 's', instant: true });
panel('timeseries', 'Runs by status', [{ expr: `sum by (status) (increase(pipeline_runs_total{${F}}[$__rate_interval]))`, legend: '{{status}}' }], { x: 17, w: 7, h: 4, unit: 'short', bars: true });
panel('stat', 'Output size', [{ expr: `max by (dataset) (last_over_time(pipeline_output_size_bytes{${F}}[${KEEP}]))`, legend: '{{dataset}}' }], { x: 17, w: 7, h: 4, unit: 'bytes', instant: true, description: 'Parquet written by the last run (orders 0 when the quality gate kept the batch back)' });
y += 8;

row('LLM usage (pipeobs ask)');
panel('timeseries', 'LLM requests by model and outcome', [{ expr: 'sum by (model, outcome) (increase(pipeobs_llm_requests_total[$__rate_interval]))', legend: '{{model}} {{outcome}}' }], { x: 0, w: 6, h: 7, unit: 'short', bars: true });
panel('stat', 'Tokens used', [{ expr: 'sum by (type) (increase(pipeobs_llm_tokens_total[$__range]))', legend: '{{type}}' }], { x: 6, w: 6, h: 7, unit: 'short', instant: true });
panel('timeseries', 'LLM latency p95', [{ expr: 'histogram_quantile(0.95, sum by (le, model) (rate(pipeobs_llm_request_duration_seconds_bucket[$__rate_interval])))', legend: '{{model}}' }], { x: 12, w: 6, h: 7, unit: 's' });
panel('stat', 'LLM errors', [{ expr: 'sum(increase(pipeobs_llm_errors_total[$__range]))' }], { x: 18, w: 6, h: 7, unit: 'short', thresholds: [green(null), red(1)], instant: true });
y += 7;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(path.join(root, 'dashboards', 'pipeline-observability.json'), JSON.stringify(pipelineDashboard, null, 2) + '\n');
console.log(`dashboards/pipeline-observability.json: ${panels.filter((p) => p.type !== 'row').length} panels`);

// ---- What monitor-logs --server derives from Airflow, Kafka-consumer and ML-service logs.
panels = [];
id = 0;
y = 0;
const K = 'topic=~"$topic",consumer_group=~"$consumer_group"';
const M = 'model_version=~"$model_version"';
const A = 'dag_id=~"$dag_id"';

row('Overview');
panel('stat', 'Log lines per second', [`sum(rate(pipeobs_logs_lines_total[$__rate_interval]))`], { x: 0, w: 6, unit: 'short', decimals: 1, description: 'Usable log lines read by monitor-logs, all components' });
panel('stat', 'Error lines', [`100 * sum(increase(pipeobs_logs_error_lines_total[$__range])) / sum(increase(pipeobs_logs_lines_total[$__range]))`], { x: 6, w: 6, unit: 'percent', decimals: 2, thresholds: [green(null), yellow(1), red(5)], description: 'Share of lines at ERROR level or above in the time range' });
panel('stat', 'Newest log line age', [{ expr: `time() - max by (component) (last_over_time(pipeobs_logs_last_line_timestamp_seconds[${KEEP}]))`, legend: '{{component}}' }], { x: 12, w: 6, unit: 's', thresholds: [green(null), yellow(300), red(900)], description: 'How long ago the newest line of each component was written: logs that stop are pipelines that stopped' });
panel('stat', 'Skipped lines', [`sum(increase(pipeobs_logs_skipped_lines_total[$__range]))`], { x: 18, w: 6, unit: 'short', thresholds: [green(null), yellow(1)], description: 'Lines monitor-logs could not use (malformed, unknown format, mistyped fields…)' });
y += 5;

row('Volume, latency and errors by component');
panel('timeseries', 'Records per second by component', [{ expr: 'sum by (component) (rate(pipeobs_logs_records_total[$__rate_interval]))', legend: '{{component}}' }], { x: 0, w: 8, h: 8, unit: 'short' });
panel('timeseries', 'Latency p50 / p95 / p99 by component', [
  { expr: 'histogram_quantile(0.5, sum by (le, component) (rate(pipeobs_logs_latency_seconds_bucket[$__rate_interval])))', legend: '{{component}} p50' },
  { expr: 'histogram_quantile(0.95, sum by (le, component) (rate(pipeobs_logs_latency_seconds_bucket[$__rate_interval])))', legend: '{{component}} p95' },
  { expr: 'histogram_quantile(0.99, sum by (le, component) (rate(pipeobs_logs_latency_seconds_bucket[$__rate_interval])))', legend: '{{component}} p99' },
], { x: 8, w: 8, h: 8, unit: 's' });
panel('timeseries', 'Error rate by component', [{ expr: '100 * sum by (component) (rate(pipeobs_logs_error_lines_total[$__rate_interval])) / sum by (component) (rate(pipeobs_logs_lines_total[$__rate_interval]))', legend: '{{component}}' }], { x: 16, w: 8, h: 8, unit: 'percent', thresholds: [green(null), yellow(1), red(5)] });
y += 8;

row('Kafka consumers');
panel('timeseries', 'Consumer lag by topic and group', [{ expr: `max by (topic, consumer_group) (pipeobs_kafka_consumer_lag{${K}})`, legend: '{{topic}} / {{consumer_group}}' }], { x: 0, w: 8, h: 8, unit: 'short', thresholds: [green(null), yellow(10000), red(100000)] });
panel('timeseries', 'Lag growth (messages/s)', [{ expr: `sum by (topic, consumer_group) (deriv(pipeobs_kafka_consumer_lag{${K}}[$__rate_interval]))`, legend: '{{topic}} / {{consumer_group}}' }], { x: 8, w: 8, h: 8, unit: 'short', description: 'Positive: the consumers fall behind' });
panel('timeseries', 'Messages per second and p95 latency', [
  { expr: `sum by (topic) (rate(pipeobs_kafka_messages_total{${K}}[$__rate_interval]))`, legend: '{{topic}} msg/s' },
  { expr: `histogram_quantile(0.95, sum by (le, topic) (rate(pipeobs_kafka_message_latency_seconds_bucket{${K}}[$__rate_interval]))) * 1000`, legend: '{{topic}} p95 ms' },
], { x: 16, w: 8, h: 8, unit: 'short' });
y += 8;

row('ML predictions');
panel('timeseries', 'Mean confidence by model version', [{ expr: `sum by (model_version) (rate(pipeobs_ml_confidence_sum{${M}}[$__rate_interval])) / sum by (model_version) (rate(pipeobs_ml_confidence_count{${M}}[$__rate_interval]))`, legend: '{{model_version}}' }], { x: 0, w: 8, h: 8, unit: 'percentunit', min: 0, max: 1, thresholds: [red(null), yellow(0.7), green(0.85)] });
panel('timeseries', 'Confidence p5 and low-confidence share', [
  { expr: `histogram_quantile(0.05, sum by (le, model_version) (rate(pipeobs_ml_confidence_bucket{${M}}[$__rate_interval])))`, legend: '{{model_version}} p5' },
  { expr: `sum by (model_version) (rate(pipeobs_ml_low_confidence_predictions_total{${M}}[$__rate_interval])) / sum by (model_version) (rate(pipeobs_ml_predictions_total{${M}}[$__rate_interval]))`, legend: '{{model_version}} share low' },
], { x: 8, w: 8, h: 8, unit: 'percentunit', min: 0, max: 1 });
panel('timeseries', 'Predictions per second and p95 latency', [
  { expr: `sum by (model_version) (rate(pipeobs_ml_predictions_total{${M}}[$__rate_interval]))`, legend: '{{model_version}} /s' },
  { expr: `histogram_quantile(0.95, sum by (le, model_version) (rate(pipeobs_ml_prediction_latency_seconds_bucket{${M}}[$__rate_interval]))) * 1000`, legend: '{{model_version}} p95 ms' },
], { x: 16, w: 8, h: 8, unit: 'short' });
y += 8;

row('Airflow tasks');
panel('timeseries', 'Task outcomes', [{ expr: `sum by (outcome) (increase(pipeobs_airflow_task_runs_total{${A}}[$__rate_interval]))`, legend: '{{outcome}}' }], { x: 0, w: 8, h: 8, unit: 'short', bars: true });
panel('timeseries', 'Records processed per DAG', [{ expr: `sum by (dag_id) (rate(pipeobs_airflow_records_processed_total{${A}}[$__rate_interval]))`, legend: '{{dag_id}}' }], { x: 8, w: 8, h: 8, unit: 'short' });
panel('table', 'Task duration p95 and failures', [
  { expr: `histogram_quantile(0.95, sum by (le, dag_id, task_id) (rate(pipeobs_airflow_task_duration_seconds_bucket{${A}}[$__range])))`, legend: 'p95 s' },
  { expr: `sum by (dag_id, task_id) (increase(pipeobs_airflow_task_runs_total{${A},outcome="failed"}[$__range]))`, legend: 'failed' },
], { x: 16, w: 8, h: 8, unit: 's', table: true });
y += 8;

row('What was skipped');
panel('timeseries', 'Skipped lines by reason', [{ expr: 'sum by (reason) (increase(pipeobs_logs_skipped_lines_total[$__rate_interval]))', legend: '{{reason}}' }], { x: 0, w: 12, h: 6, unit: 'short', bars: true });
panel('stat', 'Files followed', [`sum(last_over_time(pipeobs_logs_files_followed[${KEEP}]))`], { x: 12, w: 6, h: 6, unit: 'short', instant: true, description: 'As last reported by monitor-logs --server' });
panel('stat', 'Groups over --max-groups', [`sum(increase(pipeobs_logs_overflow_groups_total[$__range]))`], { x: 18, w: 6, h: 6, unit: 'short', thresholds: [green(null), yellow(1)] });
y += 6;

const logsDashboard = dashboard(
  'pipeobs-logs',
  'pipeobs: log monitoring (Airflow, Kafka, ML)',
  'What pipeobs monitor-logs --server reads from Airflow, Kafka-consumer and ML-service logs: volume, latency, errors, consumer lag, model confidence.',
  ['pipeobs', 'logs', 'airflow', 'kafka', 'ml'],
  [
    variable('dag_id', 'DAG', 'label_values(pipeobs_airflow_task_lines_total, dag_id)'),
    variable('topic', 'Topic', 'label_values(pipeobs_kafka_messages_total, topic)'),
    variable('consumer_group', 'Consumer group', 'label_values(pipeobs_kafka_messages_total{topic=~"$topic"}, consumer_group)'),
    variable('model_version', 'Model version', 'label_values(pipeobs_ml_predictions_total, model_version)'),
  ],
  panels,
);
writeFileSync(path.join(root, 'dashboards', 'log-monitoring.json'), JSON.stringify(logsDashboard, null, 2) + '\n');
console.log(`dashboards/log-monitoring.json: ${panels.filter((p) => p.type !== 'row').length} panels`);
