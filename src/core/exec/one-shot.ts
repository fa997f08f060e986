/**
 * Metrics of a process that lives for one run (`exec`, `check`): samples are built as plain
 * data from the catalog (no prom-client, so `exec` starts fast), and pushed in one request: every
 * counter and histogram at 0 stamped with the start of the run, then the run's values stamped
 * with its end. Each process starts its counters from 0, so the series reads 0, n, 0, m, ...
 * and increase() over any window counts exactly the runs, rows and errors in it.
 */
import { CATALOG_BY_NAME, metricDef } from '../metrics/catalog.js';
import { escapePromLabelValue, formatPromValue } from '../metrics/exposition.js';
import type { PushFormat } from '../metrics/push-formats.js';
import type { Sample } from '../metrics/registry.js';
import type { Spool } from '../spool/spool.js';
import type { VmClient } from '../victoria/client.js';

export type Labels = Record<string, string>;

/** A counter or gauge sample of a catalog metric. */
export function sample(name: string, labels: Labels, value: number): Sample {
  metricDef(name);
  return { name, labels, value };
}

/** The _bucket, _sum and _count samples of a catalog histogram holding the given observations. */
export function histogramSamples(name: string, labels: Labels, observations: readonly number[]): Sample[] {
  const def = metricDef(name);
  if (def.type !== 'histogram' || !def.buckets) throw new Error(`${name} is not a histogram`);
  const out: Sample[] = [];
  for (const le of def.buckets) {
    out.push({ name: `${name}_bucket`, labels: { ...labels, le: String(le) }, value: observations.filter((o) => o <= le).length });
  }
  out.push({ name: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: observations.length });
  out.push({ name: `${name}_sum`, labels, value: observations.reduce((a, b) => a + b, 0) });
  out.push({ name: `${name}_count`, labels, value: observations.length });
  return out;
}


/** Sample with the given labels added (they win over labels of the same name). */
export function withLabels(samples: readonly Sample[], labels: Labels): Sample[] {
  return samples.map((s) => ({ ...s, labels: { ...s.labels, ...labels } }));
}

/** Where a one-shot process pushes; the pushing code itself is in push-run.ts, loaded only when pushing. */
export interface PushTarget {
  client: VmClient;
  spool: Spool;
  format: Exclude<PushFormat, 'none'>;
}

/** Prometheus exposition without timestamps, for a scrape endpoint; samples grouped by metric family. */
export function renderExposition(samples: readonly Sample[]): string {
  const families = new Map<string, Sample[]>();
  for (const s of samples) {
    const family = CATALOG_BY_NAME.has(s.name) ? s.name : s.name.replace(/_(bucket|sum|count)$/, '');
    const list = families.get(family) ?? [];
    list.push(s);
    families.set(family, list);
  }
  let out = '';
  for (const [family, list] of families) {
    const def = CATALOG_BY_NAME.get(family);
    if (def) out += `# HELP ${def.name} ${def.help}\n# TYPE ${def.name} ${def.type}\n`;
    for (const s of list) {
      const pairs = Object.entries(s.labels).filter(([, v]) => v !== '').map(([k, v]) => `${k}="${escapePromLabelValue(v)}"`);
      out += `${s.name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${formatPromValue(s.value)}\n`;
    }
  }
  return out;
}
