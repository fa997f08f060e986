/**
 * "Is anything wrong?": what the shipped alert rules (deploy/alerts/*.yml) would say now. Each
 * rule's expression is evaluated over its `for:` duration at the group's interval: a series
 * present at every step would be firing, one present now but not for the whole duration would
 * be pending. The evidence is each series' value now.
 */
import type { VmClient, QueryData } from '../victoria/client.js';
import { parseDuration } from '../time/parse.js';
import { fmt, secs } from './plan.js';

export interface AlertRule {
  file: string;
  group: string;
  alert: string;
  expr: string;
  forSeconds: number;
  intervalSeconds: number;
  severity: string;
  summary: string;
}

/** The rules of vmalert/Prometheus rule files as pipeobs ships them (one expr per line). */
export function parseRules(file: string, text: string): AlertRule[] {
  const rules: AlertRule[] = [];
  let group = '';
  let interval = 60;
  let current: AlertRule | null = null;
  // Recording rules: nothing records them when pipeobs evaluates the alerts itself, so their
  // expressions are put in place of their names.
  const records = new Map<string, string>();
  let record: string | null = null;
  for (const line of text.split('\n')) {
    const r = /^\s*-\s*record:\s*(\S+)/.exec(line);
    if (r) {
      record = r[1];
      current = null;
      continue;
    }
    if (record) {
      const e = /^\s*expr:\s*(.+)$/.exec(line);
      if (e) {
        records.set(record, e[1].trim());
        record = null;
      }
      continue;
    }
    const g = /^\s*-\s*name:\s*(\S+)/.exec(line);
    if (g) {
      group = g[1];
      interval = 60;
      continue;
    }
    const iv = /^\s{4}interval:\s*(\S+)/.exec(line);
    if (iv && !current) {
      interval = parseDuration(iv[1], `${file} interval`);
      continue;
    }
    const a = /^\s*-\s*alert:\s*(\S+)/.exec(line);
    if (a) {
      record = null;
      current = { file, group, alert: a[1], expr: '', forSeconds: 0, intervalSeconds: interval, severity: '', summary: '' };
      rules.push(current);
      continue;
    }
    if (!current) continue;
    const e = /^\s*expr:\s*(.+)$/.exec(line);
    if (e) current.expr = e[1].trim();
    const f = /^\s*for:\s*(\S+)/.exec(line);
    if (f) current.forSeconds = parseDuration(f[1], `${file} ${current.alert} for`);
    const s = /^\s*severity:\s*(\S+)/.exec(line);
    if (s) current.severity = s[1];
    const m = /^\s*summary:\s*"(.*)"\s*$/.exec(line);
    if (m) current.summary = m[1];
  }
  for (const rule of rules) {
    for (const [name, expr] of records) {
      // The bare name only: a reference with matchers or a range is left as it is.
      rule.expr = rule.expr.replace(new RegExp(`(?<![\\w:])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w:{\\[])`, 'g'), `(${expr})`);
    }
  }
  return rules.filter((r) => r.expr);
}

export interface AlertState {
  rule: AlertRule;
  state: 'firing' | 'pending';
  labels: Record<string, string>;
  value: number;
  /** For pending: how long the condition has held, at most. */
  heldSeconds: number;
}

export interface HealthResult {
  states: AlertState[];
  rules: AlertRule[];
  queries: { promql: string; what: string }[];
  results: QueryData[];
}

const labelKey = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());

export async function evaluateRules(client: VmClient, rules: AlertRule[], at: Date): Promise<HealthResult> {
  const states: AlertState[] = [];
  const results: QueryData[] = new Array(rules.length);
  await Promise.all(rules.map(async (rule, i) => {
    const now = await client.query(rule.expr, at);
    const hits = now.resultType === 'vector' ? now.result : [];
    results[i] = now;
    if (hits.length === 0) return;
    let held = new Map<string, number>();
    if (rule.forSeconds > 0) {
      // Steps back from now, one per evaluation interval, over the for: duration.
      const step = rule.intervalSeconds;
      const end = Math.floor(at.getTime() / 1000);
      const start = end - rule.forSeconds;
      const range = await client.queryRange(rule.expr, start, end, step);
      const steps = Math.floor(rule.forSeconds / step) + 1;
      held = new Map(range.result.map((s) => {
        // How long the condition has held without a gap, counting back from the newest step.
        const times = new Set(s.values.map(([t]) => Math.round(t)));
        let n = 0;
        for (let t = end; t >= start && times.has(t); t -= step) n++;
        return [labelKey(s.metric), n >= steps ? rule.forSeconds : Math.max(0, (n - 1) * step)];
      }));
    }
    for (const h of hits) {
      const heldSeconds = rule.forSeconds > 0 ? held.get(labelKey(h.metric)) ?? 0 : 0;
      states.push({ rule, state: heldSeconds >= rule.forSeconds ? 'firing' : 'pending', labels: h.metric, value: Number(h.value[1]), heldSeconds });
    }
  }));
  const order = (s: AlertState) => (s.state === 'firing' ? 0 : 1);
  states.sort((a, b) => order(a) - order(b) || rules.indexOf(a.rule) - rules.indexOf(b.rule) || (labelKey(a.labels) < labelKey(b.labels) ? -1 : 1));
  return { states, rules, queries: rules.map((r) => ({ promql: r.expr, what: `alert rule ${r.alert}` })), results };
}

/** A value as the rule's summary would show it: durations for time rules, else the number. */
function evidence(s: AlertState): string {
  // A ratio over nothing (no rows extracted in the window) is what VictoriaMetrics compared: say so.
  if (!Number.isFinite(s.value)) return `${Number.isNaN(s.value) ? 'NaN' : s.value > 0 ? '+Inf' : '-Inf'} (a ratio over an empty window)`;
  const unitSeconds = /time\(\)|freshness_seconds|timestamp_seconds/.test(s.rule.expr) && !/rate|deriv/.test(s.rule.expr);
  return unitSeconds ? secs(s.value) : fmt(s.value, 3);
}

function who(labels: Record<string, string>): string {
  const parts = ['pipeline_name', 'environment', 'stage', 'component', 'topic', 'consumer_group', 'service', 'model_version', 'model', 'error_type'].map((l) => labels[l]).filter(Boolean);
  return parts.length ? parts.join('/') : 'all';
}

/** `askedOk`: the question asks whether all is well ("is everything ok?"), so yes means nothing fires. */
export function renderHealth(h: HealthResult, askedOk = false): string {
  const firing = h.states.filter((s) => s.state === 'firing');
  const pending = h.states.filter((s) => s.state === 'pending');
  const files = [...new Set(h.rules.map((r) => r.file))].join(', ');
  const yes = (fires: boolean) => (fires !== askedOk ? 'Yes' : 'No');
  if (h.states.length === 0) return `${yes(false)}: nothing is wrong; none of the ${h.rules.length} alert rules in ${files} would fire now.`;
  const line = (s: AlertState) => `${s.rule.alert} (${s.rule.severity || 'no severity'}) for ${who(s.labels)}: value ${evidence(s)}${s.state === 'pending' ? `, true for ${secs(s.heldSeconds)} of the ${secs(s.rule.forSeconds)} it must hold` : ''}`;
  const out: string[] = [];
  if (firing.length) out.push(`${yes(true)}: ${firing.length} alert${firing.length > 1 ? 's' : ''} would fire now: ${firing.map(line).join('; ')}.`);
  else out.push(`${yes(false)}: nothing would fire yet, but some conditions are true now.`);
  if (pending.length) out.push(`Pending (condition true, not yet for its whole for: duration): ${pending.map(line).join('; ')}.`);
  out.push(`(${h.rules.length} rules checked from ${files}.)`);
  return out.join(' ');
}
