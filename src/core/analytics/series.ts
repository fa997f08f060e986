/**
 * Query results as rows: one row per sample, metric name, labels, time and value. The shape
 * the `metrics` table in DuckDB has, and that --output renders.
 */
import type { ExportRow, QueryData, VmClient } from '../victoria/client.js';
import type { Table } from '../output/render.js';

export interface SeriesSample {
  metric: string;
  labels: Record<string, string>;
  /** Milliseconds since the epoch. */
  ts: number;
  value: number;
}

function split(metric: Record<string, string>): { name: string; labels: Record<string, string> } {
  const { __name__: name = '', ...labels } = metric;
  return { name, labels };
}

export function samplesFromQuery(data: QueryData): SeriesSample[] {
  switch (data.resultType) {
    case 'vector':
      return data.result.map((r) => ({ metric: split(r.metric).name, labels: split(r.metric).labels, ts: r.value[0] * 1000, value: Number(r.value[1]) }));
    case 'matrix':
      return data.result.flatMap((r) => {
        const { name, labels } = split(r.metric);
        return r.values.map(([t, v]) => ({ metric: name, labels, ts: t * 1000, value: Number(v) }));
      });
    case 'scalar':
    case 'string':
      return [{ metric: '', labels: {}, ts: data.result[0] * 1000, value: Number(data.result[1]) }];
  }
}

export function samplesFromExport(row: ExportRow): SeriesSample[] {
  const { name, labels } = split(row.metric);
  return row.values.map((v, i) => ({ metric: name, labels, ts: row.timestamps[i], value: v }));
}

/** Every raw sample of the matching series in [start, end], from /api/v1/export. */
export async function exportSamples(client: VmClient, match: string[], start: Date, end: Date): Promise<SeriesSample[]> {
  const out: SeriesSample[] = [];
  for await (const row of client.export(match, start, end)) out.push(...samplesFromExport(row));
  return out;
}

/** Label names over all samples, sorted: the label columns of the table. */
export function labelColumns(samples: readonly SeriesSample[]): string[] {
  const names = new Set<string>();
  for (const s of samples) for (const k of Object.keys(s.labels)) names.add(k);
  return [...names].sort();
}

export function samplesTable(samples: readonly SeriesSample[]): Table {
  const labels = labelColumns(samples);
  return {
    columns: ['metric', ...labels, 'timestamp', 'value'],
    rows: samples.map((s) => [s.metric, ...labels.map((l) => s.labels[l] ?? null), new Date(s.ts).toISOString(), s.value]),
  };
}
