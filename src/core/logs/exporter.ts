/**
 * monitor-logs --server's metrics: a prom-client registry whose metrics are read, at scrape or
 * push time, from the groups' totals (so counting a line costs no label hashing). Every group
 * ever seen keeps all its series, counters at 0 included; names and labels are the catalog's.
 */
import client from 'prom-client';
import { CATALOG, TASK_OUTCOMES, metricDef } from '../metrics/catalog.js';
import { GroupTotals, type GroupStats } from './aggregate.js';
import { SKIP_REASONS } from './formats.js';
import { BUILTIN_FORMATS } from './format-table.js';
import type { LogReader } from './reader.js';

interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** A metric for prom-client's registry whose values are computed when collected. */
function computed(name: string, values: () => Value[]): { name: string; get(): Promise<{ name: string; help: string; type: string; values: Value[]; aggregator: 'sum' }> } {
  const def = metricDef(name);
  return {
    name,
    get: async () => ({ name, help: def.help, type: def.type, values: values(), aggregator: 'sum' }),
  };
}

function histogram(name: string, bounds: readonly number[], buckets: Float64Array, sum: number, count: number, labels: Record<string, string>): Value[] {
  const out: Value[] = [];
  let cumulative = 0;
  bounds.forEach((le, i) => {
    cumulative += buckets[i];
    out.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` });
  });
  out.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: `${name}_bucket` });
  out.push({ labels, value: sum, metricName: `${name}_sum` });
  out.push({ labels, value: count, metricName: `${name}_count` });
  return out;
}

export interface ExporterSources {
  reader: LogReader;
  filesFollowed(): number;
}

export function createLogRegistry(src: ExporterSources): client.Registry {
  const registry = new client.Registry();
  const agg = src.reader.aggregator;
  const groups = (component?: string): GroupStats[] => [...agg.groups.values()].filter((g) => g.totals !== null && (component === undefined || g.component === component));
  const components = () => [...new Set(groups().map((g) => g.component))];
  const byComponent = (pick: (t: GroupTotals) => number) => () =>
    components().map((component) => ({ labels: { component }, value: groups(component).reduce((a, g) => a + pick(g.totals!), 0) }));
  const perGroup = (component: string, labelNames: readonly string[], pick: (t: GroupTotals) => number, skipNaN = false) => () =>
    groups(component)
      .map((g) => ({ labels: Object.fromEntries(labelNames.map((l, i) => [l, g.labels[i]])), value: pick(g.totals!) }))
      .filter((v) => !skipNaN || !Number.isNaN(v.value));
  const groupHistogram = (name: string, component: string, labelNames: readonly string[], kind: 'latency' | 'confidence') => () =>
    groups(component).flatMap((g) => {
      const t = g.totals!;
      const labels = Object.fromEntries(labelNames.map((l, i) => [l, g.labels[i]]));
      const def = metricDef(name);
      return kind === 'latency'
        ? histogram(name, def.buckets!, t.latencyBuckets, t.latencySumSeconds, t.latencyCount, labels)
        : histogram(name, def.buckets!, t.confidenceBuckets, t.confidenceSum, t.confidenceCount, labels);
    });
  // Each built-in format's own metrics, as its entry in the format table declares them.
  const ownMetrics = BUILTIN_FORMATS.flatMap((f) =>
    f.metrics.map((m) => {
      if (m.kind === 'value') return computed(m.name, perGroup(f.component, f.groupLabels, m.value, m.skipNaN));
      if (m.kind === 'outcomes') {
        return computed(m.name, () =>
          groups(f.component).flatMap((g) =>
            TASK_OUTCOMES.map((outcome) => ({
              labels: { ...Object.fromEntries(f.groupLabels.map((l, i) => [l, g.labels[i]])), outcome },
              value: outcome === 'success' ? g.totals!.success : outcome === 'failed' ? g.totals!.failed : g.totals!.retry,
            })),
          ),
        );
      }
      return computed(m.name, groupHistogram(m.name, f.component, f.groupLabels, m.kind));
    }),
  );
  const metrics = [
    computed('pipeobs_logs_lines_total', byComponent((t) => t.lines)),
    computed('pipeobs_logs_error_lines_total', byComponent((t) => t.errors)),
    computed('pipeobs_logs_records_total', byComponent((t) => t.records)),
    computed('pipeobs_logs_skipped_lines_total', () =>
      SKIP_REASONS.filter((r) => r !== 'outside_window').map((reason) => ({ labels: { reason }, value: src.reader.skips.counts.get(reason) ?? 0 })),
    ),
    computed('pipeobs_logs_last_line_timestamp_seconds', () =>
      components().map((component) => ({ labels: { component }, value: Math.max(...groups(component).map((g) => g.totals!.lastTs)) / 1000 })),
    ),
    computed('pipeobs_logs_latency_seconds', () =>
      components().flatMap((component) => {
        const merged = new GroupTotals();
        for (const g of groups(component)) {
          const t = g.totals!;
          for (let i = 0; i < merged.latencyBuckets.length; i++) merged.latencyBuckets[i] += t.latencyBuckets[i];
          merged.latencySumSeconds += t.latencySumSeconds;
          merged.latencyCount += t.latencyCount;
        }
        return histogram('pipeobs_logs_latency_seconds', metricDef('pipeobs_logs_latency_seconds').buckets!, merged.latencyBuckets, merged.latencySumSeconds, merged.latencyCount, { component });
      }),
    ),
    computed('pipeobs_logs_overflow_groups_total', () => components().map((component) => ({ labels: { component }, value: agg.overflowCount(component) }))),
    computed('pipeobs_logs_files_followed', () => [{ labels: {}, value: src.filesFollowed() }]),
    ...ownMetrics,
  ];
  const exported = new Set(metrics.map((m) => m.name));
  const missing = CATALOG.filter((m) => m.source === 'monitor-logs' && !exported.has(m.name));
  if (missing.length) throw new Error(`catalog metrics not exported by monitor-logs: ${missing.map((m) => m.name).join(', ')}`);
  for (const m of metrics) registry.registerMetric(m as unknown as client.Metric);
  return registry;
}
