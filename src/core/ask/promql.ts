/**
 * What ask needs to know about a PromQL expression before running it: the metric names it reads
 * (so an invented one is caught and answered with the nearest real names).
 */

const KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'atan2', 'inf', 'nan', 'keep_metric_names', 'limit', 'default', 'if', 'ifnot',
]);

/**
 * Metric names an expression selects: bare identifiers that are not functions (followed by "("),
 * keywords, label names inside {...} or by/without (...) lists, durations, or string contents; and
 * names given as {__name__="..."}.
 */
export function metricNames(promql: string): string[] {
  const names = new Set<string>();
  let i = 0;
  let braces = 0;
  let listAfterKeyword = false; // inside by (...), without (...), on (...), ignoring (...), group_left (...)
  let parenDepthOfList = 0;
  let parens = 0;
  let lastWord = '';
  while (i < promql.length) {
    const c = promql[i];
    if (c === '"' || c === "'" || c === '`') {
      const end = promql.indexOf(c, i + 1);
      const body = promql.slice(i + 1, end < 0 ? promql.length : end);
      const nameMatch = /__name__\s*=\s*$/.exec(promql.slice(Math.max(0, i - 20), i));
      if (braces > 0 && nameMatch) names.add(body);
      i = end < 0 ? promql.length : end + 1;
      continue;
    }
    if (c === '{') braces++;
    else if (c === '}') braces = Math.max(0, braces - 1);
    else if (c === '(') {
      parens++;
      if (['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'].includes(lastWord)) {
        listAfterKeyword = true;
        parenDepthOfList = parens;
      }
    } else if (c === ')') {
      if (listAfterKeyword && parens === parenDepthOfList) listAfterKeyword = false;
      parens--;
    } else if (c === '[') {
      const end = promql.indexOf(']', i);
      i = end < 0 ? promql.length : end + 1;
      continue;
    }
    const m = /^[a-zA-Z_:][a-zA-Z0-9_:.]*/.exec(promql.slice(i));
    if (m && (i === 0 || !/[a-zA-Z0-9_:.]/.test(promql[i - 1]))) {
      const word = m[0];
      const after = promql.slice(i + word.length).trimStart();
      const next = after[0];
      // sum by (x) (...), topk without (y) (...): an aggregation, whatever comes next
      const aggregation = /^(by|without)\s*\(/i.test(after);
      if (braces === 0 && !listAfterKeyword && next !== '(' && !aggregation && !KEYWORDS.has(word.toLowerCase())) names.add(word);
      lastWord = word.toLowerCase();
      i += word.length;
      continue;
    }
    if (!/\s/.test(c)) lastWord = c === '(' ? lastWord : '';
    i++;
  }
  return [...names];
}

export function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** The real names closest to an unknown one: shared words first, then edit distance. */
export function nearestNames(name: string, known: readonly string[], n = 3): string[] {
  const words = new Set(name.split(/[_:]/).filter(Boolean));
  return [...known]
    .map((k) => ({ k, shared: k.split(/[_:]/).filter((w) => words.has(w)).length, d: levenshtein(name, k) }))
    .sort((a, b) => b.shared - a.shared || a.d - b.d || (a.k < b.k ? -1 : 1))
    .slice(0, n)
    .map((x) => x.k);
}
