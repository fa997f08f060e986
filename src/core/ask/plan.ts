/**
 * Parts of a question → PromQL → an answer sentence with the number, its unit and its window.
 * Counters are read with increase() (restarts and sparse pushes are right), gauges with
 * last_over_time() over the window, histograms as sum/count ratios or histogram_quantile() over
 * increase() of their buckets. What a measure cannot say (the maximum of a histogram, the
 * "average" of a counter) is refused with the readings it can give.
 */
import type { Concept } from './concepts.js';
import type { Parts } from './understand.js';
import { durationWords, lastWindow, type Window } from './words.js';
import type { QueryData } from '../victoria/client.js';

export interface PlannedQuery {
  promql: string;
  /** What the numbers are, for the answer and --output json. */
  what: string;
}

export interface Plan {
  queries: PlannedQuery[];
  render(results: QueryData[], now: Date): string;
}

/** A part the engine cannot combine, with the readings it can answer instead. */
export interface NotPossible {
  problem: string;
  readings: Parts[];
}

interface Row {
  metric: Record<string, string>;
  value: number;
}

export function vec(d: QueryData | undefined): Row[] {
  if (!d) return [];
  if (d.resultType === 'vector') return d.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) })).filter((r) => Number.isFinite(r.value));
  if (d.resultType === 'scalar') return [{ metric: {}, value: Number(d.result[1]) }];
  return [];
}

export const fmt = (x: number, digits = 2) => (Number.isInteger(x) ? x.toLocaleString('en') : Number(x.toFixed(digits)).toLocaleString('en', { maximumFractionDigits: digits }));
export const secs = (x: number) => (x < 1 ? `${fmt(x * 1000, 1)} ms` : x < 120 ? `${fmt(x, 2)} s` : x < 7200 ? `${fmt(x / 60, 1)} min` : `${fmt(x / 3600, 1)} h`);
const bytes = (b: number) => (b >= 1 << 30 ? `${fmt(b / (1 << 30), 2)} GiB` : b >= 1 << 20 ? `${fmt(b / (1 << 20), 2)} MiB` : b >= 1024 ? `${fmt(b / 1024, 1)} KiB` : `${fmt(b, 0)} bytes`);

/** A value with its unit, as the answer prints it. */
export function withUnit(x: number, unit: string, how: string | null): string {
  if (how === 'rate') return `${fmt(x, 3)} ${unit || 'per'}/s`.replace(' per/s', '/s');
  switch (unit) {
    case 'seconds':
      return secs(x);
    case 'percent':
      return `${fmt(x, 2)}%`;
    case 'bytes':
      return bytes(x);
    case 'ratio':
      return fmt(x, 3);
    case 'messages/s':
      return `${fmt(x, 2)} messages/s`;
    case '':
      return fmt(x, 3);
    default: {
      const n = Math.abs(x - Math.round(x)) < 1e-6 ? Math.round(x) : x;
      const one = unit.replace(/s$/, '');
      return `${fmt(n, 2)} ${n === 1 ? one : unit}`;
    }
  }
}

function agoWords(seconds: number): string {
  const words = durationWords(seconds);
  return `${words === 'hour' ? 'an hour' : words === 'day' ? 'a day' : words === 'week' ? 'a week' : words === 'minute' ? 'a minute' : /^\d/.test(words) ? words : secs(seconds)} ago`;
}

function esc(v: string): string {
  return v.replace(/[\\.+*?^$()[\]{}|]/g, (c) => `\\\\${c}`);
}

/** The label matchers of a question: its filters, the concept's fixed and default filters. */
export function matchers(p: Parts, c: Concept): string[] {
  const out: string[] = [];
  const named = new Set(p.filters.map((f) => f.label));
  for (const [k, v] of Object.entries(c.fixed ?? {})) if (!named.has(k)) out.push(`${k}=${JSON.stringify(v)}`);
  const grouped = new Set([...p.by, ...(p.rank ? rankLabels(p, c) : [])]);
  for (const [k, v] of Object.entries(c.defaults ?? {})) {
    if (named.has(k) || c.fixed?.[k] !== undefined) continue;
    if (grouped.has(k)) {
      if (c.hideInGroups?.[k] === v) out.push(`${k}!=${JSON.stringify(v)}`);
      continue;
    }
    // Rows: customers and products exist only at extract; a stage named without a source keeps orders.
    if (c.id === 'rows' && k === 'stage' && p.filters.some((f) => f.label === 'data_source' && f.values.some((x) => x !== 'orders'))) {
      out.push('stage="extract"');
      continue;
    }
    out.push(`${k}=${JSON.stringify(v)}`);
  }
  for (const f of p.filters) {
    if (f.values.length === 1) out.push(`${f.label}${f.not ? '!=' : '='}${JSON.stringify(f.values[0])}`);
    else out.push(`${f.label}${f.not ? '!~' : '=~'}${JSON.stringify(f.values.map(esc).join('|'))}`);
  }
  return out;
}

export function rankLabels(p: Parts, c: Concept): string[] {
  return p.by.length ? p.by : c.rankBy ?? c.identity ?? [];
}

const sel = (m: string[]) => (m.length ? `{${m.join(',')}}` : '');

/** How the filters read in an answer: "stage load, environment prod". */
export function describeFilters(p: Parts, c: Concept): string {
  const named = new Set(p.filters.map((f) => f.label));
  const shown = [
    ...Object.entries(c.fixed ?? {}).filter(([k]) => !named.has(k)).map(([k, v]) => `${k.replace(/_/g, ' ')} ${v}`),
    ...Object.entries(c.defaults ?? {}).filter(([k]) => !named.has(k) && !p.by.includes(k) && !(p.rank && rankLabels(p, c).includes(k))).map(([k, v]) => `${k.replace(/_/g, ' ')} ${v}`),
    ...p.filters.map((f) => `${f.label.replace(/_/g, ' ')} ${f.not ? 'not ' : ''}${f.values.join(' or ')}`),
  ];
  return shown.length ? ` (${shown.join(', ')})` : '';
}

const key = (m: Record<string, string>, labels: string[]) => labels.map((l) => m[l] ?? '').filter(Boolean).join('/') || 'all';
const cap = (s: string) => (/^p\d/.test(s) ? s : s.charAt(0).toUpperCase() + s.slice(1));

function list(rows: Row[], labels: string[], show: (x: number) => string): string {
  return rows.map((r) => `${key(r.metric, labels)} ${show(r.value)}`).join(', ');
}

function sortRows(rows: Row[], labels: string[]): Row[] {
  return [...rows].sort((a, b) => {
    const ka = key(a.metric, labels);
    const kb = key(b.metric, labels);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** Supported combinations of a measure's kind and HOW; anything else is refused with readings. */
function refuse(p: Parts, c: Concept, why: string, alternatives: Partial<Parts>[]): NotPossible {
  return { problem: why, readings: alternatives.map((a) => ({ ...p, ...a })) };
}

export function planParts(p: Parts, now: Date): Plan | NotPossible {
  const c = p.concept!;
  const w: Window = p.window ?? lastWindow(86_400);
  const r = w.range;
  const m = matchers(p, c);
  const s = sel(m);
  const how = p.how;
  const filt = describeFilters(p, c);
  const ranked = p.rank !== null;
  let groups = ranked ? rankLabels(p, c) : p.by.length ? p.by : c.identity ?? [];
  // A level (a gauge) belongs to its series: grouped by check, it stays per pipeline too.
  if ((c.kind === 'gauge' || c.kind === 'timestamp') && c.id !== 'kafka_lag') groups = [...new Set([...(c.identity ?? []), ...groups])];
  const by = groups.length ? ` by (${groups.join(', ')})` : '';
  // "worst" of something where higher is better is its lowest.
  const dir = p.rank === null ? null : p.goodRank && !c.higherIsBetter ? (p.rank === 'top' ? 'bottom' : 'top') : p.rank;
  const order = (e: string) => (dir === 'top' ? `sort_desc(${e})` : dir === 'bottom' ? `sort(${e})` : e);

  const answerRows = (rowsIn: Row[], noun: string, show: (x: number) => string, sumUp: boolean, when = w.phrase): string => {
    // Counts of nothing are left out of lists ("stage_failure 0"), unless nothing else is there.
    const counting = c.kind === 'counter' || sumUp;
    const nonZero = rowsIn.filter((x) => x.value !== 0);
    const rows = counting && nonZero.length ? nonZero : rowsIn;
    const total = rows.reduce((a, b) => a + b.value, 0);
    const yes = p.yesno && counting ? (total > 0 ? 'Yes: ' : 'No: ') : '';
    const head = (text: string) => (yes ? `${yes}${text}` : cap(text));
    const f = filt && when.startsWith('(') ? `${filt.slice(0, -1)}; ${when.slice(1)}` : `${filt} ${when}`;
    if (rows.length === 0) return head(`no ${noun}${f}.`);
    if (dir) {
      const sorted = [...rows].sort((a, b) => (dir === 'top' ? b.value - a.value : a.value - b.value));
      const best = sorted[0];
      const ties = sorted.filter((x) => x.value === best.value);
      const seconds = c.unit === 'seconds' && c.kind !== 'timestamp';
      const word = dir === 'top' ? (seconds ? 'slowest' : c.kind === 'counter' ? 'most' : 'highest') : seconds ? 'fastest' : c.kind === 'counter' ? 'fewest' : 'lowest';
      const lead = ties.length > 1 ? `${ties.map((t) => key(t.metric, groups)).join(' and ')} (tied), ${show(best.value)}` : `${key(best.metric, groups)}, ${show(best.value)}`;
      const all = sorted.slice(ties.length);
      const rest = all.slice(0, 5);
      const more = all.length - rest.length;
      return `${cap(word)} ${noun}${f}: ${lead}${rest.length ? ` (then ${list(rest, groups, show)}${more ? `, and ${more} more` : ''})` : ''}.`;
    }
    const sorted = sortRows(rows, groups);
    if (sorted.length === 1) {
      const who = key(sorted[0].metric, groups);
      return head(`${noun}${f}: ${show(sorted[0].value)}${groups.length && who !== 'all' ? ` (${who})` : ''}.`);
    }
    if (sumUp) return head(`${noun}${f}: ${show(total)} in all; ${list(sorted, groups, show)}.`);
    return head(`${noun}${f}: ${list(sorted, groups, show)}.`);
  };

  const thresholdVerdict = (rows: Row[], show: (x: number) => string, noun: string): string => {
    const t = p.threshold!;
    const bad = rows.filter((x) => (t.op === '<' ? !(x.value < t.value) : !(x.value > t.value)));
    const word = t.op === '<' ? 'under' : 'over';
    if (rows.length === 0) return `No ${noun} ${w.phrase}: there is nothing to compare with ${show(t.value)}.`;
    const yes = bad.length === 0;
    return `${yes ? 'Yes' : 'No'}: ${noun}${filt} ${w.phrase} is ${yes ? '' : 'not '}${word} ${show(t.value)}${rows.length > 1 || groups.length ? ` for ${yes ? 'every' : `${bad.length} of ${rows.length}`} ${groups.length ? groups.join('/') : 'series'}` : ''}: ${list(sortRows(rows, groups), groups, show)}.`;
  };

  /** Now against the window before: which way it moved, by how much, per group. */
  const trendPlan = (nowQ: string, beforeQ: string, nowLabel: string, beforeLabel: string, show: (x: number) => string): Plan => ({
    queries: [
      { promql: nowQ, what: nowLabel },
      { promql: beforeQ, what: `${c.noun} ${beforeLabel}` },
    ],
    render: ([dn, db]) => {
      const before = new Map(vec(db).map((x) => [key(x.metric, groups), x.value]));
      const moves = vec(dn)
        .filter((x) => before.has(key(x.metric, groups)))
        .map((x) => {
          const b = before.get(key(x.metric, groups))!;
          const change = b === 0 ? (x.value === 0 ? 0 : Infinity) : (x.value - b) / Math.abs(b);
          return { k: key(x.metric, groups), now: x.value, before: b, change, dir: change > 0.05 ? 'up' : change < -0.05 ? 'down' : 'steady' };
        })
        .sort((a, b) => b.change - a.change || (a.k < b.k ? -1 : 1));
      if (moves.length === 0) return `There is not enough data to compare ${c.noun}${filt} ${w.phrase} with ${beforeLabel}.`;
      const asked = p.trend ?? 'up';
      const hit = moves.filter((x) => x.dir === asked);
      if (asked === 'down') hit.reverse();
      const pctOf = (x: { change: number }) => (Number.isFinite(x.change) ? `${x.change >= 0 ? '+' : ''}${fmt(100 * x.change, 1)}%` : 'from 0');
      const one = (x: (typeof moves)[number]) => `${moves.length > 1 || groups.length ? `${x.k} ` : ''}${show(x.before)} → ${show(x.now)} (${pctOf(x)})`;
      const seconds = c.unit === 'seconds';
      const moved = asked === 'up' ? (seconds ? 'got slower' : c.higherIsBetter ? 'rose' : 'grew') : seconds ? 'got faster' : c.higherIsBetter ? 'dropped' : 'fell';
      const notMoved = asked === 'up' ? (seconds ? 'did not get slower' : 'did not grow') : seconds ? 'did not get faster' : 'did not drop';
      const many = moves.length > 1;
      const subject = `${p.yesno ? c.noun : cap(c.noun)}${filt}`;
      const verdict = hit.length === 0
        ? `${p.yesno ? 'No: ' : ''}${subject} ${notMoved} ${w.phrase} against ${beforeLabel}`
        : many
          ? `${p.yesno ? 'Yes: ' : ''}${subject} ${w.phrase} against ${beforeLabel}: ${hit[0].k} ${moved} the most`
          : `${p.yesno ? 'Yes: ' : ''}${subject} ${moved} ${w.phrase} against ${beforeLabel}`;
      return `${verdict}: ${moves.map(one).join(', ')}.`;
    },
  });

  switch (c.kind) {
    case 'counter': {
      if (how === 'avg' || how === 'percentile' || how === 'when') {
        return refuse(p, c, `${c.noun} is a count: it has no ${how === 'avg' ? 'average' : how === 'percentile' ? 'percentiles' : 'time of its own'}`, [{ how: 'total' }, { how: 'rate' }]);
      }
      if (how === 'trend') {
        const now = `sum${by} (increase(${c.metric}${s}[${r}]))`;
        const before = `sum${by} (increase(${c.metric}${s}[${r}] offset ${r}))`;
        return trendPlan(now, before, `${c.noun} ${w.phrase}`, `the ${w.phrase.replace(/^in the last |^in /, '')} before`, (x) => withUnit(x, c.unit, null));
      }
      const rate = how === 'rate';
      const promql = order(`sum${by} (${rate ? 'rate' : 'increase'}(${c.metric}${s}[${r}]))`);
      const show = (x: number) => withUnit(x, c.unit, rate ? 'rate' : null);
      return {
        queries: [{ promql, what: rate ? `${c.noun} per second` : c.noun }],
        render: ([d]) => {
          const rows = vec(d).filter((x) => ranked || p.by.length ? true : x.value !== 0 || vec(d).length === 1);
          if (p.threshold) return thresholdVerdict(rows, show, c.noun);
          return answerRows(rows, rate ? `${c.noun} per second` : c.noun, show, !rate && !ranked && !(p.by.length > 0 && false));
        },
      };
    }
    case 'gauge': {
      const fn = how === 'max' ? 'max_over_time' : how === 'min' ? 'min_over_time' : how === 'avg' ? 'avg_over_time' : 'last_over_time';
      if (how === 'rate' || how === 'percentile' || how === 'when') {
        return refuse(p, c, `${c.noun} is a level measured at each run or line: it has no ${how === 'rate' ? 'rate' : how === 'percentile' ? 'percentiles' : 'time of its own'}`, [{ how: 'latest' }, { how: 'max' }]);
      }
      if (how === 'trend') {
        const agg = c.id === 'kafka_lag' ? 'sum' : 'max';
        const now = `${agg}${by} (last_over_time(${c.metric}${s}[${r}]))`;
        const before = `${agg}${by} (last_over_time(${c.metric}${s}[${r}] offset ${r}))`;
        return trendPlan(now, before, `${c.noun} now`, `the value ${agoWords(w.seconds)}`, (x) => withUnit(x, c.unit, null));
      }
      // Lag adds up over partitions; other levels are per series: the largest one is shown.
      const agg = c.id === 'kafka_lag' ? 'sum' : how === 'min' ? 'min' : 'max';
      const promql = order(`${agg}${by} (${fn}(${c.metric}${s}[${r}]))`);
      const newest = fn === 'last_over_time';
      const label = newest ? c.noun : `${how === 'max' ? 'highest' : how === 'min' ? 'lowest' : 'average'} ${c.noun}`;
      const show = (x: number) => withUnit(x, c.unit, null);
      return {
        queries: [{ promql, what: newest ? `newest ${c.noun}` : label }],
        render: ([d]) => {
          const rows = vec(d);
          if (p.threshold) return thresholdVerdict(rows, show, label);
          return answerRows(rows, label, show, false, newest ? `(newest value ${w.phrase})` : w.phrase);
        },
      };
    }
    case 'histogram': {
      if (how === 'max' || how === 'min' || how === 'when') {
        return refuse(p, c, `the ${how === 'max' ? 'maximum' : how === 'min' ? 'minimum' : 'time'} of single ${c.noun} values is not recorded, only their distribution`, how === 'when' ? [{ how: 'avg' }, { how: 'percentile', quantile: 0.95 }] : [{ how: 'percentile', quantile: how === 'max' ? 0.99 : 0.5 }, { how: 'avg' }]);
      }
      const avgOf = (off: string) => `sum${by} (increase(${c.metric}_sum${s}[${r}]${off})) / sum${by} (increase(${c.metric}_count${s}[${r}]${off}))`;
      if (how === 'trend') return trendPlan(avgOf(''), avgOf(` offset ${r}`), `mean ${c.noun} ${w.phrase}`, `the ${w.phrase.replace(/^in the last |^in /, '')} before`, (x) => withUnit(x, c.unit, null));
      if (how === 'total' || how === 'count' || how === 'rate') {
        const counting = how !== 'total' || c.unit !== 'seconds';
        const promql = order(`sum${by} (${how === 'rate' ? 'rate' : 'increase'}(${c.metric}_${counting ? 'count' : 'sum'}${s}[${r}]))`);
        const noun = counting ? `${c.noun} observations` : `total ${c.noun}`;
        const show = (x: number) => (counting ? `${fmt(how === 'rate' ? x : Math.round(x), 3)}${how === 'rate' ? '/s' : ''}` : withUnit(x, c.unit, null));
        return { queries: [{ promql, what: noun }], render: ([d]) => answerRows(vec(d), noun, show, !ranked) };
      }
      const q = how === 'percentile' ? p.quantile ?? 0.95 : null;
      const grouped = groups.length ? `, ${groups.join(', ')}` : '';
      const promql = order(q !== null ? `histogram_quantile(${q}, sum by (le${grouped}) (increase(${c.metric}_bucket${s}[${r}])))` : avgOf(''));
      const label = q !== null ? `p${Math.round(q * 100)} ${c.noun}` : `mean ${c.noun}`;
      const show = (x: number) => withUnit(x, c.unit, null);
      return {
        queries: [{ promql, what: label }],
        render: ([d]) => {
          const rows = vec(d);
          if (p.threshold) return thresholdVerdict(rows, show, label);
          return answerRows(rows, label, show, false);
        },
      };
    }
    case 'timestamp': {
      if (how && !['when', 'latest', 'max'].includes(how)) {
        return refuse(p, c, `${c.noun} is a point in time`, [{ how: 'when' }]);
      }
      const promql = order(`max${by} (last_over_time(${c.metric}${s}[${r}]))`);
      return {
        queries: [{ promql, what: `time of the ${c.noun}` }],
        render: ([d], at) => {
          const rows = sortRows(vec(d), groups);
          if (rows.length === 0) return `No ${c.noun} was recorded ${w.phrase}${filt ? ` for${filt.slice(1, -1).replace(/^/, ' ')}` : ''}.`;
          const show = (t: number) => `${new Date(Math.floor(t) * 1000).toISOString().replace(/\.000Z$/, 'Z')} (${secs(Math.max(0, at.getTime() / 1000 - t))} ago)`;
          if (p.threshold) return thresholdVerdict(rows.map((x) => ({ ...x, value: at.getTime() / 1000 - x.value })), secs, `time since the ${c.noun}`);
          return `The ${c.noun}${filt}: ${list(rows, groups, show)}.`;
        },
      };
    }
    default:
      throw new Error(`planParts: ${c.kind} is planned elsewhere`);
  }
}

