/**
 * The offline engine: a question understood as parts (understand.ts) read from the metric catalog
 * and from what the server has now (metric names, label values), planned into PromQL (plan.ts)
 * and answered with the number, its unit and its window. When a part is not understood, it says
 * which and offers the closest readings it can answer instead of answering another question.
 * A chat keeps the previous question's parts, so a follow-up changes only what it names.
 */
import type { QueryData, VmClient } from '../victoria/client.js';
import { CATALOG } from '../metrics/catalog.js';
import { computeFreshness } from '../analytics/freshness.js';
import { CONCEPTS, LABEL_WORDS, type Concept } from './concepts.js';
import { describeFilters, fmt, matchers, planParts, secs, vec, type NotPossible, type Plan, type PlannedQuery } from './plan.js';
import { understand, type Live, type Parts } from './understand.js';
import { extractWindow, lastWindow, normalize, tokens } from './words.js';

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
  'How many rows were quarantined and why?',
  'Which quality check fails the most?',
  'When did the pipeline last succeed?',
  'Is anything wrong?',
  'How far behind are the Kafka consumers?',
  'Is the model confidence dropping?',
  'What is the error rate in the logs?',
  'Which Airflow tasks failed today?',
];

/** The parts as --output json shows them. */
export interface Understood {
  what: string | null;
  metric: string | null;
  how: string | null;
  quantile: number | null;
  filters: Record<string, string[]>;
  by: string[];
  rank: 'top' | 'bottom' | null;
  window: { seconds: number; phrase: string } | null;
  threshold: { op: string; value: number } | null;
  yes_no: boolean;
  health: boolean;
  follow_up: boolean;
  corrections: { typed: string; read_as: string }[];
}

export interface OfflineAnswer {
  answered: boolean;
  answer: string;
  intent: string | null;
  queries: { promql: string; what: string; time: string }[];
  results: QueryData[];
  understood: Understood | null;
  /** When not answered: the questions it can answer that are closest to the one asked. */
  readings: string[];
}

export interface OfflineContext {
  client: VmClient;
  now: Date;
  /** The alert rule files, for "is anything wrong?": [file name, text]. */
  loadRules?: () => Promise<[string, string][]>;
}

/** A conversation: the parts of the last understood question, for follow-ups. */
export class OfflineSession {
  previous: Parts | null = null;
}

const CATALOG_MATCH = `{__name__=~"${[...new Set(CATALOG.map((m) => m.name.split('_')[0]))].map((p) => `${p}_.+`).join('|')}"}`;
const CATALOG_LABELS = [...new Set(CATALOG.flatMap((m) => m.labels))];

/** Metric names and label values the server has now, for the window asked about (a day at least). */
async function fetchLive(client: VmClient, question: string, now: Date): Promise<Live> {
  const { window } = extractWindow(normalize(question), now);
  const reach = (window?.seconds ?? 0) + (window?.endsAt ? (now.getTime() - window.endsAt.getTime()) / 1000 : 0);
  const start = new Date(now.getTime() - Math.max(reach, 86_400) * 1000);
  const [names, ...values] = await Promise.all([
    client.labelValues('__name__', [], start, now),
    ...CATALOG_LABELS.map((l) => client.labelValues(l, [CATALOG_MATCH], start, now)),
  ]);
  const map = new Map<string, readonly string[]>(CATALOG_LABELS.map((l, i) => [l, values[i]]));
  const nameSet = new Set(names);
  // A metric outside the catalog named in the question: its labels and their values.
  const labelsOf = new Map<string, readonly string[]>();
  const catalogNames = new Set(CATALOG.map((m) => m.name));
  for (const w of tokens(normalize(question))) {
    if (!nameSet.has(w) || catalogNames.has(w) || labelsOf.has(w)) continue;
    const labels = (await client.labels([w], start, now)).filter((l) => l !== '__name__');
    labelsOf.set(w, labels);
    const vals = await Promise.all(labels.map((l) => client.labelValues(l, [w], start, now)));
    labels.forEach((l, i) => map.set(l, [...new Set([...(map.get(l) ?? []), ...vals[i]])]));
  }
  return { names: nameSet, values: map, labelsOf };
}

export function understood(p: Parts): Understood {
  return {
    what: p.health ? 'health' : p.list ? 'list' : p.concept?.id ?? null,
    metric: p.concept?.metric ?? null,
    how: p.how,
    quantile: p.quantile,
    filters: Object.fromEntries(p.filters.map((f) => [f.label, f.values])),
    by: p.list ? [p.list] : p.by,
    rank: p.rank,
    window: p.window ? { seconds: p.window.seconds, phrase: p.window.phrase } : null,
    threshold: p.threshold ? { op: p.threshold.op, value: p.threshold.value } : null,
    yes_no: p.yesno,
    health: p.health,
    follow_up: p.followUp,
    corrections: p.corrections.map(([typed, read]) => ({ typed, read_as: read })),
  };
}

const HOW_PHRASE: Record<string, string> = { total: 'how many', count: 'how many', rate: 'the rate of', avg: 'the average', max: 'the maximum', min: 'the minimum', latest: 'the current', when: 'when was the', trend: 'the trend of' };

/** A reading of the parts as a question this engine answers. */
export function describe(p: Parts): string {
  if (p.health) return 'is anything wrong?';
  const c = p.concept!;
  const natural = c.kind === 'counter' ? 'how many' : c.kind === 'timestamp' ? 'when was the' : c.kind === 'histogram' ? 'the average' : 'the current';
  // A HOW that does not fit the measure ("how many" of a score) reads as the measure's own.
  const fits = p.how !== null && (c.kind === 'counter' ? ['total', 'count', 'rate', 'trend'] : c.kind === 'histogram' ? ['avg', 'percentile', 'count', 'rate', 'trend'] : c.kind === 'timestamp' ? ['when'] : ['max', 'min', 'avg', 'latest', 'trend']).includes(p.how);
  const how = p.how === 'percentile' && fits ? `the p${Math.round((p.quantile ?? 0.95) * 100)}` : fits ? HOW_PHRASE[p.how!] : natural;
  const filters = p.filters.map((f) => ` for ${LABEL_WORDS[f.label]?.[0] ?? f.label} ${f.values.join(' or ')}`).join('');
  const by = p.by.length ? ` by ${p.by.map((b) => LABEL_WORDS[b]?.[0] ?? b).join(' and ')}` : '';
  const w = p.window ?? lastWindow(86_400);
  return `${how} ${c.noun}${filters}${by} ${w.phrase}?`;
}

function refusal(p: Parts, problem: string, readings: Parts[]): OfflineAnswer {
  const texts = [...new Set(readings.map(describe))].slice(0, 3);
  return {
    answered: false,
    intent: p.concept?.id ?? null,
    queries: [],
    results: [],
    understood: understood(p),
    readings: texts,
    answer: `I am not sure what you mean: ${problem}.${texts.length ? ` Closest questions I can answer:\n${texts.map((t) => `  - ${t}`).join('\n')}` : ''}`,
  };
}

/** Concepts whose help text shares words with the question, for a question with no measure in it. */
function nearestConcepts(question: string): Concept[] {
  const words = new Set(tokens(normalize(question)).filter((w) => w.length > 3));
  return CONCEPTS.map((c) => ({ c, n: c.weak.filter((w) => words.has(w)).length }))
    .filter((x) => x.n > 0)
    .sort((a, b) => b.n - a.n)
    .slice(0, 3)
    .map((x) => x.c);
}

export async function answerOffline(question: string, ctx: OfflineContext, session?: OfflineSession): Promise<OfflineAnswer> {
  const { client, now } = ctx;
  // An explicit time one second ahead: VictoriaMetrics floors "now" to the second.
  const nowAt = new Date(Math.ceil(now.getTime() / 1000) * 1000);
  const live = await fetchLive(client, question, now);
  const p = understand({ question, now, live, previous: session?.previous ?? null });
  // A window that ended before now ("yesterday") is read at its end.
  const at = p.window?.endsAt ?? nowAt;
  const base = (q: PlannedQuery[], results: QueryData[], answer: string): OfflineAnswer => {
    if (session) session.previous = p;
    return { answered: true, intent: p.health ? 'health' : p.list ? 'list' : p.concept!.id, queries: q.map((x) => ({ ...x, time: at.toISOString() })), results, understood: understood(p), readings: [], answer: withCorrections(p, answer) };
  };

  if (p.health) {
    if (!ctx.loadRules) return refusal(p, 'the alert rules are not available here', []);
    // The rule reader (and the YAML parser behind it, ~15 ms to load) only for this question.
    const [files, { evaluateRules, parseRules, renderHealth }] = await Promise.all([ctx.loadRules(), import('./health.js')]);
    const rules = files.flatMap(([file, text]) => parseRules(file, text));
    const h = await evaluateRules(client, rules, nowAt);
    const askedOk = /\b(ok|okay|fine|alright|good|healthy|green|working|well|right)\b/.test(normalize(question)) && !/\b(wrong|broken|problems?|issues?|alerts?|firing)\b/.test(normalize(question));
    return base(h.queries, h.results, renderHealth(h, askedOk));
  }
  if (!p.concept && p.list && !p.unknown.length) {
    const w = p.window ?? lastWindow(86_400);
    const labelWord = LABEL_WORDS[p.list]?.[1] ?? p.list;
    const promql = `count by (${p.list}) (last_over_time(${CATALOG_MATCH.slice(0, -1)},${p.list}!=""}[${w.range}]))`;
    const d = await client.query(promql, at);
    const values = vec(d).map((x) => x.metric[p.list!]).filter(Boolean).sort();
    const answer = values.length ? `${cap(labelWord)} with data ${w.phrase}: ${values.join(', ')} (${values.length}).` : `No ${labelWord} had data ${w.phrase}.`;
    return base([{ promql, what: `values of ${p.list}` }], [d], answer);
  }
  if (!p.concept) {
    const near = nearestConcepts(question);
    const what = p.unknown.length ? `I did not understand what to measure in "${p.unknown.join(' ')}"` : 'the question does not name anything the metrics hold';
    const readings = near.length ? near.map((c) => ({ ...p, concept: c, how: null, unknown: [] })) : [];
    const r = refusal(p, what, readings);
    if (readings.length) return r;
    // Nothing near: the kinds of question it can answer.
    const examples = EXAMPLE_QUESTIONS.slice(0, 3);
    return { ...r, readings: examples, answer: `${r.answer} Questions I can answer, for example:\n${examples.map((t) => `  - ${t}`).join('\n')}` };
  }
  if (p.unknownValues.length) {
    const u = p.unknownValues[0];
    const labelWord = LABEL_WORDS[u.label]?.[0] ?? u.label;
    const problem = `there is no ${labelWord} "${u.value}"${u.nearest.length ? ` (the nearest ${labelWord === 'environment' ? 'environments' : `${labelWord} values`} are ${u.nearest.join(', ')})` : ''}`;
    return refusal(p, problem, u.nearest.map((v) => ({ ...p, filters: [...p.filters.filter((f) => f.label !== u.label), { label: u.label, values: [v] }], unknownValues: [] })));
  }
  if (p.unknown.length) {
    const readings: Parts[] = [{ ...p, unknown: [] }, ...p.alternatives.map((c) => ({ ...p, concept: c, filters: p.filters.filter((f) => c.labels.includes(f.label)), unknown: [] }))];
    return refusal(p, `I understood ${describe(p).replace(/\?$/, '')}, but not ${p.unknown.map((w) => `"${w}"`).join(', ')}`, readings);
  }

  if (p.concept.kind === 'freshness') {
    const sla = p.threshold?.value ?? 900;
    const lookback = p.window?.seconds ?? 86_400;
    const f = await computeFreshness(client, { at, lookbackSeconds: lookback, slaSeconds: sla, matchers: matchers(p, p.concept) });
    const rows = f.rows;
    const filt = describeFilters(p, p.concept);
    let answer: string;
    if (rows.length === 0) answer = `No run${filt} reported its freshness or a success ${(p.window ?? lastWindow(86_400)).phrase}: the data's age is unknown.`;
    else {
      const stale = rows.filter((r) => r.status !== 'ok');
      const one = (r: (typeof rows)[number]) => `${r.pipeline_name}/${r.environment} ${r.data_age_seconds === null ? (r.status === 'NO SUCCESS' ? 'has no successful run' : 'age unknown') : `data is ${secs(r.data_age_seconds)} old`}${r.status === 'STALE' ? ' (STALE)' : r.status === 'NO SUCCESS' ? ' (NO SUCCESS)' : ''}`;
      // "Is it stale?" and "is it fresh?" get opposite yes/no for the same data.
      const askedStale = /\b(stale|outdated|old|older|behind)\b/.test(normalize(question));
      const yes = !p.yesno ? '' : (stale.length > 0) === askedStale ? 'Yes: ' : 'No: ';
      const head = `${yes}${stale.length === 0 ? `${yes ? 'the' : 'The'} data is fresh` : `${stale.length} of ${rows.length} pipeline${rows.length > 1 ? 's' : ''} ${stale.length > 1 ? 'are' : 'is'} stale`}`;
      answer = `${head} (SLA ${secs(sla)}): ${rows.map(one).join(', ')}.`;
    }
    return base(f.queries.map((q) => ({ promql: q, what: q.includes('freshness') ? 'freshness at load' : 'last successful run' })), f.results, answer);
  }

  const plan: Plan | NotPossible = planParts(p, now);
  if ('problem' in plan) return refusal(p, plan.problem, plan.readings);
  const results = await Promise.all(plan.queries.map((q) => client.query(q.promql, at)));
  return base(plan.queries, results, plan.render(results, at));
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function withCorrections(p: Parts, answer: string): string {
  if (!p.corrections.length) return answer;
  return `${answer} (I read ${p.corrections.map(([a, b]) => `"${a}" as "${b}"`).join(', ')}.)`;
}
