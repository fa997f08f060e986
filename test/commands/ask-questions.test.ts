/**
 * The offline engine against a question set in everyday wording: several phrasings per intent,
 * typos, lower case, no question mark, follow-ups in a chat, and questions it must refuse. Every
 * expected number is computed here from the raw data ask-world.ts generated (run-pipeline's
 * injected defects and Parquet files, and the series it wrote), never from the engine's queries.
 * The score is printed; every question must be right.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { startVictoriaMetrics, type VictoriaMetrics } from '../helpers/victoria.js';
import type { AskResult } from '../../src/commands/ask.js';
import { MIN, buildWorld, increase, observations, quantile, type World } from './ask-world.js';
import type { JsonCase } from '../../src/core/output/render.js';

let vm: VictoriaMetrics;
let w: World;

before(async () => {
  vm = await startVictoriaMetrics();
  w = await buildWorld(vm);
});
after(async () => {
  await vm?.cleanup();
});

// How answers print numbers: thousands separators, at most two decimals (three for rates and ratios).
const num = (x: number, digits = 2) => (Number.isInteger(x) ? x.toLocaleString('en') : Number(x.toFixed(digits)).toLocaleString('en', { maximumFractionDigits: digits }));
const count = (x: number, unit: string) => `${num(x)} ${x === 1 ? unit.replace(/s$/, '') : unit}`;
const dur = (x: number) => (x < 1 ? `${num(x * 1000, 1)} ms` : x < 120 ? `${num(x, 2)} s` : x < 7200 ? `${num(x / 60, 1)} min` : `${num(x / 3600, 1)} h`);
const kib = (b: number) => (b >= 1 << 20 ? `${num(b / (1 << 20), 2)} MiB` : `${num(b / 1024, 1)} KiB`);
const iso = (t: number) => new Date(Math.floor(t) * 1000).toISOString().replace(/\.000Z$/, 'Z');
const round1 = (x: number) => Math.round(x * 10) / 10;
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** What an answer must contain (all of `has`, none of `not`), or that the question is refused (naming `names`). */
interface Expect {
  has?: (string | RegExp)[];
  not?: string[];
  refuse?: { names?: string[] };
}
type Case = [question: string, expect: Expect];

const H = 3600;
const D = 86_400;

function singleCases(): Case[] {
  const [E, C] = w.pipelines;
  const nowS = w.now.getTime() / 1000;
  const todayS = Math.max(60, Math.round((w.now.getTime() - Date.UTC(w.now.getUTCFullYear(), w.now.getUTCMonth(), w.now.getUTCDate())) / 1000));
  const billing = (name: string, match: Record<string, string>, seconds: number) => increase(w, name, { pipeline_name: 'billing', ...match }, seconds);
  const loaded = (seconds: number) => E.rowsLoaded + C.rowsLoaded + billing('pipeline_rows_processed_total', { stage: 'load', data_source: 'orders' }, seconds);
  const reasons = [...new Set([...Object.keys(E.quarantinedByReason), ...Object.keys(C.quarantinedByReason), 'null_required'])];
  const quarantined = (r: string, seconds = D) => (E.quarantinedByReason[r] ?? 0) + (C.quarantinedByReason[r] ?? 0) + billing('pipeline_rows_quarantined_total', { reason: r }, seconds);
  const qTotal = reasons.reduce((a, r) => a + quarantined(r), 0);
  const topReason = [...reasons].sort((a, b) => quarantined(b) - quarantined(a))[0];
  const types = [...new Set([...Object.keys(E.errorsByType), ...Object.keys(C.errorsByType), 'null_required', 'stage_failure'])];
  const errs = (t: string, seconds = D) => (E.errorsByType[t] ?? 0) + (C.errorsByType[t] ?? 0) + billing('pipeline_errors_total', { error_type: t }, seconds);
  const errTotal = types.reduce((a, t) => a + errs(t), 0);
  const nonZeroTypes = types.filter((t) => errs(t) > 0);
  const topType = [...nonZeroTypes].sort((a, b) => errs(b) - errs(a))[0];
  const qualityTypes = ['null_required', 'out_of_range', 'duplicate_key', 'unknown_foreign_key', 'future_timestamp'];
  const topCheck = [...qualityTypes].sort((a, b) => errs(b) - errs(a))[0];
  const runs = (status: string, seconds: number) => billing('pipeline_runs_total', { status }, seconds);
  const runsToday = E.runs + C.runs + runs('success', todayS) + runs('failed', todayS) + runs('abandoned', todayS);
  const failedToday = runs('failed', todayS);
  const midnight = Date.UTC(w.now.getUTCFullYear(), w.now.getUTCMonth(), w.now.getUTCDate());
  // Yesterday: what the written billing counter gained between the two midnights.
  const atMidnight = (t: number) => w.samples.filter((x) => x.name === 'pipeline_runs_total' && x.labels.status === 'failed').reduce((a, x) => a + (x.points.filter(([at]) => at <= t).pop()?.[1] ?? 0), 0);
  const failedYesterday = atMidnight(midnight) - atMidnight(midnight - D * 1000);
  const weekS = Math.max(60, Math.round((w.now.getTime() - (midnight - ((w.now.getUTCDay() + 6) % 7) * D * 1000)) / 1000));
  const ageB = round1(45 + nowS - (w.s - 20 * MIN) / 1000);
  const age = (p: typeof E) => round1(p.freshnessAtLoad + nowS - p.lastSuccess);
  const obs = (stage: string, seconds: number) => observations(w, stage, seconds);
  const p95 = (stage: string, seconds: number) => quantile(0.95, obs(stage, seconds));
  const lastLine = (minutes: number) => `${iso((w.s + minutes * MIN) / 1000)} (${dur(nowS - (w.s + minutes * MIN) / 1000)} ago)`;
  const airflowToday = increase(w, 'pipeobs_airflow_task_runs_total', { outcome: 'failed' }, todayS);
  const extractRows = E.rowsExtracted + C.rowsExtracted + billing('pipeline_rows_processed_total', { stage: 'extract', data_source: 'orders' }, D);
  const stageErrorsHour = (stage: string) => (E.errorsByStage[stage] ?? 0) + (C.errorsByStage[stage] ?? 0) + billing('pipeline_errors_total', { stage }, H);

  return [
    // ---- rows ----
    ['How many total rows have been processed across all pipelines?', { has: [`in the last 24 hours: ${count(loaded(D), 'rows')} in all`, `ecommerce_orders/prod ${count(E.rowsLoaded, 'rows')}`, `customer_sync/dev ${count(C.rowsLoaded, 'rows')}`] }],
    ['how many rows were processed in the last hour', { has: [`in the last hour: ${count(loaded(H), 'rows')} in all`, `billing/staging ${count(billing('pipeline_rows_processed_total', { stage: 'load', data_source: 'orders' }, H), 'rows')}`] }],
    ['rows processed today', { has: [`today (since 00:00 UTC): ${count(loaded(todayS), 'rows')} in all`] }],
    ['how many rows did we load in the last 10 minutes', { has: [`in the last 10 minutes: ${count(loaded(600), 'rows')} in all`], not: ['billing'] }],
    ['How many rows were loaded for ecommerce_orders', { has: [`${count(E.rowsLoaded, 'rows')} (ecommerce_orders/prod)`] }],
    ['how many rows did ecommerce orders load in prod', { has: [`${count(E.rowsLoaded, 'rows')} (ecommerce_orders/prod)`] }],
    ['how many records were extracted', { has: [`${count(extractRows, 'rows')} in all`] }],
    ['how many rows were extracted per pipeline', { has: [`billing ${count(1650, 'rows')}`, `customer_sync ${count(C.rowsExtracted, 'rows')}`, `ecommerce_orders ${count(E.rowsExtracted, 'rows')}`] }],
    ['how many customers were extracted?', { has: [`data source customers`, `${count(E.customers + C.customers, 'rows')} in all`] }],
    ['how many products did we read?', { has: [`data source products`, `${count(E.products + C.products, 'rows')} in all`] }],
    ['how many customers did customer_sync extract', { has: [`${count(C.customers, 'rows')} (customer_sync/dev)`] }],
    ['rows per second for billing in the last hour', { has: [`${num(billing('pipeline_rows_processed_total', { stage: 'load', data_source: 'orders' }, H) / H, 3)} rows/s`] }],
    ['how many rows were loaded in staging in the last 2 hours', { has: [`${count(billing('pipeline_rows_processed_total', { stage: 'load', data_source: 'orders' }, 2 * H), 'rows')} (billing/staging)`] }],
    ['How many rows did the load stage process in the last hour?', { has: [`${count(loaded(H), 'rows')} in all`] }],
    ['how many orders were loaded in the last 2 hours for billing', { has: [`${count(1500, 'rows')} (billing/staging)`] }],
    ['rows transformed by customer_sync', { has: [`stage transform`, `${count(C.stageRows.transform, 'rows')} (customer_sync/dev)`] }],
    ['how many rows made it through the quality stage in prod', { has: [`${count(E.stageRows.quality, 'rows')} (ecommerce_orders/prod)`] }],
    ['total rows loaded by ecommerce_orders today', { has: [`${count(E.rowsLoaded, 'rows')} (ecommerce_orders/prod)`] }],
    ['rows per pipeline in the last hour', { has: [`billing ${count(500, 'rows')}`, `customer_sync ${count(C.rowsLoaded, 'rows')}`, `ecommerce_orders ${count(E.rowsLoaded, 'rows')}`] }],
    ['which pipeline loaded the most rows', { has: [`Most rows processed`, `: ecommerce_orders, ${count(E.rowsLoaded, 'rows')}`] }],
    // ---- quarantine ----
    ['how many rows were quarantined and why?', { has: [`${count(qTotal, 'rows')} in all`, ...reasons.filter((r) => quarantined(r) > 0).map((r) => `${r} ${count(quarantined(r), 'rows')}`)] }],
    ['how many rows were quarantined', { has: [`${count(qTotal, 'rows')} in all`, `billing/staging ${count(70, 'rows')}`] }],
    ['quarantined rows by reason for ecommerce_orders', { has: [`${count(sum(E.quarantinedByReason), 'rows')} in all`, ...Object.entries(E.quarantinedByReason).map(([r, n]) => `${r} ${count(n, 'rows')}`)] }],
    ['why were rows quarantined in prod', { has: Object.entries(E.quarantinedByReason).map(([r, n]) => `${r} ${count(n, 'rows')}`) }],
    ['how many rows were set aside because of nulls', { has: [`reason null_required`, `${count(quarantined('null_required'), 'rows')} in all`] }],
    ['how many rows went to quarantine in the last hour', { has: [`in the last hour: ${count(reasons.reduce((a, r) => a + quarantined(r, H), 0), 'rows')} in all`] }],
    ['which reason quarantined the most rows', { has: [`Most rows quarantined`, `: ${topReason}, ${count(quarantined(topReason), 'rows')}`] }],
    ['quarantine count for customer_sync', { has: [`${count(sum(C.quarantinedByReason), 'rows')} (customer_sync/dev)`] }],
    // ---- errors ----
    ['how many errors', { has: [`${count(errTotal, 'errors')} in all`] }],
    ['Are there any errors in the pipeline?', { has: [/^Yes: errors in the last 24 hours/, `${count(errTotal, 'errors')} in all`] }],
    ['errors by type', { has: nonZeroTypes.map((t) => `${t} ${count(errs(t), 'errors')}`) }],
    ['errors per stage in the last hour', { has: ['load', 'quality', 'transform'].map((st) => `${st} ${count(stageErrorsHour(st), 'errors')}`) }],
    ['how many exact duplicate records were removed', { has: [`error type exact_duplicate`, count(errs('exact_duplicate'), 'errors')] }],
    ['how many duplicates were found', { has: [`error type duplicate_key or exact_duplicate`, count(errs('exact_duplicate') + errs('duplicate_key'), 'errors')] }],
    ['how many null values were found in prod', { has: [`${count(E.errorsByType.null_required, 'errors')} (ecommerce_orders/prod)`] }],
    ['what kind of error happens most', { has: [`Most errors in the last 24 hours: ${topType}, ${count(errs(topType), 'errors')}`] }],
    ['which error type is the most common', { has: [`Most errors in the last 24 hours: ${topType}, ${count(errs(topType), 'errors')}`] }],
    ['any errors in the last 10 minutes for billing', { has: [/^Yes: /, `${count(billing('pipeline_errors_total', {}, 600), 'errors')} (billing/staging)`] }],
    ['were there errors in the load stage', { has: [/^Yes: /, `${count(2, 'errors')} (billing/staging)`] }],
    ['how many type conversion errors in prod', { has: [`${count(E.errorsByType.type_conversion, 'errors')} (ecommerce_orders/prod)`] }],
    ['how many future timestamps did customer_sync see', { has: [`${count(C.errorsByType.future_timestamp, 'errors')} (customer_sync/dev)`] }],
    ['how many stage failures did billing have', { has: [`${count(2, 'errors')} (billing/staging)`] }],
    ['errors per hour for billing', { has: [`(the increase divided by 24 hours): ${num(billing('pipeline_errors_total', {}, D) / 24)} errors/hour (billing/staging)`] }],
    ['how many errors per minute in the last hour for billing', { has: [`(the increase divided by 60 minutes): ${num(billing('pipeline_errors_total', {}, H) / 60)} errors/minute (billing/staging)`] }],
    ['error count per pipeline today', { has: [`ecommerce_orders ${count(sum(E.errorsByType), 'errors')}`, `customer_sync ${count(sum(C.errorsByType), 'errors')}`] }],
    // ---- quality ----
    ['which quality check fails the most?', { has: [`Most rows failing quality checks`, `: ${topCheck}, ${count(errs(topCheck), 'rows')}`] }],
    ['which checks failed', { has: qualityTypes.filter((t) => errs(t) > 0).map((t) => `${t} ${count(errs(t), 'rows')}`) }],
    ["What's the current data quality score?", { has: [`billing/staging 93.5%`, `customer_sync/dev ${num(C.qualityOverall)}%`, `ecommerce_orders/prod ${num(E.qualityOverall)}%`] }],
    ['data quality score per check', { has: Object.entries(E.qualityByCheck).map(([k, v]) => `ecommerce_orders/prod/${k} ${num(v)}%`) }],
    ['quality score for billing by check', { has: ['billing/staging/null_required 88%', 'billing/staging/out_of_range 99%'] }],
    ['which check has the lowest score', { has: ['Lowest quality score', ': billing/staging/null_required, 88%'] }],
    ['what is the worst quality check for billing', { has: [': billing/staging/null_required, 88%'] }],
    ['quality score in prod', { has: [`${num(E.qualityOverall)}% (ecommerce_orders/prod)`] }],
    ['has the quality score changed in the last hour', { has: [/^No: /, 'billing/staging 93.5% → 93.5% (+0%)'] }],
    ['what is the dq score of customer_sync', { has: [`${num(C.qualityOverall)}% (customer_sync/dev)`] }],
    ['is the quality score above 95 for billing', { has: [/^No: /, 'billing/staging 93.5%'] }],
    ['is the quality score over 99 in prod', { has: [E.qualityOverall > 99 ? /^Yes: / : /^No: /, `${num(E.qualityOverall)}%`] }],
    ['which pipeline has the best quality', { has: [`Highest quality score`, `: ${C.qualityOverall >= E.qualityOverall ? `customer_sync/dev, ${num(C.qualityOverall)}%` : `ecommerce_orders/prod, ${num(E.qualityOverall)}%`}`] }],
    ['lowest quality score', { has: [': billing/staging, 93.5%'] }],
    // ---- runs ----
    ['how many runs happened today?', { has: [`${count(runsToday, 'runs')} in all`] }],
    ['how many runs failed', { has: [`${count(runs('failed', D), 'runs')} (billing/staging)`] }],
    ['did any run fail in the last hour?', { has: [/^Yes: /, `${count(runs('failed', H), 'runs')} (billing/staging)`] }],
    ['did any run fail in the last 10 minutes', { has: [/^Yes: /, `${count(runs('failed', 600), 'runs')} (billing/staging)`] }],
    ['Which ETL jobs failed today?', failedToday > 0 ? { has: [`${count(failedToday, 'runs')} (billing)`] } : { has: [/^No runs/] }],
    ['which pipelines failed in the last hour', { has: [`${count(runs('failed', H), 'runs')} (billing)`] }],
    ['how many successful runs in the last 24 hours', { has: [`${count(runs('success', D) + E.runs + C.runs, 'runs')} in all`] }],
    ['how many runs did billing have', { has: [`${count(runs('success', D) + runs('failed', D), 'runs')} (billing/staging)`] }],
    ['did customer_sync fail today', { has: [/^No: /, `${count(0, 'runs')} (customer_sync/dev)`] }],
    ['were any runs abandoned', { has: [/^No: /] }],
    ['number of runs per pipeline in the last hour', { has: [`billing ${count(runs('success', H) + runs('failed', H), 'runs')}`, `customer_sync ${count(C.runs, 'runs')}`, `ecommerce_orders ${count(E.runs, 'runs')}`] }],
    ['how many times did ecommerce_orders run', { has: [`${count(E.runs, 'runs')} (ecommerce_orders/prod)`] }],
    // ---- freshness ----
    ['is the data fresh?', { has: [/^No: 1 of 3 pipelines is stale \(SLA 15 min\)/, `billing/staging data is ${dur(ageB)} old (STALE)`, `ecommerce_orders/prod data is ${dur(age(E))} old`] }],
    ['Is the data fresh? (SLA 30 minutes)', { has: [/^Yes: the data is fresh \(SLA 30 min\)/, `customer_sync/dev data is ${dur(age(C))} old`] }],
    ['how old is the data', { has: [/^1 of 3 pipelines is stale/, `billing/staging data is ${dur(ageB)} old (STALE)`] }],
    ['is billing data stale', { has: [/^Yes: 1 of 1 pipeline is stale/, `billing/staging data is ${dur(ageB)} old`] }],
    ['is the data up to date in prod', { has: [/^Yes: the data is fresh/, `ecommerce_orders/prod data is ${dur(age(E))} old`], not: ['billing'] }],
    ['how fresh is customer_sync', { has: [`customer_sync/dev data is ${dur(age(C))} old`], not: ['billing'] }],
    ['is the data older than 10 minutes', { has: [/^Yes: 1 of 3 pipelines is stale \(SLA 10 min\)/] }],
    ['is billing older than 30 minutes', { has: [/^No: the data is fresh \(SLA 30 min\): billing\/staging data is /] }],
    ['data freshness for billing with an sla of 25 minutes', { has: [/SLA 25 min/, `billing/staging data is ${dur(ageB)} old`], not: ['STALE'] }],
    // ---- last success, last run ----
    ['when did the pipeline last succeed?', { has: [`billing/staging ${iso((w.s - 20 * MIN) / 1000)} (${dur(nowS - (w.s - 20 * MIN) / 1000)} ago)`, `ecommerce_orders/prod ${iso(E.lastSuccess)}`] }],
    ['when did billing last succeed', { has: [`billing/staging ${iso((w.s - 20 * MIN) / 1000)}`], not: ['ecommerce'] }],
    ['when was the last successful run of ecommerce_orders', { has: [`ecommerce_orders/prod ${iso(E.lastSuccess)}`] }],
    ['how long ago did customer_sync last succeed', { has: [`customer_sync/dev ${iso(C.lastSuccess)}`] }],
    ['did the last run succeed', { has: [/^No: the last run in the last 24 hours: /, `billing/staging failed at ${iso((w.s - 5 * MIN) / 1000)} (${dur(nowS - (w.s - 5 * MIN) / 1000)} ago)`, 'customer_sync/dev succeeded at', 'ecommerce_orders/prod succeeded at'] }],
    ['did the last run of billing fail', { has: [/^Yes: /, `billing/staging failed at ${iso((w.s - 5 * MIN) / 1000)}`], not: ['ecommerce'] }],
    ['was the last run of ecommerce_orders successful', { has: [/^Yes: /, 'ecommerce_orders/prod succeeded at'] }],
    ['how long did the last billing run take', { has: [`8.25 s (billing/staging)`] }],
    ['how many rows did the last billing run load', { has: [`${count(500, 'rows')} (billing/staging)`] }],
    ['how long did the last run take?', { has: [`billing/staging 8.25 s`] }],
    // ---- stage durations ----
    ["What's the average processing time per stage?", { has: [/^Mean stage duration in the last 24 hours: extract [\d.]+ (s|ms), load [\d.]+ (s|ms), quality [\d.]+ (s|ms), transform [\d.]+ (s|ms)\.$/] }],
    ['average stage duration for billing in the last hour', { has: [`extract ${dur(mean(obs('extract', H)))}, load ${dur(mean(obs('load', H)))}, transform ${dur(mean(obs('transform', H)))}`] }],
    ['how long does the extract stage take for billing', { has: [`${dur(mean(obs('extract', D)))} (extract)`] }],
    ['p95 duration of each stage for billing in the last hour', { has: [`extract ${dur(p95('extract', H))}, load ${dur(p95('load', H))}, transform ${dur(p95('transform', H))}`] }],
    ['what is the 95th percentile of the load stage for billing in the last 2 hours', { has: [`p95 stage duration`, `${dur(p95('load', 2 * H))} (load)`] }],
    ['median duration of the transform stage in staging', { has: [`p50 stage duration`, `${dur(quantile(0.5, obs('transform', D)))} (transform)`] }],
    ['p99 stage duration in staging', { has: [`extract ${dur(quantile(0.99, obs('extract', D)))}, load ${dur(quantile(0.99, obs('load', D)))}`] }],
    ['which stage is the slowest?', { has: [/^Slowest mean stage duration in the last 24 hours: extract, /] }],
    ['which stage is the slowest for billing in the last hour', { has: [`: extract, ${dur(4)} (then load ${dur(0.6)}, transform ${dur(0.2)})`] }],
    ['what is the fastest stage in staging', { has: [`Fastest mean stage duration`, `: transform, ${dur(0.2)} (then load ${dur(mean(obs('load', D)))}, extract ${dur(mean(obs('extract', D)))})`] }],
    ['which stage got slower in the last hour for billing?', { has: [`extract got slower the most`, `extract ${dur(2)} → ${dur(4)} (+100%)`, `load ${dur(0.5)} → ${dur(0.6)} (+20%)`] }],
    ['did the extract stage get slower in the last hour in staging', { has: [/^Yes: /, `extract ${dur(2)} → ${dur(4)} (+100%)`] }],
    ['is the load stage under 1 second on average for billing in the last hour', { has: [/^Yes: /, `load ${dur(0.6)}`] }],
    ['p90 of transform for billing', { has: [`p90 stage duration`, `${dur(quantile(0.9, obs('transform', D)))} (transform)`] }],
    ['how many times did the extract stage run for billing in the last hour', { has: [`Stage duration observations`, `${obs('extract', H).length} (extract)`] }],
    ['did the transform stage get slower for billing in the last hour', { has: [/^No: /, `transform ${dur(0.2)} → ${dur(0.2)} (+0%)`] }],
    ['total time spent in the load stage for billing', { has: [`Total stage duration`, `${dur(obs('load', D).reduce((a, b) => a + b, 0))} (load)`] }],
    ['how many executions of the extract stage for billing', { has: [`${obs('extract', D).length} (extract)`] }],
    // ---- output size ----
    ['how big is the output?', { has: ['billing/staging/orders 3 MiB', `ecommerce_orders/prod/orders ${kib(E.outputBytes)}`] }],
    ['output size for billing', { has: ['3 MiB (billing/staging/orders)'] }],
    ['how big is the parquet output of ecommerce_orders', { has: [`ecommerce_orders/prod/orders ${kib(E.outputBytes)}`, `ecommerce_orders/prod/quarantine ${kib(E.quarantineBytes)}`] }],
    ['what is the size of the quarantine file for customer_sync', { has: [`${kib(C.quarantineBytes)} (customer_sync/dev/quarantine)`] }],
    // ---- Kafka ----
    ['How far behind are the Kafka consumers?', { has: ['orders/etl 1,700 messages, payments/etl 50 messages'] }],
    ['what is the consumer lag per topic', { has: ['orders 1,700 messages, payments 50 messages'] }],
    ['which topic has the biggest lag', { has: [': orders, 1,700 messages (then payments 50 messages)'] }],
    ['is the kafka lag growing in the last hour', { has: [/^Yes: /, 'orders/etl 800 messages → 1,700 messages (+112.5%)'] }],
    ['how many kafka messages were consumed in the last hour', { has: ['3,900 messages in all; orders 3,000 messages, payments 900 messages'] }],
    ['messages per topic', { has: ['9,200 messages in all; orders 8,000 messages, payments 1,200 messages'] }],
    ['lag for payments', { has: ['50 messages (payments/etl)'] }],
    ['is the lag going up in the last hour', { has: [/^Yes: /, 'orders/etl grew the most', 'payments/etl 50 messages → 50 messages (+0%)'] }],
    ['kafka lag in the orders topic', { has: ['1,700 messages (orders/etl)'] }],
    // ---- ML ----
    ['Is the model confidence dropping in the last hour?', { has: [/^Yes: /, 'churn/v2 dropped the most', 'churn/v2 0.9 → 0.84 (-6.7%)'] }],
    ['what is the average model confidence', { has: [`churn/v2 ${num(129 / 150, 3)}, fraud_features/v1 0.9`] }],
    ['confidence for fraud_features', { has: ['0.9 (fraud_features/v1)'] }],
    ['which model has the lowest confidence', { has: [`: churn, ${num(129 / 150, 3)} (then fraud_features 0.9)`] }],
    ['how many predictions were made', { has: ['210 predictions in all; churn/v2 150 predictions, fraud_features/v1 60 predictions'] }],
    ['how many low confidence predictions did churn have', { has: ['25 predictions (churn/v2)'] }],
    ['predictions per service in the last hour', { has: ['churn 100 predictions, fraud_features 40 predictions'] }],
    ['mean confidence of churn in the last hour', { has: ['0.84 (churn/v2)'] }],
    // ---- logs ----
    ['What is the error rate in the logs?', { has: ['airflow 6% (15 of 250 lines), kafka 2.5% (25 of 1,000 lines), ml 0% (0 of 400 lines)'] }],
    ['log error rate for airflow', { has: ['airflow 6% (15 of 250 lines)'], not: ['kafka'] }],
    ['how many log lines were read', { has: ['1,650 lines in all'] }],
    ['how many error lines in the logs by component', { has: ['airflow 15 lines, kafka 25 lines'] }],
    ['how many log lines were skipped and why', { has: ['9 lines in all; bad_timestamp 2 lines, malformed_json 7 lines'] }],
    ['when was the last log line for ml', { has: [`ml ${lastLine(-40)}`] }],
    ['how many log lines did kafka write in the last hour', { has: ['1,000 lines (kafka)'] }],
    // ---- Airflow ----
    ['Which Airflow tasks failed today?', airflowToday > 0 ? { has: [`${count(airflowToday, 'runs')} (etl_daily)`] } : { has: [/^No /] }],
    ['how many airflow tasks were retried', { has: ['3 runs in all; etl_daily 2 runs, reporting 1 run'] }],
    ['which dag had the most failures', { has: [': etl_daily, 1 run'] }],
    ['airflow task runs by outcome', { has: ['failed 1 run, success 25 runs, up_for_retry 3 runs'] }],
    ['how many airflow tasks succeeded for reporting', { has: ['4 runs (reporting)'] }],
    ['which task failed', { has: ['1 run (load)'] }],
    ['which dag is slowest', { has: ['No mean Airflow task duration in the last 24 hours.'] }],
    // ---- a metric outside the catalog ----
    ['what is my_job_rows_total by host?', { has: ['340 in all; alpha 300, beta 40'] }],
    ['my_job_rows_total in the last 30 minutes', { has: ['in the last 30 minutes: 180'] }],
    ['my_job_rows_total for alpha', { has: [': 300'] }],
    // ---- health: what the shipped alert rules say now ----
    // billing/staging failed at -50 and -5 min (2 in PipelineRunsFailing's hour); its data is 20 min + 45 s old, inside the 75-min data-age SLA.
    ['is anything wrong?', { has: [/^Yes: /, 'PipelineRunsFailing (warning) for billing/staging: value 2', 'PipelineQualityLow (warning) for billing/staging: value 93.5', `LogsStale (warning) for ml: value ${dur(nowS - (w.s - 40 * MIN) / 1000)}`], not: ['PipelineDataStale'] }],
    ['any problems?', { has: [/^Yes: /, 'PipelineQualityLow (warning) for billing/staging'] }],
    ['is everything ok', { has: [/^No: /, 'PipelineRunsFailing'] }],
    ['are any alerts firing', { has: [/^Yes: /, 'LogsStale'] }],
    ['is the pipeline broken', { has: [/^Yes: /, 'PipelineRunsFailing'] }],
    // ---- windows in other words ----
    ['how many runs failed since yesterday', { has: [`since yesterday 00:00 UTC: ${count(runs('failed', todayS + D), 'runs')} (billing/staging)`] }],
    ['errors this week for billing', { has: [/this week \(since Monday 00:00 UTC\)/, `${count(billing('pipeline_errors_total', {}, weekS), 'errors')} (billing/staging)`] }],
    ['failed runs over the past 30 min', { has: [`in the last 30 minutes: ${count(runs('failed', 1800), 'runs')} (billing/staging)`] }],
    ['rows loaded in the last day for billing', { has: [`in the last 24 hours: ${count(1500, 'rows')} (billing/staging)`] }],
    ['how many predictions in the past 2 hours', { has: [`in the last 2 hours: ${count(increase(w, 'pipeobs_ml_predictions_total', {}, 2 * H), 'predictions')} in all`] }],
    ['quarantined rows for billing in the last 45 minutes', { has: [`in the last 45 minutes: ${count(billing('pipeline_rows_quarantined_total', {}, 45 * 60), 'rows')} (billing/staging)`] }],
    ['how many runs failed yesterday', failedYesterday > 0 ? { has: [`yesterday (00:00 to 24:00 UTC): ${count(failedYesterday, 'runs')}`] } : { has: [/^No runs \(status failed\) yesterday \(00:00 to 24:00 UTC\)\.$|yesterday \(00:00 to 24:00 UTC\): 0 runs/] }],
    ['is the lag above 1000 messages for orders', { has: [/^Yes: /, 'orders/etl 1,700 messages'] }],
    ['what is the p95 of pipeobs_kafka_message_latency_seconds', { has: ['No p95 Kafka message latency in the last 24 hours.'] }],
    // ---- shares ----
    ['what is the success rate of runs', { has: [`billing/staging ${num((100 * runs('success', D)) / (runs('success', D) + runs('failed', D)))}% (${runs('success', D)} of ${runs('success', D) + runs('failed', D)} runs)`, `ecommerce_orders/prod 100% (${E.runs} of ${E.runs} runs)`] }],
    ['failure rate by pipeline', { has: [`billing ${num((100 * runs('failed', D)) / (runs('success', D) + runs('failed', D)))}%`, 'customer_sync 0%'] }],
    ['is the success rate above 50% for billing', { has: [/^Yes: /, `billing/staging ${num((100 * runs('success', D)) / (runs('success', D) + runs('failed', D)))}%`] }],
    ['what is the error rate', { has: [`ecommerce_orders/prod ${num((100 * sum(E.errorsByType)) / E.rowsExtracted)}% (${num(sum(E.errorsByType))} of ${num(E.rowsExtracted)} rows)`] }],
    ['what percentage of rows were quarantined', { has: [`customer_sync/dev ${num((100 * sum(C.quarantinedByReason)) / C.rowsExtracted)}% (${num(sum(C.quarantinedByReason))} of ${num(C.rowsExtracted)} rows)`] }],
    // ---- side by side, and what the server has ----
    ['how many runs succeeded vs failed', { has: [`failed ${count(runs('failed', D), 'runs')}, success ${count(runs('success', D) + E.runs + C.runs, 'runs')}`] }],
    ['compare prod and staging errors', { has: [`prod ${count(sum(E.errorsByType), 'errors')}, staging ${count(72, 'errors')}`] }],
    ['list the pipelines', { has: ['Pipelines with data in the last 24 hours: billing, customer_sync, ecommerce_orders (3).'] }],
    ['which environments are there', { has: ['Environments with data in the last 24 hours: dev, prod, staging (3).'] }],
    ['how many stages are there', { has: ['Stages with data in the last 24 hours: extract, load, quality, transform (4).'] }],
    // ---- exclusions ----
    ['errors not in prod', { has: [`environment not prod`, `${count(errTotal - sum(E.errorsByType), 'errors')} in all`], not: ['ecommerce_orders'] }],
    ['how many rows were loaded for pipelines other than billing', { has: [`pipeline name not billing`, `${count(E.rowsLoaded + C.rowsLoaded, 'rows')} in all`], not: ['billing/'] }],
    ['how many rows were dropped', { has: [`Rows quarantined in the last 24 hours: ${count(qTotal, 'rows')} in all`] }],
    // ---- typos, lower and upper case, no question mark ----
    ['how many rows were porcessed in the last hour', { has: [`${count(loaded(H), 'rows')} in all`, 'I read "porcessed" as "processed"'] }],
    ['wat is the qualty score', { has: ['billing/staging 93.5%'] }],
    ['how mny runs faild today', failedToday > 0 ? { has: [`${count(failedToday, 'runs')} (billing/staging)`] } : { has: [/^No runs/] }],
    ['how many errors for pipeline billng', { has: [`${count(72, 'errors')} (billing/staging)`, 'I read "billng" as "billing"'] }],
    ['WHICH STAGE IS THE SLOWEST FOR BILLING IN THE LAST HOUR', { has: [`: extract, ${dur(4)}`] }],
    ['avrage stage duration for biling in the last hour', { has: [`extract ${dur(4)}`] }],
    ['is the data frsh', { has: [/^No: 1 of 3 pipelines is stale/] }],
    ['how many rows were quarantned in prod', { has: [`${count(sum(E.quarantinedByReason), 'rows')} (ecommerce_orders/prod)`] }],
    ['whats the kafka lag', { has: ['orders/etl 1,700 messages'] }],
    ['errors in the lst hour', { has: [`in the last hour: ${count(types.reduce((a, t) => a + errs(t, H), 0), 'errors')} in all`] }],
    // ---- refused: nothing holds it, or a part is not understood ----
    ['What is the meaning of life?', { refuse: {} }],
    ['how many unicorns were processed', { refuse: { names: ['"unicorns"'] } }],
    ['what is the weather in paris', { refuse: { names: ['paris'] } }],
    ['how many rows did the deploy stage process', { refuse: { names: ['no stage "deploy"', 'load'] } }],
    ['what is the quality score for fraud_featurez', { refuse: { names: ['fraud_features'] } }],
    ['what is the maximum stage duration', { refuse: { names: ['maximum', 'p99'] } }],
    ['average number of errors', { refuse: { names: ['no average'] } }],
    ['when did the errors happen', { refuse: { names: ['no time of its own'] } }],
    ['how many tweets did we send', { refuse: { names: ['tweets'] } }],
    ['what is the cpu usage', { refuse: { names: ['cpu'] } }],
    ['how many rows were processed in the moon environment', { refuse: { names: ['no environment "moon"', 'prod'] } }],
    ['what is the revenue today', { refuse: { names: ['revenue'] } }],
    ['how many employees ran the pipeline', { refuse: { names: ['employees'] } }],
    ['show me the memory of the database', { refuse: {} }],
    ['how many rows and errors were there', { refuse: { names: ['"rows"'] } }],
    ['how many rows were processed between 10:00 and 11:00', { refuse: { names: ['10:00, 11:00'] } }],
    ['errors in 2025', { refuse: { names: ['"2025"'] } }],
    ['how many more errors than yesterday', { refuse: { names: ['"than"'] } }],
    ['what was the first quality score today', { refuse: { names: ['"first"'] } }],
    ['what happened in the last hour', { refuse: {} }],
  ];
}

/** Conversations over stdin: each follow-up changes only what it names. */
function conversations(): Case[][] {
  const [E, C] = w.pipelines;
  const billing = (name: string, match: Record<string, string>, seconds: number) => increase(w, name, { pipeline_name: 'billing', ...match }, seconds);
  const loaded = (seconds: number) => E.rowsLoaded + C.rowsLoaded + billing('pipeline_rows_processed_total', { stage: 'load', data_source: 'orders' }, seconds);
  const obs = (stage: string, seconds: number) => observations(w, stage, seconds);
  const errsHour = sum(E.errorsByType) + sum(C.errorsByType) + billing('pipeline_errors_total', {}, H);
  const qHour = sum(E.quarantinedByReason) + sum(C.quarantinedByReason) + billing('pipeline_rows_quarantined_total', {}, H);
  return [
    [
      ['how many rows were processed in the last hour', { has: [`${count(loaded(H), 'rows')} in all`] }],
      ['and in the last 10 minutes?', { has: [`in the last 10 minutes: ${count(loaded(600), 'rows')} in all`] }],
      ['what about billing?', { has: [`pipeline name billing`, `in the last 10 minutes: ${count(0, 'rows')}`] }],
      ['and in the last 2 hours', { has: [`in the last 2 hours: ${count(1500, 'rows')} (billing/staging)`] }],
      ['by stage', { has: [`extract ${count(1650, 'rows')}`, `load ${count(1500, 'rows')}`] }],
    ],
    [
      ['what is the p95 duration of the load stage for billing in the last 2 hours', { has: [`${dur(quantile(0.95, obs('load', 2 * H)))} (load)`] }],
      ['what about extract?', { has: [`${dur(quantile(0.95, obs('extract', 2 * H)))} (extract)`] }],
      ['and the p50?', { has: [`p50 stage duration`, `${dur(quantile(0.5, obs('extract', 2 * H)))} (extract)`] }],
      ['and in the last hour', { has: [`in the last hour: ${dur(quantile(0.5, obs('extract', H)))} (extract)`] }],
      ['what about the average', { has: [`Mean stage duration`, `${dur(mean(obs('extract', H)))} (extract)`] }],
    ],
    [
      ['did any run fail in the last hour?', { has: [/^Yes: /, `${count(billing('pipeline_runs_total', { status: 'failed' }, H), 'runs')}`] }],
      ['and in the last 10 minutes?', { has: [/^Yes: /, `in the last 10 minutes: ${count(billing('pipeline_runs_total', { status: 'failed' }, 600), 'runs')}`] }],
      ['what about customer_sync?', { has: [/^No: /, `${count(0, 'runs')} (customer_sync/dev)`] }],
    ],
    [
      ['how many errors in the last hour', { has: [`${count(errsHour, 'errors')} in all`] }],
      ['and quarantined rows?', { has: [`Rows quarantined in the last hour: ${count(qHour, 'rows')} in all`] }],
      ['per reason', { has: [`null_required ${count((E.quarantinedByReason.null_required ?? 0) + (C.quarantinedByReason.null_required ?? 0) + 30, 'rows')}`] }],
    ],
    [
      ['what is the quality score for billing', { has: ['93.5% (billing/staging)'] }],
      ['and for ecommerce_orders?', { has: [`${num(E.qualityOverall)}% (ecommerce_orders/prod)`] }],
      ['what about the moon?', { refuse: { names: ['moon'] } }],
      ['and customer_sync?', { has: [`${num(C.qualityOverall)}% (customer_sync/dev)`] }],
    ],
    [
      ['is the kafka lag growing in the last hour', { has: [/^Yes: /] }],
      ['what about payments?', { has: [/^No: /, 'payments/etl 50 messages → 50 messages (+0%)'] }],
      ['and orders?', { has: [/^Yes: /, 'orders/etl 800 messages → 1,700 messages (+112.5%)'] }],
    ],
    [
      ['is the data fresh?', { has: [/^No: 1 of 3 pipelines is stale \(SLA 15 min\)/] }],
      ['and for billing with an sla of 30 minutes', { has: [/^Yes: the data is fresh \(SLA 30 min\): billing\/staging data is [\d.]+ min old\.$/] }],
      ['what about ecommerce_orders?', { has: [/^Yes: the data is fresh \(SLA 30 min\): ecommerce_orders\/prod data is /], not: ['billing'] }],
    ],
    [
      ['how many airflow tasks failed in the last 2 hours', { has: ['1 run (etl_daily)'] }],
      ['and retried?', { has: ['in the last 2 hours: 3 runs in all; etl_daily 2 runs, reporting 1 run'] }],
      ['by task', { has: ['in the last 2 hours: 3 runs in all; load 2 runs, render 1 run'] }],
    ],
    [
      ['how many kafka messages were consumed in the last hour', { has: ['3,900 messages in all'] }],
      ['and in the last 10 minutes', { has: [/^No Kafka messages consumed in the last 10 minutes\.$|in the last 10 minutes: 0 messages in all/] }],
      ['and today', { has: [`today (since 00:00 UTC): ${num(increase(w, 'pipeobs_kafka_messages_total', {}, Math.max(60, Math.round((w.now.getTime() - Date.UTC(w.now.getUTCFullYear(), w.now.getUTCMonth(), w.now.getUTCDate())) / 1000))))} messages in all`] }],
    ],
  ];
}

/** Why an answer is wrong, or null when it is right. */
function check(r: AskResult | undefined, e: Expect): string | null {
  if (!r) return 'no answer';
  if (e.refuse) {
    if (r.answered) return `answered instead of refusing: ${r.answer}`;
    if (!/^I am not sure what you mean: /.test(r.answer)) return `refused without saying so: ${r.answer}`;
    if (!r.readings || r.readings.length < 1 || r.readings.length > 3) return `offered ${r.readings?.length ?? 0} readings, not 1-3: ${r.answer}`;
    for (const n of e.refuse.names ?? []) if (!r.answer.includes(n)) return `the refusal does not name ${n}: ${r.answer}`;
    return null;
  }
  if (!r.answered) return `refused: ${r.answer}`;
  if (r.queries.length === 0) return `no PromQL shown: ${r.answer}`;
  for (const h of e.has ?? []) if (typeof h === 'string' ? !r.answer.includes(h) : !h.test(r.answer)) return `missing ${h}: ${r.answer}`;
  for (const n of e.not ?? []) if (r.answer.includes(n)) return `should not mention ${n}: ${r.answer}`;
  return null;
}

async function ask(args: string[], stdin?: string) {
  return runCli(['ask', '--offline', '-o', 'json', ...args], { now: () => w.now, stdin, env: { PIPEOBS_VM_URL: vm.url, OPENAI_API_KEY: '' } });
}

test('the question set: every question answered right or refused, and the score printed', async (t) => {
  const singles = singleCases();
  const chats = conversations();
  const wrong: string[] = [];
  let total = 0;
  for (const [q, e] of singles) {
    total++;
    const r = await ask([q]);
    const doc = r.stdout ? (JSON.parse(r.stdout) as JsonCase<AskResult>) : undefined;
    const problem = check(doc, e) ?? (e.refuse ? (r.code === 5 ? null : `refused with exit ${r.code}, not 5`) : r.code === 0 ? null : `exit ${r.code}: ${r.stderr}`);
    if (problem) wrong.push(`${JSON.stringify(q)}: ${problem}`);
  }
  for (const chat of chats) {
    const r = await ask([], chat.map(([q]) => q).join('\n') + '\n');
    assert.equal(r.code, 0, r.stderr);
    const docs = JSON.parse(r.stdout) as JsonCase<AskResult>[];
    chat.forEach(([q, e], i) => {
      total++;
      const problem = check(docs[i], e);
      if (problem) wrong.push(`chat ${JSON.stringify(chat[0][0])} → ${JSON.stringify(q)}: ${problem}`);
    });
  }
  const refusals = singles.filter(([, e]) => e.refuse).length + chats.flat().filter(([, e]) => e.refuse).length;
  t.diagnostic(`ask question set: ${total - wrong.length}/${total} right (${refusals} of them must be refused)`);
  assert.ok(total >= 150, `the set has ${total} questions, fewer than 150`);
  assert.deepEqual(wrong, []);
});

test('--output json keeps what was understood, the queries and their results', async () => {
  const r = await ask(['p95 duration of each stage for billing in the last hour']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as JsonCase<AskResult>;
  assert.deepEqual(doc.understood, {
    what: 'stage_duration', metric: 'pipeline_stage_duration_seconds', how: 'percentile', quantile: 0.95, filters: { pipeline_name: ['billing'] }, by: ['stage'], rank: null,
    window: { seconds: 3600, phrase: 'in the last hour' }, threshold: null, yes_no: false, health: false, follow_up: false, corrections: [],
  });
  assert.deepEqual(doc.queries.map((q) => q.promql), ['histogram_quantile(0.95, sum by (le, stage) (increase(pipeline_stage_duration_seconds_bucket{pipeline_name="billing"}[1h])))']);
  const result = doc.results[0] as { result_type: string; result: { metric: { stage: string } }[] };
  assert.equal(result.result_type, 'vector');
  assert.deepEqual(result.result.map((x) => x.metric.stage).sort(), ['extract', 'load', 'transform']);
  const refused = await ask(['how many unicorns were processed']);
  assert.equal(refused.code, 5);
  const no = JSON.parse(refused.stdout) as JsonCase<AskResult>;
  assert.equal(no.answered, false);
  assert.deepEqual(no.readings, ['how many rows processed in the last 24 hours?']);
});

test('freshness: ask and query --report freshness give the same ages at the same moment', async () => {
  const at = w.now;
  const report = await runCli(['query', '--report', 'freshness', '--start', new Date(at.getTime() - D * 1000).toISOString(), '--end', at.toISOString(), '-o', 'json'], { now: () => at, env: { PIPEOBS_VM_URL: vm.url } });
  assert.equal(report.code, 0, report.stderr);
  const rows = (JSON.parse(report.stdout) as { tables: Record<string, { rows: Record<string, unknown>[] }> }).tables.freshness.rows;
  const answer = JSON.parse((await ask(['how old is the data'])).stdout) as JsonCase<AskResult>;
  for (const row of rows) {
    const age = row.data_age_seconds as number;
    assert.ok(answer.answer.includes(`${row.pipeline_name}/${row.environment} data is ${dur(age)} old`), `${JSON.stringify(row)} vs ${answer.answer}`);
  }
  assert.equal(rows.length, 3);
});

test('a scripted chat over stdin: answers in text with their PromQL, follow-ups, /promql, a refusal that keeps the conversation', async () => {
  const failed = (seconds: number) => increase(w, 'pipeline_runs_total', { pipeline_name: 'billing', status: 'failed' }, seconds);
  const r = await runCli(['ask', '--offline'], {
    now: () => w.now,
    stdin: ['did any run fail in the last hour?', 'and in the last 10 minutes?', '/promql', 'what about the moon?', 'what about customer_sync?', 'exit', ''].join('\n'),
    env: { PIPEOBS_VM_URL: vm.url, OPENAI_API_KEY: '' },
  });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const q = (range: string, pipeline = '') => `sum by (pipeline_name, environment) (increase(pipeline_runs_total{status="failed"${pipeline}}[${range}]))`;
  assert.equal(lines[0], `Yes: runs (status failed) in the last hour: ${count(failed(H), 'runs')} (billing/staging).`);
  assert.equal(lines[1], `  PromQL: ${q('1h')}`);
  assert.equal(lines[2], `Yes: runs (status failed) in the last 10 minutes: ${count(failed(600), 'runs')} (billing/staging).`);
  assert.equal(lines[3], `  PromQL: ${q('10m')}`);
  assert.equal(lines[4], `  ${q('10m')}`);
  assert.match(lines[5], /^I am not sure what you mean: .*"moon"/);
  const follow = lines.indexOf(`No: runs (status failed, pipeline name customer_sync) in the last 10 minutes: ${count(0, 'runs')} (customer_sync/dev).`);
  assert.ok(follow > 5, r.stdout);
  assert.equal(lines[follow + 1], `  PromQL: ${q('10m', ',pipeline_name="customer_sync"')}`);
});
