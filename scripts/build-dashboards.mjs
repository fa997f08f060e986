#!/usr/bin/env node
// Writes dashboards/pipeline-observability.json (Grafana) from the panel list below, so every panel
// follows the same conventions. Run after changing it: node scripts/build-dashboards.mjs
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DS = { type: 'prometheus', uid: 'victoriametrics' };
const F = 'pipeline_name=~"$pipeline",environment=~"$environment"';
let id = 0;
let y = 0;
const panels = [];

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

row('Overview');
panel('stat', 'Rows loaded', [`sum(increase(pipeline_rows_processed_total{${F},stage="load",data_source="orders"}[$__range]))`], { x: 0, w: 4, unit: 'short', description: 'Rows loaded to the output in the selected time range' });
panel('stat', 'Quality score', [`min(pipeline_data_quality_score{${F},check_type="overall"})`], { x: 4, w: 4, unit: 'percent', min: 0, max: 100, decimals: 2, thresholds: [red(null), yellow(95), green(99)] });
panel('stat', 'Errors', [`sum(increase(pipeline_errors_total{${F}}[$__range]))`], { x: 8, w: 4, unit: 'short', thresholds: [green(null), yellow(1), red(100)] });
panel('stat', 'Failed runs', [`sum(increase(pipeline_runs_total{${F},status="failed"}[$__range]))`], { x: 12, w: 4, unit: 'short', thresholds: [green(null), red(1)] });
panel('stat', 'Data freshness at load', [`max(pipeline_data_freshness_seconds{${F}})`], { x: 16, w: 4, unit: 's', thresholds: [green(null), yellow(600), red(900)] });
panel('stat', 'Since last success', [`max(time() - pipeline_last_success_timestamp_seconds{${F}})`], { x: 20, w: 4, unit: 's', thresholds: [green(null), yellow(1800), red(3600)] });
y += 5;

row('Throughput and duration');
panel('timeseries', 'Throughput by stage (rows/s)', [{ expr: `sum by (stage) (rate(pipeline_rows_processed_total{${F},data_source="orders"}[$__rate_interval]))`, legend: '{{stage}}' }], { x: 0, w: 8, h: 8, unit: 'rowsps' });
panel('timeseries', 'p50 stage duration', [{ expr: `histogram_quantile(0.5, sum by (le, stage) (rate(pipeline_stage_duration_seconds_bucket{${F}}[$__rate_interval])))`, legend: '{{stage}}' }], { x: 8, w: 8, h: 8, unit: 's' });
panel('timeseries', 'p95 stage duration', [{ expr: `histogram_quantile(0.95, sum by (le, stage) (rate(pipeline_stage_duration_seconds_bucket{${F}}[$__rate_interval])))`, legend: '{{stage}}' }], { x: 16, w: 8, h: 8, unit: 's' });
y += 8;

row('Quality and errors');
panel('timeseries', 'Quality score by check', [{ expr: `min by (check_type) (pipeline_data_quality_score{${F}})`, legend: '{{check_type}}' }], { x: 0, w: 8, h: 8, unit: 'percent', max: 100, thresholds: [red(null), yellow(95), green(99)] });
panel('timeseries', 'Errors by stage and type', [{ expr: `sum by (stage, error_type) (increase(pipeline_errors_total{${F}}[$__rate_interval]))`, legend: '{{stage}} / {{error_type}}' }], { x: 8, w: 8, h: 8, unit: 'short', bars: true });
panel('piechart', 'Quarantined rows by reason', [{ expr: `sum by (reason) (increase(pipeline_rows_quarantined_total{${F}}[$__range]))`, legend: '{{reason}}' }], { x: 16, w: 8, h: 8, unit: 'short', instant: true });
y += 8;

row('Runs and output');
panel('table', 'Rows per pipeline, stage and environment', [`sum by (pipeline_name, environment, stage) (increase(pipeline_rows_processed_total{${F},data_source="orders"}[$__range]))`], { x: 0, w: 10, h: 8, unit: 'short', table: true });
panel('piechart', 'Stage breakdown (time spent)', [{ expr: `sum by (stage) (increase(pipeline_stage_duration_seconds_sum{${F}}[$__range]))`, legend: '{{stage}}' }], { x: 10, w: 7, h: 8, unit: 's', instant: true });
panel('timeseries', 'Runs by status', [{ expr: `sum by (status) (increase(pipeline_runs_total{${F}}[$__rate_interval]))`, legend: '{{status}}' }], { x: 17, w: 7, h: 4, unit: 'short', bars: true });
panel('stat', 'Output size', [{ expr: `max by (dataset) (pipeline_output_size_bytes{${F}})`, legend: '{{dataset}}' }], { x: 17, w: 7, h: 4, unit: 'bytes' });
y += 8;

row('LLM usage (pipeobs ask)');
panel('timeseries', 'LLM requests by model and outcome', [{ expr: 'sum by (model, outcome) (increase(pipeobs_llm_requests_total[$__rate_interval]))', legend: '{{model}} {{outcome}}' }], { x: 0, w: 6, h: 7, unit: 'short', bars: true });
panel('stat', 'Tokens used', [{ expr: 'sum by (type) (increase(pipeobs_llm_tokens_total[$__range]))', legend: '{{type}}' }], { x: 6, w: 6, h: 7, unit: 'short' });
panel('timeseries', 'LLM latency p95', [{ expr: 'histogram_quantile(0.95, sum by (le, model) (rate(pipeobs_llm_request_duration_seconds_bucket[$__rate_interval])))', legend: '{{model}}' }], { x: 12, w: 6, h: 7, unit: 's' });
panel('stat', 'LLM errors', [{ expr: 'sum(increase(pipeobs_llm_errors_total[$__range]))' }], { x: 18, w: 6, h: 7, unit: 'short', thresholds: [green(null), red(1)] });
y += 7;

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

const dashboard = {
  uid: 'pipeobs-pipeline',
  title: 'pipeobs: pipeline observability',
  description: 'Is the data flowing, fresh, correct and fast? Metrics of pipeobs run-pipeline and ask.',
  tags: ['pipeobs', 'pipelines', 'etl'],
  timezone: 'utc',
  schemaVersion: 39,
  version: 1,
  editable: true,
  refresh: '30s',
  time: { from: 'now-6h', to: 'now' },
  timepicker: { refresh_intervals: ['10s', '30s', '1m', '5m', '15m'] },
  templating: {
    list: [
      variable('pipeline', 'Pipeline', 'label_values(pipeline_runs_total, pipeline_name)'),
      variable('environment', 'Environment', 'label_values(pipeline_runs_total{pipeline_name=~"$pipeline"}, environment)'),
    ],
  },
  annotations: { list: [] },
  panels,
};

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(path.join(root, 'dashboards', 'pipeline-observability.json'), JSON.stringify(dashboard, null, 2) + '\n');
console.log(`dashboards/pipeline-observability.json: ${panels.filter((p) => p.type !== 'row').length} panels`);
