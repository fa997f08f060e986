/**
 * Words of a question as the offline engine reads them: normalised, split into tokens, stemmed
 * (so "failed", "fails" and "failing" are one word), typos corrected against the words it knows,
 * and time windows ("in the last 10 minutes", "today", "since yesterday") resolved against the
 * clock.
 */
import { levenshtein } from './promql.js';

/** Words never part of a phrase match: "rows were quarantined" matches "row quarantined". */
export const GLUE = new Set(['the', 'a', 'an', 'were', 'was', 'is', 'are', 'been', 'be', 'did', 'do', 'does', 'have', 'has', 'had', 'get', 'got', 'my', 'our', 'we', 'it', 'its', 'this', 'that', 'to', 'much']);

export interface Window {
  seconds: number;
  /** How the answer names the window: "in the last hour", "today (since 00:00 UTC)". */
  phrase: string;
  /** PromQL range, "1h". */
  range: string;
  /** When the window ends before now ("yesterday"): the queries are evaluated at this time. */
  endsAt?: Date;
}

/** Contractions and spellings that would split into misleading tokens. */
const REWRITES: [RegExp, string][] = [
  [/[\u2018\u2019`]/g, "'"],
  [/\bwhat's\b/g, 'what is'],
  [/\bhow's\b/g, 'how is'],
  [/\bwhere's\b/g, 'where is'],
  [/\bwho's\b/g, 'who is'],
  [/\bwhen's\b/g, 'when is'],
  [/\bthat's\b/g, 'that is'],
  [/\bit's\b/g, 'it is'],
  [/\bthere's\b/g, 'there is'],
  [/\b(did|does|do|is|are|was|were|has|have|had)n't\b/g, '$1 not'],
  [/\bcan't\b/g, 'can not'],
  [/\bwon't\b/g, 'will not'],
  [/'s\b/g, ''],
  [/\bp\s+(\d{2})\b/g, 'p$1'],
  [/\b(\d{1,2})(?:st|nd|rd|th)?[\s-]*percentile\b/g, 'p$1'],
  [/\bmedian\b/g, 'p50'],
  [/^how long ago\b/g, 'when'],
  [/\blst\b/g, 'last'],
  [/\bh[ow]{1,2} (mny|meny|mant|manny|nany|mayn|amny)\b/g, 'how many'],
  [/\bper cent\b/g, 'percent'],
  [/\bset aside\b/g, 'quarantined'],
  [/\bup[\s-]to[\s-]date\b/g, 'fresh'],
  [/\bkick(ed)? out\b/g, 'quarantined'],
  [/\bthrown out\b/g, 'quarantined'],
  [/\blow[\s-]confidence\b/g, 'low_confidence'],
  [/\bconsumer groups?\b/g, 'consumer_group'],
  [/\bforeign[\s-]keys?\b/g, 'foreign_key'],
  [/\bnulls?\b/g, 'null'],
];

export function normalize(question: string): string {
  let q = question.toLowerCase();
  for (const [re, to] of REWRITES) q = q.replace(re, to);
  return q.replace(/[?!,;:()"“”]/g, ' ').replace(/\.(\s|$)/g, ' ').replace(/\s+/g, ' ').trim();
}

export function tokens(text: string): string[] {
  return text.split(/[\s]+/).map((t) => t.replace(/^[.'-]+|[.'-]+$/g, '')).filter(Boolean);
}

/** A light stemmer: enough that plurals, -ed and -ing forms meet their base word. */
export function stem(word: string): string {
  let w = word;
  if (/[0-9_]/.test(w) || w.length <= 3) return w;
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (/(ss|sh|ch|x)es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us') && w.length > 3) w = w.slice(0, -1);
  if (w.endsWith('ed') && w.length > 4) w = w.slice(0, -2);
  else if (w.endsWith('ing') && w.length > 5) w = w.slice(0, -3);
  if (/([bdgmnprt])\1$/.test(w)) w = w.slice(0, -1);
  if (w.endsWith('e') && w.length > 4) w = w.slice(0, -1);
  return w;
}

/**
 * The known word nearest to an unknown one, when it is close enough to be a typo: one edit for
 * words of 4-6 letters, two for longer ones; never for numbers or short words.
 */
export function correctTypo(word: string, known: Iterable<string>): string | null {
  if (word.length < 4 || /\d/.test(word)) return null;
  const max = word.length >= 7 ? 2 : 1;
  let best: string | null = null;
  let bestD = max + 1;
  for (const k of known) {
    if (Math.abs(k.length - word.length) > max || k.length < 3) continue;
    // A four-letter word is a typo only by a missing or extra letter: "frsh" is fresh, "life" is not "line".
    if (word.length === 4 && k.length === 4) continue;
    const d = levenshtein(word, k);
    if (d < bestD || (d === bestD && best !== null && k[0] === word[0] && best[0] !== word[0])) {
      best = k;
      bestD = d;
    }
  }
  return bestD <= max ? best : null;
}

const UNIT: Record<string, number> = {
  s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
  h: 3600, hr: 3600, hrs: 3600, hour: 3600, hours: 3600,
  d: 86_400, day: 86_400, days: 86_400,
  w: 604_800, wk: 604_800, week: 604_800, weeks: 604_800,
};
const UNIT_NAME: [number, string][] = [[604_800, 'week'], [86_400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];

export function rangeOf(seconds: number): string {
  for (const [u, s] of [['w', 604_800], ['d', 86_400], ['h', 3600], ['m', 60]] as const) if (seconds >= s && seconds % s === 0) return `${seconds / s}${u}`;
  return `${Math.round(seconds)}s`;
}

export function durationWords(seconds: number): string {
  for (const [size, name] of UNIT_NAME) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return n === 1 ? `${name}` : `${n} ${name}s`;
    }
  }
  return `${seconds} seconds`;
}

export function lastWindow(seconds: number): Window {
  const words = durationWords(seconds);
  return { seconds, phrase: `in the last ${words === 'day' ? '24 hours' : words}`, range: rangeOf(seconds) };
}

const NUM_WORDS: Record<string, number> = { a: 1, an: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, twelve: 12, fifteen: 15, twenty: 20, thirty: 30, 'forty-five': 45, sixty: 60 };
const UNIT_RE = '(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w)';
const NUM_RE = `(\\d+(?:\\.\\d+)?|${Object.keys(NUM_WORDS).join('|')})`;

function num(raw: string): number {
  return NUM_WORDS[raw] ?? Number(raw);
}

/**
 * The window a question names, and the question without it. Counting back from now: "in the
 * last 10 minutes", "past 2h", "last hour", "last 24h"; calendar: "today", "since yesterday",
 * "this week" (since Monday 00:00 UTC).
 */
export function extractWindow(q: string, now: Date): { window: Window | null; rest: string } {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const since = (ms: number) => Math.max(60, Math.round((now.getTime() - ms) / 1000));
  const calendar = (seconds: number, phrase: string): Window => ({ seconds, phrase, range: rangeOf(seconds) });
  const rules: [RegExp, (m: RegExpExecArray) => Window][] = [
    [new RegExp(`\\b(?:in |over |during |for |within )?(?:the )?(?:last|past|previous|recent) ${NUM_RE} ?${UNIT_RE}\\b`), (m) => lastWindow(num(m[1]) * UNIT[m[2]])],
    [new RegExp(`\\b(?:in |over |during |for |within )?(?:the )?${NUM_RE} ?${UNIT_RE} ago\\b`), (m) => lastWindow(num(m[1]) * UNIT[m[2]])],
    [new RegExp(`\\b(?:since|from) ${NUM_RE} ?${UNIT_RE} ago\\b`), (m) => lastWindow(num(m[1]) * UNIT[m[2]])],
    [/\b(?:in |over |during |for |within )?(?:the )?(?:last|past|previous) (hour|day|week|minute)\b/, (m) => lastWindow(UNIT[m[1]])],
    [/\b(?:in |over |during )?(?:the )?(?:last|past) 24 ?h(?:ours?|rs?)?\b/, () => lastWindow(86_400)],
    [/\b(?:in |during )?this hour\b/, () => lastWindow(3600)],
    [/\b(?:so far )?today(?: so far)?\b|\bsince midnight\b/, () => calendar(since(midnight), 'today (since 00:00 UTC)')],
    [/\bsince yesterday\b/, () => calendar(since(midnight - 86_400_000), 'since yesterday 00:00 UTC')],
    // Yesterday is a whole day that ended at midnight: its queries are evaluated then.
    [/\b(?:during |on |for )?yesterday\b/, () => ({ seconds: 86_400, phrase: 'yesterday (00:00 to 24:00 UTC)', range: '1d', endsAt: new Date(midnight) })],
    [/\b(?:so far )?this week\b/, () => {
      const monday = midnight - ((now.getUTCDay() + 6) % 7) * 86_400_000;
      return calendar(since(monday), 'this week (since Monday 00:00 UTC)');
    }],
    [/\b(?:hourly)\b/, () => lastWindow(3600)],
  ];
  for (const [re, make] of rules) {
    const m = re.exec(q);
    if (m) return { window: make(m), rest: `${q.slice(0, m.index)} ${q.slice(m.index + m[0].length)}`.replace(/\s+/g, ' ').trim() };
  }
  return { window: null, rest: q };
}

/** Words a count is given in ("above 1000 messages"): the number is the threshold, the word its unit. */
const COUNT_UNITS = 'messages?|rows?|records?|errors?|lines?|predictions?|runs?|bytes|tokens?|requests?';

export interface Threshold {
  op: '>' | '<';
  /** In the measure's unit: seconds for durations, a ratio for 0-1, a plain number otherwise. */
  value: number;
  /** As the user wrote it, for the answer. */
  text: string;
  sla: boolean;
}

/** "SLA 15 minutes", "under 2 seconds", "above 95", "more than 1000". */
export function extractThreshold(q: string): { threshold: Threshold | null; rest: string } {
  const re = new RegExp(`\\b(sla(?: of| is)?|within|under|below|less than|lower than|over|above|more than|greater than|higher than|exceed(?:s|ing)?|at least|at most)\\s+${NUM_RE}\\s*(%|percent|${UNIT_RE}|${COUNT_UNITS})?(?=\\s|$)`);
  const m = re.exec(q);
  if (!m) return { threshold: null, rest: q };
  const word = m[1];
  const value = num(m[2]) * (m[3] && UNIT[m[3]] ? UNIT[m[3]] : 1);
  const op: '>' | '<' = /^(over|above|more|greater|higher|exceed|at least)/.test(word) ? '>' : '<';
  const sla = word.startsWith('sla') || word === 'within';
  return {
    threshold: { op, value, text: `${m[2]}${m[3] ? ` ${m[3]}` : ''}`, sla },
    rest: `${q.slice(0, m.index)} ${q.slice(m.index + m[0].length)}`.replace(/\s+/g, ' ').trim(),
  };
}
