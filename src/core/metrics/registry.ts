/**
 * A prom-client registry built from the catalog, with every known counter series created
 * at 0, and a snapshot of it as plain samples for pushing.
 */
import client from 'prom-client';
import { CATALOG, pipelineCounterSeries, STAGES, type MetricDef } from './catalog.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export type AnyMetric = client.Counter<string> | client.Gauge<string> | client.Histogram<string>;

export interface CatalogRegistry {
  registry: client.Registry;
  metric(name: string): AnyMetric;
  counter(name: string): client.Counter<string>;
  gauge(name: string): client.Gauge<string>;
  histogram(name: string): client.Histogram<string>;
}

export function createCatalogRegistry(defs: readonly MetricDef[] = CATALOG.filter((m) => m.source === 'run-pipeline')): CatalogRegistry {
  const registry = new client.Registry();
  const metrics = new Map<string, AnyMetric>();
  for (const def of defs) {
    const common = { name: def.name, help: def.help, labelNames: [...def.labels], registers: [registry] };
    const m =
      def.type === 'counter'
        ? new client.Counter(common)
        : def.type === 'gauge'
          ? new client.Gauge(common)
          : new client.Histogram({ ...common, buckets: [...(def.buckets ?? [])] });
    metrics.set(def.name, m);
  }
  const metric = (name: string) => {
    const m = metrics.get(name);
    if (!m) throw new Error(`metric ${name} is not registered`);
    return m;
  };
  return {
    registry,
    metric,
    counter: (n) => metric(n) as client.Counter<string>,
    gauge: (n) => metric(n) as client.Gauge<string>,
    histogram: (n) => metric(n) as client.Histogram<string>,
  };
}

/**
 * Creates every counter series a pipeline run can produce, and every stage's histogram,
 * at 0, so that increase() and rate() are right from the first scrape or push.
 */
export function initPipelineSeries(reg: CatalogRegistry, base: { pipeline_name: string; environment: string }): void {
  for (const [name, series] of Object.entries(pipelineCounterSeries())) {
    for (const labels of series) reg.counter(name).inc({ ...base, ...labels }, 0);
  }
  for (const stage of STAGES) reg.histogram('pipeline_stage_duration_seconds').zero({ ...base, stage });
}

/** The registry's current values as flat samples (histograms as _bucket/_sum/_count). */
export async function snapshotSamples(registry: client.Registry): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const m of await registry.getMetricsAsJSON()) {
    for (const v of m.values) {
      const labels: Record<string, string> = {};
      for (const [k, val] of Object.entries(v.labels)) if (val !== undefined) labels[k] = String(val);
      out.push({ name: (v as { metricName?: string }).metricName ?? m.name, labels, value: v.value });
    }
  }
  return out;
}
