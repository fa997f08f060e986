/**
 * The offline engine: common questions mapped to PromQL over the metric catalog, without an LLM.
 * A question gives an intent (rows, quality, failed runs, throughput, errors, durations,
 * percentiles, freshness, output size, slower stages; and from monitor-logs' metrics, Kafka
 * consumer lag, model confidence, log error rates, Airflow task outcomes), a time window ("today", "last hour",
 * "since yesterday", "last 30 minutes"; 24 hours when it says none) and label filters
 * ("pipeline orders", "in prod", "stage load"). The answer states numbers with units, the window
 * and the PromQL that was run.
 */
import { formatDurationShort } from '../time/parse.js';
import type { QueryData, VmClient } from '../victoria/client.js';
import { QUALITY_CHECKS, STAGES } from '../metrics/catalog.js';

export const DEMO_QUESTIONS = [
  'How many total rows have been processed across all pipelines?',
  "What's the current data quality score?",
  'Which ETL jobs failed today?',
  'Show me the throughput rate for each pipeline stage.',
  'Are there any errors in the pipeline?',
  "What's the average processing time per stage?",
] as const;

export const EXAMPLE_QUESTIONS = [
  ...DEMO_QUESTIONS,
  'What is the p95 duration of each stage in the last hour?',
  'Is the data fresh? (SLA 15 minutes)',
  'Which stage got slower in the last hour?',
  'How big is the output of pipeline ecommerce_orders?',
  'Show the quality score per check in prod.',
  'How far behind are the Kafka consumers?',
  'Is the model confidence dropping?',
  'What is the error rate in the logs?',
  'Which Airflow tasks failed today?',
];

export interface Window {
  seconds: number;
  /** How the answer names the window: "in the last hour", "today (since 00:00 UTC)". */
  phrase: string;
}

export interface PlannedQuery {
  promql: string;
  /** What the numbers are, for the answer. */
  what: string;
}

export interface OfflinePlan {
  intent: string;
  window: Window;
  filters: Record<string, string>;
  queries: PlannedQuery[];
  render(results: QueryData[]): string;
}

/** The window a question speaks of, counted back from now. */
export function windowFor(question: string, now: Date): Window {
  const q = question.toLowerCase();
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const since = (ms: number) => Math.max(60, Math.round((now.getTime() - ms) / 1000));
  if (/\btoday\b/.test(q)) return { seconds: since(midnight), phrase: 'today (since 00:00 UTC)' };
  if (/since yesterday|yesterday/.test(q)) return { seconds: since(midnight - 86_400_000), phrase: 'since yesterday 00:00 UTC' };
  const n = /(?:last|past)\s+(\d+)\s*(minute|min|hour|hr|day|week)s?/.exec(q);
  if (n) {
    const unit = { minute: 60, min: 60, hour: 3600, hr: 3600, day: 86_400, week: 604_800 }[n[2]] ?? 3600;
    return { seconds: Number(n[1]) * unit, phrase: `in the last ${n[1]} ${n[2].startsWith('h') ? 'hour' : n[2].startsWith('m') ? 'minute' : n[2]}${Number(n[1]) === 1 ? '' : 's'}` };
  }
  if (/(last|past|this) hour|hourly/.test(q)) return { seconds: 3600, phrase: 'in the last hour' };
  if (/(last|past|this) week/.test(q)) return { seconds: 604_800, phrase: 'in the last 7 days' };
  if (/(last|past) (day|24 ?h)/.test(q)) return { seconds: 86_400, phrase: 'in the last 24 hours' };
  return { seconds: 86_400, phrase: 'in the last 24 hours' };
}

/** Label filters named in the question: pipeline X, environment/in prod|staging|dev, stage S, check C. */
export function filtersFor(question: string): Record<string, string> {
  const q = question.toLowerCase();
  const f: Record<string, string> = {};
  const pipeline = /pipeline(?:_name)?\s+(?:named\s+|called\s+)?["']?([a-z0-9_-]+(?:\.[a-z0-9_-]+)*)["']?/.exec(q);
  if (pipeline && !['stage', 'stages', 'and', 'is', 'are', 'has', 'have', 'run', 'runs', 'jobs', 'the', 'in', 'of', 'for', 'with', 'get', 'got', 'data', 'output'].includes(pipeline[1])) f.pipeline_name = pipeline[1];
  const env = /\b(?:in|environment|env)\s+(prod|production|staging|stage-env|dev|development|test|qa)\b/.exec(q);
  if (env) f.environment = env[1] === 'production' ? 'prod' : env[1] === 'development' ? 'dev' : env[1];
  for (const s of STAGES) if (new RegExp(`\\b${s} stage\\b|\\bstage ${s}\\b`).test(q)) f.stage = s;
  return f;
}

function selector(filters: Record<string, string>, extra: Record<string, string> = {}): string {
  const all = { ...extra, ...filters };
  const parts = Object.entries(all).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function vec(d: QueryData): { metric: Record<string, string>; value: number }[] {
  if (d.resultType === 'vector') return d.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  if (d.resultType === 'scalar') return [{ metric: {}, value: Number(d.result[1]) }];
  return [];
}

const fmt = (x: number, digits = 2) => (Number.isInteger(x) ? x.toLocaleString('en') : Number(x.toFixed(digits)).toLocaleString('en'));
const secs = (x: number) => (x < 1 ? `${fmt(x * 1000, 1)} ms` : x < 120 ? `${fmt(x, 2)} s` : `${fmt(x / 60, 1)} min`);
const byLabel = (m: Record<string, string>, keys: string[]) => keys.map((k) => m[k]).filter(Boolean).join('/') || 'all';

interface Intent {
  name: string;
  test: RegExp;
  plan(q: string, w: Window, f: Record<string, string>): Omit<OfflinePlan, 'intent' | 'window' | 'filters'>;
}

const W = (w: Window) => formatDurationShort(w.seconds);

const pct = (x: number) => `${fmt(100 * x, 1)}%`;

/** Questions about what monitor-logs derives from logs; tried before the pipeline's own intents. */
const LOG_INTENTS: Intent[] = [
  {
    name: 'log_errors',
    test: /\blogs?\b/,
    plan: (q, w) => ({
      queries: [
        { promql: `sum by (component) (increase(pipeobs_logs_error_lines_total[${W(w)}]))`, what: 'error lines per component' },
        { promql: `sum by (component) (increase(pipeobs_logs_lines_total[${W(w)}]))`, what: 'log lines per component' },
      ],
      render: ([errors, lines]) => {
        const e = new Map(vec(errors).map((r) => [r.metric.component, r.value]));
        const rows = vec(lines).filter((r) => r.value > 0).sort((a, b) => (e.get(b.metric.component) ?? 0) / b.value - (e.get(a.metric.component) ?? 0) / a.value);
        if (rows.length === 0) return `No log lines were read by monitor-logs ${w.phrase}.`;
        return `Log error rate ${w.phrase} (lines at ERROR or above): ${rows.map((r) => `${r.metric.component} ${pct((e.get(r.metric.component) ?? 0) / r.value)} (${fmt(Math.round(e.get(r.metric.component) ?? 0))} of ${fmt(Math.round(r.value))} lines)`).join(', ')}.`;
      },
    }),
  },
  {
    name: 'airflow_tasks',
    test: /\b(airflow|dags?|tasks?)\b/,
    plan: (q, w) => ({
      queries: [{ promql: `sum by (dag_id, outcome) (increase(pipeobs_airflow_task_runs_total[${W(w)}]))`, what: 'Airflow task attempts by DAG and outcome' }],
      render: ([d]) => {
        const byDag = new Map<string, Record<string, number>>();
        for (const r of vec(d)) byDag.set(r.metric.dag_id, { ...(byDag.get(r.metric.dag_id) ?? {}), [r.metric.outcome]: Math.round(r.value) });
        const dags = [...byDag].filter(([, o]) => Object.values(o).some((n) => n > 0)).sort((a, b) => (b[1].failed ?? 0) - (a[1].failed ?? 0) || a[0].localeCompare(b[0]));
        if (dags.length === 0) return `No Airflow task ended ${w.phrase}.`;
        const failing = dags.filter(([, o]) => (o.failed ?? 0) > 0);
        const list = dags.map(([dag, o]) => `${dag} ${fmt(o.success ?? 0)} succeeded, ${fmt(o.failed ?? 0)} failed, ${fmt(o.up_for_retry ?? 0)} up for retry`).join('; ');
        return `${failing.length === 0 ? 'No Airflow task failed' : `Airflow tasks failed in ${failing.length} DAG${failing.length > 1 ? 's' : ''}`} ${w.phrase}: ${list}.`;
      },
    }),
  },
  {
    name: 'kafka_lag',
    test: /\b(lag|lagging|behind|consumers?|consumer groups?|kafka)\b/,
    plan: (q, w) => ({
      queries: [
        { promql: `max by (topic, consumer_group) (last_over_time(pipeobs_kafka_consumer_lag[${W(w)}]))`, what: 'newest consumer lag by topic and group' },
        { promql: `sum by (topic, consumer_group) (deriv(pipeobs_kafka_consumer_lag[${W(w)}]))`, what: 'lag growth in messages per second' },
      ],
      render: ([lag, growth]) => {
        const g = new Map(vec(growth).map((r) => [`${r.metric.topic}/${r.metric.consumer_group}`, r.value]));
        const rows = vec(lag).sort((a, b) => b.value - a.value);
        if (rows.length === 0) return `No Kafka consumer lag was recorded ${w.phrase}.`;
        const trend = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '' : x > 0.01 ? `, growing by ${fmt(x, 2)} messages/s` : x < -0.01 ? `, shrinking by ${fmt(-x, 2)} messages/s` : ', steady');
        return `Kafka consumer lag (newest value ${w.phrase}): ${rows.map((r) => `${r.metric.topic}/${r.metric.consumer_group} ${fmt(Math.round(r.value))} messages${trend(g.get(`${r.metric.topic}/${r.metric.consumer_group}`))}`).join('; ')}.`;
      },
    }),
  },
  {
    name: 'model_confidence',
    test: /\b(confidence|models?|predictions?|ml|drift(ing)?)\b/,
    plan: (q, w) => ({
      queries: [
        { promql: `sum by (service, model_version) (increase(pipeobs_ml_confidence_sum[${W(w)}])) / sum by (service, model_version) (increase(pipeobs_ml_confidence_count[${W(w)}]))`, what: 'mean confidence' },
        { promql: `sum by (service, model_version) (increase(pipeobs_ml_low_confidence_predictions_total[${W(w)}])) / sum by (service, model_version) (increase(pipeobs_ml_predictions_total[${W(w)}]))`, what: 'share of low-confidence predictions' },
      ],
      render: ([mean, low]) => {
        const l = new Map(vec(low).map((r) => [`${r.metric.service}/${r.metric.model_version}`, r.value]));
        const rows = vec(mean).filter((r) => Number.isFinite(r.value)).sort((a, b) => a.value - b.value);
        if (rows.length === 0) return `No predictions were logged ${w.phrase}.`;
        return `Mean model confidence ${w.phrase}: ${rows.map((r) => {
          const share = l.get(`${r.metric.service}/${r.metric.model_version}`);
          return `${r.metric.service}/${r.metric.model_version} ${fmt(r.value, 3)}${share !== undefined && Number.isFinite(share) ? ` (${pct(share)} of predictions under the low-confidence threshold)` : ''}`;
        }).join('; ')}.`;
      },
    }),
  },
];

const INTENTS: Intent[] = [
  ...LOG_INTENTS,
  {
    name: 'failed_runs',
    test: /\b(fail(ed|ing|ures?|s)?|broken?|crash(ed|es)?)\b/,
    plan: (q, w, f) => ({
      queries: [
        { promql: `sum by (pipeline_name, environment) (increase(pipeline_runs_total${selector(f, { status: 'failed' })}[${W(w)}]))`, what: 'failed runs' },
        { promql: `sum by (pipeline_name, environment) (increase(pipeline_runs_total${selector(f)}[${W(w)}]))`, what: 'all runs' },
      ],
      render: ([failed, all]) => {
        const runs = vec(all);
        const bad = vec(failed).filter((r) => Math.round(r.value) > 0);
        const total = runs.reduce((n, r) => n + r.value, 0);
        if (runs.length === 0) return `No pipeline runs were recorded ${w.phrase}.`;
        if (bad.length === 0) return `No ETL job failed ${w.phrase}: ${fmt(Math.round(total))} runs, all successful.`;
        return `${bad.length} pipeline${bad.length > 1 ? 's' : ''} had failed runs ${w.phrase}: ${bad.map((r) => `${byLabel(r.metric, ['pipeline_name', 'environment'])} (${fmt(Math.round(r.value))} failed)`).join(', ')}; ${fmt(Math.round(total))} runs in all.`;
      },
    }),
  },
  {
    name: 'errors',
    test: /\berrors?\b/,
    plan: (q, w, f) => ({
      queries: [{ promql: `sum by (stage, error_type) (increase(pipeline_errors_total${selector(f)}[${W(w)}])) > 0`, what: 'errors by stage and type' }],
      render: ([errs]) => {
        const rows = vec(errs).sort((a, b) => b.value - a.value);
        if (rows.length === 0) return `No errors were recorded ${w.phrase}.`;
        const total = rows.reduce((n, r) => n + r.value, 0);
        return `Yes: ${fmt(Math.round(total))} errors ${w.phrase}. By stage and type: ${rows.map((r) => `${r.metric.stage}/${r.metric.error_type} ${fmt(Math.round(r.value))}`).join(', ')}.`;
      },
    }),
  },
  {
    name: 'slower_stage',
    test: /\b(slower|slow(ed)? down|regress(ed|ion)?)\b/,
    plan: (q, w, f) => {
      const r = W(w);
      const avg = (off: string) => `sum by (stage) (increase(pipeline_stage_duration_seconds_sum${selector(f)}[${r}]${off})) / sum by (stage) (increase(pipeline_stage_duration_seconds_count${selector(f)}[${r}]${off}))`;
      return {
        queries: [
          { promql: avg(''), what: `mean stage duration ${w.phrase}` },
          { promql: avg(` offset ${r}`), what: 'mean stage duration in the window before' },
        ],
        render: ([now, before]) => {
          const b = new Map(vec(before).map((x) => [x.metric.stage, x.value]));
          const changes = vec(now)
            .filter((x) => Number.isFinite(x.value) && b.has(x.metric.stage) && Number.isFinite(b.get(x.metric.stage)!))
            .map((x) => ({ stage: x.metric.stage, now: x.value, before: b.get(x.metric.stage)!, ratio: x.value / b.get(x.metric.stage)! }))
            .sort((a, c) => c.ratio - a.ratio);
          if (changes.length === 0) return `There is not enough data to compare ${w.phrase.replace(/^in /, '')} with the window before it.`;
          const slower = changes.filter((c) => c.ratio > 1.05);
          if (slower.length === 0) return `No stage got slower ${w.phrase}: ${changes.map((c) => `${c.stage} ${secs(c.now)} (before ${secs(c.before)})`).join(', ')}.`;
          return `${slower[0].stage} got slower the most ${w.phrase}: ${secs(slower[0].now)} per run against ${secs(slower[0].before)} before (${fmt(slower[0].ratio, 2)}x). ${changes.map((c) => `${c.stage} ${fmt(c.ratio, 2)}x`).join(', ')}.`;
        },
      };
    },
  },
  {
    name: 'percentile',
    test: /\b(p50|p90|p95|p99|percentile|median)\b/,
    plan: (q, w, f) => {
      const p = /p(\d\d)/.exec(q)?.[1] ?? (/median/.test(q) ? '50' : /(\d\d)(?:th)? percentile/.exec(q)?.[1] ?? '95');
      const quantile = Number(p) / 100;
      return {
        queries: [{ promql: `histogram_quantile(${quantile}, sum by (le, stage) (increase(pipeline_stage_duration_seconds_bucket${selector(f)}[${W(w)}])))`, what: `p${p} stage duration` }],
        render: ([d]) => {
          const rows = vec(d).filter((r) => Number.isFinite(r.value)).sort((a, b) => STAGES.indexOf(a.metric.stage as never) - STAGES.indexOf(b.metric.stage as never));
          if (rows.length === 0) return `No stage durations were recorded ${w.phrase}.`;
          return `p${p} stage duration ${w.phrase}: ${rows.map((r) => `${r.metric.stage} ${secs(r.value)}`).join(', ')}.`;
        },
      };
    },
  },
  {
    name: 'average_duration',
    test: /\b(average|avg|mean|how long|processing time|durations?)\b/,
    plan: (q, w, f) => ({
      queries: [{
        promql: `sum by (stage) (increase(pipeline_stage_duration_seconds_sum${selector(f)}[${W(w)}])) / sum by (stage) (increase(pipeline_stage_duration_seconds_count${selector(f)}[${W(w)}]))`,
        what: 'mean stage duration',
      }],
      render: ([d]) => {
        const rows = vec(d).filter((r) => Number.isFinite(r.value)).sort((a, b) => STAGES.indexOf(a.metric.stage as never) - STAGES.indexOf(b.metric.stage as never));
        if (rows.length === 0) return `No stage ran ${w.phrase}.`;
        return `Average processing time per stage ${w.phrase}: ${rows.map((r) => `${r.metric.stage} ${secs(r.value)}`).join(', ')}.`;
      },
    }),
  },
  {
    name: 'throughput',
    test: /\b(throughput|rates?|rows? per second|per second|speed|fast)\b/,
    plan: (q, w, f) => ({
      queries: [{ promql: `sum by (pipeline_name, stage) (rate(pipeline_rows_processed_total${selector(f, { data_source: 'orders' })}[${W(w)}]))`, what: 'rows per second' }],
      render: ([d]) => {
        const rows = vec(d).sort((a, b) => (a.metric.pipeline_name ?? '').localeCompare(b.metric.pipeline_name ?? '') || STAGES.indexOf(a.metric.stage as never) - STAGES.indexOf(b.metric.stage as never));
        if (rows.length === 0) return `No rows were processed ${w.phrase}.`;
        return `Throughput per stage ${w.phrase} (rows per second over the time the samples span): ${rows.map((r) => `${byLabel(r.metric, ['pipeline_name', 'stage'])} ${fmt(r.value, 3)} rows/s`).join(', ')}.`;
      },
    }),
  },
  {
    name: 'freshness',
    test: /\b(fresh|stale|latest data|how old|up to date|recent data|sla)\b/,
    plan: (q, w, f) => {
      const slaMatch = /(\d+)\s*(minute|min|hour|second|sec)s?/.exec(q);
      const sla = slaMatch ? Number(slaMatch[1]) * (slaMatch[2].startsWith('h') ? 3600 : slaMatch[2].startsWith('s') ? 1 : 60) : 900;
      return {
        queries: [{
          promql: `max by (pipeline_name, environment) (last_over_time(pipeline_data_freshness_seconds${selector(f)}[${W(w)}])) + on (pipeline_name, environment) (time() - max by (pipeline_name, environment) (last_over_time(pipeline_last_success_timestamp_seconds${selector(f)}[${W(w)}])))`,
          what: 'data age now (freshness at load + time since the last success)',
        }],
        render: ([d]) => {
          const rows = vec(d);
          if (rows.length === 0) return `No successful run was recorded ${w.phrase}: the data is stale.`;
          const stale = rows.filter((r) => r.value > sla);
          return `${stale.length === 0 ? 'Yes, the data is fresh' : `${stale.length} of ${rows.length} pipelines are stale`} (SLA ${secs(sla)}): ${rows.map((r) => `${byLabel(r.metric, ['pipeline_name', 'environment'])} data is ${secs(r.value)} old${r.value > sla ? ' (STALE)' : ''}`).join(', ')}.`;
        },
      };
    },
  },
  {
    name: 'output_size',
    test: /\b(output size|how big|size of|bytes|parquet size|disk)\b/,
    plan: (q, w, f) => ({
      queries: [{ promql: `max by (pipeline_name, dataset) (last_over_time(pipeline_output_size_bytes${selector(f)}[${W(w)}]))`, what: 'output size' }],
      render: ([d]) => {
        const rows = vec(d);
        if (rows.length === 0) return `No output was written ${w.phrase}.`;
        const mb = (b: number) => (b >= 1 << 20 ? `${fmt(b / (1 << 20), 1)} MiB` : `${fmt(b / 1024, 1)} KiB`);
        return `Output of the last run ${w.phrase}: ${rows.map((r) => `${byLabel(r.metric, ['pipeline_name', 'dataset'])} ${mb(r.value)}`).join(', ')}.`;
      },
    }),
  },
  {
    name: 'quality',
    test: /\b(quality|data quality|dq|score|checks?)\b/,
    plan: (q, w, f) => {
      const perCheck = /\b(per|each|every|by) check|checks\b/.test(q) || QUALITY_CHECKS.some((c) => q.includes(c.replace(/_/g, ' ')));
      return {
        queries: [{
          promql: perCheck
            ? `max by (pipeline_name, check_type) (last_over_time(pipeline_data_quality_score${selector(f)}[${W(w)}]))`
            : `max by (pipeline_name, environment) (last_over_time(pipeline_data_quality_score${selector(f, { check_type: 'overall' })}[${W(w)}]))`,
          what: perCheck ? 'quality score per check' : 'overall quality score',
        }],
        render: ([d]) => {
          const rows = vec(d).sort((a, b) => (a.metric.check_type === 'overall' ? -1 : b.metric.check_type === 'overall' ? 1 : 0));
          if (rows.length === 0) return `No quality score was recorded ${w.phrase}.`;
          return `${perCheck ? 'Quality score per check' : 'Current data quality score'} (last run, 0-100): ${rows.map((r) => `${byLabel(r.metric, perCheck ? ['pipeline_name', 'check_type'] : ['pipeline_name', 'environment'])} ${fmt(r.value, 2)}%`).join(', ')}.`;
        },
      };
    },
  },
  {
    name: 'rows',
    test: /\b(rows?|records?|orders?|how many|total|processed|volume)\b/,
    plan: (q, w, f) => ({
      queries: [{ promql: `sum by (pipeline_name) (increase(pipeline_rows_processed_total${selector(f, { stage: f.stage ?? 'load', data_source: 'orders' })}[${W(w)}]))`, what: 'rows processed' }],
      render: ([d]) => {
        const rows = vec(d);
        if (rows.length === 0) return `No rows were processed ${w.phrase}.`;
        const total = rows.reduce((n, r) => n + r.value, 0);
        return `${fmt(Math.round(total))} rows were processed${f.stage ? ` by the ${f.stage} stage` : ' (loaded to the output)'} across ${rows.length} pipeline${rows.length > 1 ? 's' : ''} ${w.phrase}${rows.length > 1 ? `: ${rows.map((r) => `${r.metric.pipeline_name} ${fmt(Math.round(r.value))}`).join(', ')}` : ''}.`;
      },
    }),
  },
];

/** Maps a question to queries, or null when the offline engine cannot answer it. */
export function planQuestion(question: string, now: Date): OfflinePlan | null {
  const q = question.toLowerCase();
  const intent = INTENTS.find((i) => i.test.test(q));
  if (!intent) return null;
  const window = windowFor(question, now);
  const filters = filtersFor(question);
  return { intent: intent.name, window, filters, ...intent.plan(q, window, filters) };
}

export interface OfflineAnswer {
  answered: boolean;
  answer: string;
  intent: string | null;
  queries: { promql: string; what: string; time: string }[];
  results: QueryData[];
}

export async function answerOffline(question: string, client: VmClient, now: Date): Promise<OfflineAnswer> {
  const plan = planQuestion(question, now);
  if (!plan) {
    return {
      answered: false,
      intent: null,
      queries: [],
      results: [],
      answer: `I can't answer that without an LLM. Questions I can answer offline, for example:\n${EXAMPLE_QUESTIONS.map((x) => `  - ${x}`).join('\n')}`,
    };
  }
  // An explicit time one second ahead: VictoriaMetrics floors "now" to the second.
  const at = new Date(Math.ceil(now.getTime() / 1000) * 1000);
  const results: QueryData[] = [];
  for (const q of plan.queries) results.push(await client.query(q.promql, at));
  return {
    answered: true,
    intent: plan.intent,
    queries: plan.queries.map((q) => ({ ...q, time: at.toISOString() })),
    results,
    answer: plan.render(results),
  };
}
