/**
 * "Is anything wrong?": what the shipped alert rules (deploy/alerts/*.yml) would say now. Each
 * rule's expression is evaluated over its `for:` duration at the group's interval: a series
 * present at every step would be firing, one present now but not for the whole duration would
 * be pending. The evidence is each series' value now.
 */
import type { VmClient, QueryData } from '../victoria/client.js';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { ConfigError } from '../errors.js';
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

/**
 * The alerting rules of a vmalert/Prometheus rule file (`groups: [{name, interval, rules}]`), read
 * as YAML: edited copies of the shipped files (multi-line `expr: |` blocks, other indentation,
 * quoted values) read the same. A file vmalert would refuse is refused here too, naming the line.
 */
export function parseRules(file: string, text: string): AlertRule[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const fail = (line: number | null, what: string): never => {
    throw new ConfigError(`${file}${line ? `:${line}` : ''}: ${what}`, 'fix the rule file (vmalert -dryRun -rule=FILE checks it), or restore the shipped one from deploy/alerts/');
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    fail(e.linePos?.[0].line ?? null, `not valid YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const lineOf = (n: unknown) => {
    const range = (n as Node | null)?.range;
    return range ? lc.linePos(range[0]).line : null;
  };
  const root = doc.contents;
  if (root === null) return [];
  const groups = isMap(root) ? root.get('groups', true) : null;
  if (!isSeq(groups)) return fail(lineOf(groups ?? root), 'expected `groups:`, a list of rule groups');
  const rules: AlertRule[] = [];
  // Recording rules: nothing records them when pipeobs evaluates the alerts itself, so their
  // expressions are put in place of their names.
  const records = new Map<string, string>();
  for (const group of groups.items) {
    if (!isMap(group)) return fail(lineOf(group), 'a group must be a mapping with name and rules');
    const name = String(group.get('name') ?? '');
    const interval = group.get('interval');
    const intervalSeconds = interval === undefined || interval === null ? 60 : parseDuration(String(interval), `${file}:${lineOf(group.get('interval', true))} interval of group ${name}`);
    const list = group.get('rules', true);
    if (list === undefined || list === null) continue;
    if (!isSeq(list)) return fail(lineOf(list), `the rules of group ${name} must be a list`);
    for (const item of list.items) {
      if (!isMap(item)) return fail(lineOf(item), `a rule of group ${name} must be a mapping`);
      const r = item.toJSON() as Record<string, unknown>;
      const expr = typeof r.expr === 'string' || typeof r.expr === 'number' ? String(r.expr).trim() : '';
      if (typeof r.record === 'string') {
        if (expr) records.set(r.record, expr);
        continue;
      }
      if (typeof r.alert !== 'string' || !expr) continue;
      const labels = (r.labels ?? {}) as Record<string, unknown>;
      const annotations = (r.annotations ?? {}) as Record<string, unknown>;
      rules.push({
        file,
        group: name,
        alert: r.alert,
        expr,
        forSeconds: r.for === undefined || r.for === null ? 0 : parseDuration(String(r.for), `${file}:${lineOf(item.get('for', true))} ${r.alert} for`),
        intervalSeconds,
        severity: String(labels.severity ?? ''),
        summary: String(annotations.summary ?? ''),
      });
    }
  }
  for (const rule of rules) {
    for (const [name, expr] of records) {
      // The bare name only: a reference with matchers or a range is left as it is.
      rule.expr = rule.expr.replace(new RegExp(`(?<![\\w:])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w:{\\[])`, 'g'), `(${expr})`);
    }
  }
  return rules;
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
