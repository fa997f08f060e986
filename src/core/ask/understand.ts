/**
 * A question as parts: WHAT is measured (a concept of concepts.ts, or a metric the server has),
 * HOW (total, rate, average, percentile, min/max, latest, when, trend, threshold), WHICH series
 * (filters matched against the label values the server has now), BY (grouping), a superlative
 * (rank), WHEN (a window), and whether it is a yes/no or a health question. What is not
 * understood is kept, word for word, so the engine can say which part it did not get instead of
 * answering another question.
 */
import { CATALOG, seriesNames } from '../metrics/catalog.js';
import { CONCEPTS, LABEL_WORDS, VALUE_WORDS, fromName, phraseStems, type Concept } from './concepts.js';
import { levenshtein, nearestNames } from './promql.js';
import { GLUE, correctTypo, extractThreshold, extractWindow, normalize, stem, tokens, type Threshold, type Window } from './words.js';

export type How = 'total' | 'rate' | 'avg' | 'percentile' | 'max' | 'min' | 'latest' | 'when' | 'trend' | 'count';

export interface Filter {
  label: string;
  values: string[];
  /** Negated: check_type!="overall". */
  not?: boolean;
}

export interface Parts {
  concept: Concept | null;
  how: How | null;
  quantile: number | null;
  filters: Filter[];
  by: string[];
  rank: 'top' | 'bottom' | null;
  window: Window | null;
  threshold: Threshold | null;
  yesno: boolean;
  health: boolean;
  /** Words read as other words: [typed, read as]. */
  corrections: [string, string][];
  /** Words that are not understood. */
  unknown: string[];
  /** Label values named that the server does not have, with the nearest it has. */
  unknownValues: { label: string; value: string; nearest: string[] }[];
  followUp: boolean;
  /** The direction a trend question asks about: "dropping" is down, "growing" and "slower" up. */
  trend: 'up' | 'down' | null;
  /** "worst"/"best": ranked by what is good for the measure, not by its size. */
  goodRank: boolean;
  /** Other concepts the words could name, best first. */
  alternatives: Concept[];
}

/** What the engine knows of the server now: metric names and label values. */
export interface Live {
  names: ReadonlySet<string>;
  /** Label → values, for the labels of the catalog (and of a metric the question names). */
  values: ReadonlyMap<string, readonly string[]>;
  /** Metric name → its labels, for metrics outside the catalog the question names. */
  labelsOf?: ReadonlyMap<string, readonly string[]>;
}

/** Words that carry no part of the question on their own. */
const FILLER = new Set(`a an the of in on at to for from by with and or but how many much me show tell give list i we our my us you your did do does done has have had was were be been being is are am there any anything this that these those it its so far please can could would should will get got see let know what which who whose where whats all across number amount value values some about just currently right now also same then ok okay well again thing things been there here into out up down as per each every than than if whether ever yet still only much more one ones do currently
lately recently removed dropped found seen had happen happened happening occur occurred occurring produce produced made make making go going went come came doing data pipeline pipelines etl system systems job jobs were our their them they overall give gave report reporting look like looks value figure figures stat stats statistic statistics metric metrics measure measured use uses using consume consumed spend read wat wht waht hwo whta teh hte pls plz because due caused common frequent often frequently usual usually please kindly quick quickly summary summarize okay hey hi hello yo time times tell show display print return returned value number count write wrote written emit emitted`.split(/\s+/));

const HOW_WORDS: [RegExp, How][] = [
  [/^(average|avg|mean|typical|typically|usually|normally|on average)$/, 'avg'],
  [/^(rate|throughput|speed|per-second|velocity)$/, 'rate'],
  [/^(total|sum|overall|altogether|cumulative|combined)$/, 'total'],
  [/^(maximum|max|peak|worst-case)$/, 'max'],
  [/^(minimum|min)$/, 'min'],
  [/^(current|currently|latest|now|present|newest|right-now)$/, 'latest'],
  [/^(when|what-time)$/, 'when'],
  [/^(trend|trending|slower|dropping|drop|dropped|falling|fell|declining|decreasing|decreased|increasing|increased|growing|grew|grow|rising|rose|changed|change|changing|worse|worsening|better|improving|improved|degrading|degraded|regressed|regression|regressing|slowing|sliding)$/, 'trend'],
];

const SUPERLATIVE: Record<string, { rank: 'top' | 'bottom'; base?: string; good?: boolean }> = {
  slowest: { rank: 'top', base: 'slow' }, fastest: { rank: 'bottom', base: 'fast' }, longest: { rank: 'top', base: 'long' }, shortest: { rank: 'bottom' },
  most: { rank: 'top' }, least: { rank: 'bottom' }, fewest: { rank: 'bottom' }, highest: { rank: 'top' }, lowest: { rank: 'bottom' },
  biggest: { rank: 'top', base: 'big' }, largest: { rank: 'top', base: 'large' }, smallest: { rank: 'bottom' }, greatest: { rank: 'top' },
  worst: { rank: 'bottom', good: true }, best: { rank: 'top', good: true }, top: { rank: 'top' }, bottom: { rank: 'bottom' }, heaviest: { rank: 'top' },
};

const HEALTH = [
  /\b(anything|something|what is|what|whats) (wrong|broken|off|failing|bad|on fire)\b/, /\bany (problem|problems|issue|issues|trouble|alert|alerts|incident|incidents)\b/, /\b(everything|all|things|it) (ok|okay|fine|alright|good|healthy|green|working)\b/,
  /\b(health|healthy|healthcheck|alerts?|alerting|firing)\b/, /\bhow are (things|we doing|the pipelines|my pipelines)\b/, /\bshould i (worry|be worried)\b/, /\bstatus of (the |my )?(system|pipelines|stack)\b/, /\ball good\b/, /\bproblems?\b$/, /\bis (it|everything) (all )?(right|well)\b/,
];
const YESNO_START = /^(and )?(is|are|did|does|do|has|have|was|were|any|can|should|will|were)\b/;
const FOLLOW_UP_START = /^(and|what about|how about|same for|same but|also|now for|then for|ok and|and what about|and for|and in|and by|what of)\b/;

/** Every word the engine knows, for typo correction. */
function vocabulary(live: Live): Set<string> {
  const v = new Set<string>(FILLER);
  for (const c of CONCEPTS) for (const p of [...c.phrases, ...c.weak]) for (const w of tokens(p.replace(/^~/, ''))) v.add(w);
  for (const ws of Object.values(LABEL_WORDS)) for (const p of ws) for (const w of tokens(p)) v.add(w);
  for (const m of Object.values(VALUE_WORDS)) for (const ws of Object.values(m)) for (const p of ws) for (const w of tokens(p)) v.add(w);
  for (const vals of live.values.values()) for (const x of vals) {
    v.add(x.toLowerCase());
    for (const w of x.toLowerCase().split(/[_\s-]+/)) if (w.length > 3) v.add(w);
  }
  for (const w of Object.keys(SUPERLATIVE)) v.add(w);
  for (const labels of live.labelsOf?.values() ?? []) for (const l of labels) v.add(l);
  for (const w of ['average', 'mean', 'rate', 'throughput', 'total', 'maximum', 'minimum', 'current', 'latest', 'when', 'trend', 'slower', 'dropping', 'growing', 'increasing', 'decreasing', 'percentile', 'wrong', 'broken', 'problems', 'issues', 'healthy', 'alerts', 'fresh', 'stale', 'why', 'which', 'between', 'compare', 'second', 'minute', 'hour', 'change', 'changed']) v.add(w);
  return v;
}

interface Match {
  start: number;
  end: number; // exclusive
}

/** Where a phrase's stems occur in the content stems, in order and contiguous. */
function find(stems: string[], phrase: string[]): Match[] {
  const out: Match[] = [];
  if (phrase.length === 0) return out;
  for (let i = 0; i + phrase.length <= stems.length; i++) {
    let ok = true;
    for (let j = 0; j < phrase.length; j++) if (stems[i + j] !== phrase[j]) { ok = false; break; }
    if (ok) out.push({ start: i, end: i + phrase.length });
  }
  return out;
}


interface Scored {
  concept: Concept;
  score: number;
  covered: Set<number>;
}

function scoreConcepts(stems: string[], idx: number[], candidates: readonly Concept[]): Scored[] {
  const scored: Scored[] = [];
  for (const c of candidates) {
    const matches: { m: Match; weight: number }[] = [];
    for (const p of c.phrases) {
      const weak = p.startsWith('~');
      const ps = phraseStems(p.replace(/^~/, ''));
      for (const m of find(stems, ps)) matches.push({ m, weight: weak ? 0.5 : ps.length * ps.length });
    }
    // Longest first, without overlaps.
    matches.sort((a, b) => b.weight - a.weight);
    const covered = new Set<number>();
    let score = 0;
    for (const { m, weight } of matches) {
      let free = true;
      for (let i = m.start; i < m.end; i++) if (covered.has(idx[i])) free = false;
      if (!free) continue;
      for (let i = m.start; i < m.end; i++) covered.add(idx[i]);
      score += weight;
    }
    // Words that name one of its labels ("dag", "topic") tip a tie its way.
    if (score > 0) for (const label of c.labels) if (LABEL_STEMS.some(([l, ws]) => l === label && ws.length === 1 && stems.includes(ws[0]))) score += 0.25;
    if (score > 0) scored.push({ concept: c, score, covered });
  }
  return scored.sort((a, b) => b.score - a.score);
}

export interface UnderstandInput {
  question: string;
  now: Date;
  live: Live;
  previous?: Parts | null;
}

/** Stems of the words that name each label. */
const LABEL_STEMS: [string, string[]][] = Object.entries(LABEL_WORDS).flatMap(([label, ws]) => ws.map((w) => [label, phraseStems(w)] as [string, string[]]));

export function understand({ question, now, live, previous }: UnderstandInput): Parts {
  // Clock times and dates are not windows this engine resolves: kept whole, as a part not understood.
  const ABSOLUTE = /\b\d{1,2}:\d{2}(?::\d{2})?\b|\b\d{4}-\d{2}-\d{2}(?:T[\d:.]+Z?)?\b|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|june|july|august|september|october|november|december)\b/gi;
  const absoluteParts = [...question.matchAll(ABSOLUTE)].map((m) => m[0]);
  const absolute = absoluteParts.length ? [absoluteParts.join(', ')] : null;
  const q0 = normalize(question.replace(ABSOLUTE, ' '));
  const { window, rest: r1 } = extractWindow(q0, now);
  const { threshold, rest: r2 } = extractThreshold(r1);
  const health = HEALTH.some((re) => re.test(r2)) && !/\b(row|rows|record|records|quality)\b/.test(r2);
  const followMarker = FOLLOW_UP_START.test(r2);
  const yesnoWords = YESNO_START.test(r2) || /\bany\b/.test(r2);

  const parts: Parts = {
    concept: null, how: null, quantile: null, filters: [], by: [], rank: null, window, threshold, yesno: yesnoWords, health,
    corrections: [], unknown: [], unknownValues: [], followUp: false, trend: null, goodRank: false, alternatives: [],
  };
  if (health) return parts;

  // Words, typos corrected; a metric name the server has is taken as it is.
  const known = vocabulary(live);
  const catalogSeries = new Set(CATALOG.flatMap(seriesNames));
  const knownStems = new Set([...known].map(stem));
  const typoTargets = [...known].filter((w) => !FILLER.has(w) && !GLUE.has(w));
  const words = tokens(r2).map((w) => {
    if (known.has(w) || knownStems.has(stem(w)) || live.names.has(w) || catalogSeries.has(w) || /^p\d\d$/.test(w) || /^\d/.test(w)) return w;
    const fix = correctTypo(w, typoTargets);
    if (fix) {
      parts.corrections.push([w, fix]);
      return fix;
    }
    return w;
  });
  const used = new Set<number>();

  // A metric named by its name.
  let named: Concept | null = null;
  words.forEach((w, i) => {
    if (named) return;
    const base = w.replace(/_(bucket|sum|count)$/, '');
    const cat = CONCEPTS.find((c) => c.metric === w || (c.metric === base && c.kind === 'histogram'));
    if (cat && (catalogSeries.has(w) || cat.metric === w)) {
      named = cat;
      used.add(i);
    } else if (live.names.has(w) && /_/.test(w)) {
      const labels = live.labelsOf?.get(w) ?? [];
      named = fromName(w, w.endsWith('_total') ? 'counter' : 'gauge', '', labels);
      used.add(i);
    }
  });

  // Values of the labels that name a pipeline or environment, when they are not words of a measure.
  const phraseWords = new Set(CONCEPTS.flatMap((c) => c.phrases.flatMap((p) => tokens(p.replace(/^~/, '')))));
  const valueWords = new Set<string>();
  for (const l of ['pipeline_name', 'environment', 'dag_id', 'service', 'topic', 'component']) for (const v of live.values.get(l) ?? []) if (!phraseWords.has(v) && !phraseWords.has(v.replace(/s$/, ''))) valueWords.add(v.toLowerCase());

  // Superlatives, percentiles and HOW words.
  const superlativeAt: number[] = [];
  const stems: string[] = [];
  const idx: number[] = [];
  words.forEach((w, i) => {
    const sup = SUPERLATIVE[w];
    if (sup && !(w === 'top' && /^\d/.test(words[i + 1] ?? ''))) {
      parts.rank = sup.rank;
      superlativeAt.push(i);
      used.add(i);
      if (sup.base) {
        stems.push(stem(sup.base));
        idx.push(i);
      }
      if (sup.good) parts.goodRank = true;
      return;
    }
    const p = /^p(\d{2})$/.exec(w);
    if (p) {
      parts.how = 'percentile';
      parts.quantile = Number(p[1]) / 100;
      used.add(i);
      return;
    }
    if (GLUE.has(w)) return;
    // A value of a pipeline or environment ("the last billing run") does not break a phrase.
    if (valueWords.has(w)) return;
    stems.push(stem(w));
    idx.push(i);
    const base = /^(slower|slowed|slowing|slowdown)$/.test(w) ? 'slow' : /^(faster|quicker|sped)$/.test(w) ? 'fast' : null;
    if (base) {
      stems.push(base);
      idx.push(i);
    }
  });
  const joined = words.join(' ');
  if (/\bhow many\b|\bnumber of\b|\bcount of\b/.test(joined) && !parts.how) parts.how = 'count';
  if (/\bhow much\b/.test(joined) && !parts.how) parts.how = 'total';
  if (/\bper (second|minute|sec|s)\b|\bhow fast\b/.test(joined)) {
    parts.how = 'rate';
    words.forEach((w, i) => { if (['second', 'minute', 'sec', 'fast'].includes(w) && (words[i - 1] === 'per' || words[i - 1] === 'how')) used.add(i); });
  }
  if (/\bhow long ago\b|\bwhat time\b|\bat what time\b/.test(joined)) parts.how = 'when';
  if (/\bgot slower\b|\bslowed down\b|\bslowing down\b|\bgetting slower\b/.test(joined)) {
    parts.how = 'trend';
    parts.trend = 'up';
  }
  words.forEach((w, i) => {
    for (const [re, how] of HOW_WORDS) {
      if (re.test(w)) {
        if (how === 'latest' && parts.how) continue;
        if (how === 'total' && parts.how && parts.how !== 'total' && parts.how !== 'count') continue;
        if (how === 'when' && i > 0) continue; // "when" only opens a question
        parts.how = parts.how === 'percentile' || parts.how === 'trend' ? parts.how : how;
        if (how === 'trend') {
          parts.how = 'trend';
          if (/^(slower|grow|grew|growing|increas|ris|rose|worse|worsening|degrad|regress|slowing)/.test(w)) parts.trend = 'up';
          else if (/^(drop|fall|fell|declin|decreas|sliding|improv|better)/.test(w)) parts.trend = 'down';
        }
        used.add(i);
      }
    }
  });
  if (words[0] === 'when') {
    parts.how = 'when';
    used.add(0);
  }

  // WHAT: the concept whose phrases cover the most of the question.
  let scored = scoreConcepts(stems, idx, CONCEPTS);
  // A percentile is of a distribution: a count named only weakly ("the load stage") is not what is meant.
  const distribution = parts.how === 'percentile' || parts.how === 'avg' || parts.trend !== null || (threshold !== null && /\b(seconds?|secs?|minutes?|mins?|ms|hours?)\b/.test(r1));
  if (distribution && !named && (!scored.length || (scored[0].concept.kind !== 'histogram' && scored[0].score < 1))) {
    const hist = scored.filter((x) => x.concept.kind === 'histogram');
    const durationWords = parts.how === 'percentile' || parts.how === 'avg' || threshold !== null || /\b(slower|faster|slowed|slowing)\b/.test(joined);
    const pick = hist[0]?.concept ?? (durationWords ? CONCEPTS.find((c) => c.id === 'stage_duration') : undefined);
    if (pick) scored = [{ concept: pick, score: 1, covered: new Set(hist[0]?.covered ?? []) }, ...scored.filter((x) => x.concept !== pick)];
  }
  let concept: Concept | null = named;
  if (!concept && scored.length) {
    concept = scored[0].concept;
    for (const i of scored[0].covered) used.add(i);
  } else if (concept) {
    // The words that also name it are understood.
    const own = scored.find((s) => s.concept.metric === (concept as Concept).metric);
    if (own) for (const i of own.covered) used.add(i);
  }
  parts.alternatives = scored.filter((s) => s.concept !== concept && s.concept.metric !== concept?.metric).map((s) => s.concept).slice(0, 3);

  // A follow-up: no WHAT of its own, or it says so ("and", "what about").
  const carry = previous && !previous.health && previous.concept ? previous : null;
  if (carry && (!concept || (followMarker && scored.length > 0 && scored[0].score < 1 && !named))) {
    // "what about load?": a weak word ("load") names a value, not a new measure.
    if (concept && !named) for (const i of scored[0].covered) used.delete(i);
    concept = carry.concept;
    parts.followUp = true;
  } else if (carry && followMarker && concept) {
    parts.followUp = true;
  }
  parts.concept = concept;
  if (!concept) {
    parts.unknown = words.filter((w, i) => !used.has(i) && isContentWord(w, null));
    if (absolute) parts.unknown.unshift(absolute[0]);
    return parts;
  }
  const labels = concept.labels.length ? concept.labels : live.labelsOf?.get(concept.metric) ?? [];

  // BY: "by stage", "per check", "for each topic", "which stage", "what pipeline".
  const labelAt = (i: number): { label: string; len: number } | null => {
    if (i < 0 || i >= words.length) return null;
    let best: { label: string; len: number } | null = null;
    for (const [label, ws] of LABEL_STEMS) {
      if (!labels.includes(label)) continue;
      let ok = i + ws.length <= words.length;
      for (let j = 0; ok && j < ws.length; j++) if (stem(words[i + j]) !== ws[j] && words[i + j] !== ws[j]) ok = false;
      if (ok && (!best || ws.length > best.len)) best = { label, len: ws.length };
    }
    // A label name typed as it is: "by host".
    if (!best && labels.includes(words[i])) best = { label: words[i], len: 1 };
    return best;
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    let at = -1;
    if ((w === 'by' || w === 'per' || w === 'each' || w === 'every' || w === 'across') && i + 1 < words.length) at = i + 1;
    if ((w === 'which' || w === 'what' || w === 'whose') && i + 1 < words.length) at = i + 1;
    if (at < 0) continue;
    if (words[at] === 'the' || words[at] === 'each' || words[at] === 'every' || words[at] === 'individual') at++;
    let l = labelAt(at);
    if (!l) continue;
    // "each pipeline stage": the last of two label words in a row is the one meant.
    const head = labelAt(at + l.len);
    if (head) {
      used.add(at);
      at += l.len;
      l = head;
    }
    const list = [l];
    // "by pipeline and stage"
    let k = at + l.len;
    while (k + 1 < words.length && (words[k] === 'and' || words[k] === ',')) {
      const l2 = labelAt(k + 1);
      if (!l2) break;
      list.push(l2);
      k = k + 1 + l2.len;
    }
    used.add(i);
    for (let j = at; j < k; j++) used.add(j);
    for (const x of list) if (!parts.by.includes(x.label)) parts.by.push(x.label);
  }
  // "the worst quality check", "the slowest stage": a label named right after a superlative is what is ranked.
  for (const i of superlativeAt) {
    if (parts.by.length) break;
    for (let j = i + 1; j <= i + 3 && j < words.length; j++) {
      const l = labelAt(j);
      if (!l) continue;
      parts.by.push(l.label);
      for (let k = j; k < j + l.len; k++) used.add(k);
      break;
    }
  }
  // "why" asks for the reason.
  words.forEach((w, i) => {
    if (w === 'why' && labels.includes('reason') && !parts.by.includes('reason')) {
      parts.by.push('reason');
      used.add(i);
    }
  });

  // WHICH: label values the server has (and the catalog's own), in the question's words.
  const spans = new Map<string, { label: string; value: string; start: number; len: number; alias: boolean }[]>();
  for (const label of labels) {
    for (const v of live.values.get(label) ?? []) {
      const aliases = VALUE_WORDS[label]?.[v] ?? [];
      const forms = new Set<string>([v.toLowerCase(), v.toLowerCase().replace(/[_-]+/g, ' '), ...aliases]);
      for (const f of forms) {
        const alias = aliases.includes(f);
        const fs = tokens(f);
        for (let i = 0; i + fs.length <= words.length; i++) {
          let ok = fs.length > 0;
          for (let j = 0; ok && j < fs.length; j++) if (words[i + j] !== fs[j] && words[i + j] !== `${fs[j]}s` && words[i + j] !== `${fs[j]}es`) ok = false;
          if (!ok) continue;
          const k = `${i}:${fs.length}`;
          const list = spans.get(k) ?? [];
          if (!list.some((x) => x.label === label && x.value === v)) list.push({ label, value: v, start: i, len: fs.length, alias });
          spans.set(k, list);
        }
      }
    }
  }
  // Longer spans first; one span naming values of several labels: the label named next to it wins, then a default.
  const ordered = [...spans.values()].sort((a, b) => b[0].len - a[0].len || a[0].start - b[0].start);
  const taken = new Set<number>();
  const chosen: { label: string; value: string; start: number; len: number }[] = [];
  const GROUP_LABEL = new Set(['pipeline_name', 'environment', 'topic', 'service', 'component', 'dag_id', 'consumer_group', 'model']);
  for (const cands of ordered) {
    const { start, len } = cands[0];
    let overlap = false;
    for (let i = start; i < start + len; i++) if (taken.has(i)) overlap = true;
    if (overlap) continue;
    const near = (c: { label: string }) => {
      const before = labelAt(start - 1) ?? (start >= 2 && GLUE.has(words[start - 1]) ? labelAt(start - 2) : null);
      const after = labelAt(start + len);
      return (before?.label === c.label ? 1 : 0) + (after?.label === c.label ? 1 : 0);
    };
    const hasDefault = (l: string) => Number(concept!.defaults?.[l] !== undefined || concept!.fixed?.[l] !== undefined);
    const pick = [...cands].sort((a, b) => near(b) - near(a) || hasDefault(b.label) - hasDefault(a.label) || labels.indexOf(a.label) - labels.indexOf(b.label))[0];
    // A value that is only the concept's own word ("orders" for rows) is not a filter unless its label is named.
    const inWhat = [...Array(len).keys()].every((j) => used.has(start + j));
    if (inWhat && near(pick) === 0 && !hasDefault(pick.label) && GROUP_LABEL.has(pick.label)) continue;
    if (parts.by.includes(pick.label) && near(pick) === 0) continue;
    for (let i = start; i < start + len; i++) {
      taken.add(i);
      used.add(i);
    }
    // "duplicates": every value of the label that the words name.
    for (const c of cands) if (c.label === pick.label) chosen.push(c);
    // The label word next to it is understood too.
    const before = labelAt(start - 1);
    if (before?.label === pick.label) used.add(start - 1);
    const after = labelAt(start + len);
    if (after?.label === pick.label) for (let j = 0; j < after.len; j++) used.add(start + len + j);
  }
  for (const c of chosen) {
    const f = parts.filters.find((x) => x.label === c.label);
    if (f) {
      if (!f.values.includes(c.value)) f.values.push(c.value);
    } else parts.filters.push({ label: c.label, values: [c.value] });
  }

  // A label word with a word beside it that nobody understood: a value the server does not have.
  words.forEach((w, i) => {
    if (used.has(i)) return;
    const l = labelAt(i);
    if (!l) return;
    const nextAt = i + l.len;
    const next = words[nextAt];
    const prev = words[i - 1];
    const cand = next && !used.has(nextAt) && !known.has(next) && !FILLER.has(next) ? { w: next, at: nextAt } : prev && !used.has(i - 1) && !known.has(prev) && !FILLER.has(prev) ? { w: prev, at: i - 1 } : null;
    if (cand) {
      parts.unknownValues.push({ label: l.label, value: cand.w, nearest: nearestNames(cand.w, [...(live.values.get(l.label) ?? [])]) });
      used.add(cand.at);
    }
    for (let j = 0; j < l.len; j++) used.add(i + j);
  });
  // "in staging", "for fraud_featurez": an unknown word after a preposition, near a label's values.
  words.forEach((w, i) => {
    if (used.has(i) || FILLER.has(w) || GLUE.has(w) || known.has(w)) return;
    if (!['in', 'for', 'on', 'of', 'from', 'about', 'at'].includes(words[i - 1] ?? '') && !(GLUE.has(words[i - 1] ?? '') && ['in', 'for', 'on', 'of', 'from', 'about', 'at'].includes(words[i - 2] ?? ''))) return;
    let best: { label: string; nearest: string[]; d: number } | null = null;
    for (const label of labels) {
      const vals = live.values.get(label) ?? [];
      if (!vals.length) continue;
      const nearest = nearestNames(w, vals);
      const d = Math.min(...nearest.map((n) => levenshteinRatio(w, n)));
      if (!best || d < best.d) best = { label, nearest, d };
    }
    if (best && best.d < 0.7) {
      parts.unknownValues.push({ label: best.label, value: w, nearest: best.nearest });
      used.add(i);
    }
  });

  parts.unknown = words.filter((w, i) => !used.has(i) && isContentWord(w, concept));
  if (absolute) parts.unknown.unshift(absolute[0]);

  // Carry over what a follow-up does not change.
  if (parts.followUp && carry) {
    const sameConcept = carry.concept?.metric === concept.metric && carry.concept?.kind === concept.kind;
    const mine = new Set(parts.filters.map((f) => f.label));
    parts.filters = [...carry.filters.filter((f) => !mine.has(f.label) && labels.includes(f.label)), ...parts.filters];
    if (!parts.window) parts.window = carry.window;
    if (sameConcept) {
      if (!parts.how) { parts.how = carry.how; parts.quantile = carry.quantile; }
      if (!parts.by.length) parts.by = carry.by.filter((b) => !mine.has(b));
      if (!parts.rank) parts.rank = carry.rank;
      if (!parts.threshold) parts.threshold = carry.threshold;
      if (!yesnoWords) parts.yesno = carry.yesno;
      if (!parts.rank) parts.goodRank = carry.goodRank;
      if (!parts.trend) parts.trend = carry.trend;
    }
  }
  return parts;
}

/** Words that are understood as vocabulary but, left over, still name something this engine did not use. */
function isContentWord(w: string, c: Concept | null): boolean {
  // "rows" and "records" say what is counted: fine for a count of rows, not for errors or runs.
  if (/^(rows?|records?)$/.test(w)) return !c || !['rows', 'records'].includes(c.unit);
  // A number left over ("errors in 2025", "top 5") is a part not understood, not noise.
  if (/^\d/.test(w)) return true;
  return !FILLER.has(w) && !FILLER_STEMS.has(stem(w)) && !GLUE.has(w) && !STRUCTURE.has(w) && w.length > 2;
}

const FILLER_STEMS = new Set([...FILLER].map(stem));

/** Words of a question's grammar that may be left over without loss. */
const STRUCTURE = new Set(['why', 'which', 'between', 'compare', 'second', 'minute', 'hour', 'ago', 'since', 'last', 'past', 'first', 'did', 'not', 'no', 'yes', 'how', 'long', 'old', 'big', 'far', 'fast', 'slow', 'took', 'take', 'takes', 'taking', 'spent', 'spend', 'happen', 'currently', 'today', 'the', 'whole', 'far', 'end', 'right', 'good', 'bad', 'high', 'low', 'large', 'small', 'huge', 'value', 'level', 'levels', 'usage', 'used', 'being', 'them', 'data', 'in', 'for', 'on', 'of', 'from', 'about', 'by', 'per', 'each', 'every', 'across', 'and', 'or', 'with', 'without', 'over', 'under', 'during', 'within', 'at', 'to', 'into', 'through', 'after', 'before', 'while', 'out']);

/** Edit distance relative to the longer word: 0 is the same word, 1 nothing in common. */
function levenshteinRatio(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  return n === 0 ? 0 : levenshtein(a, b) / n;
}
