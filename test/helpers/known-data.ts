/** Builders of Prometheus text with known values, for tests that check numbers computed from them. */
import { STAGE_DURATION_BUCKETS } from '../../src/core/metrics/catalog.js';

export function prom(name: string, labels: Record<string, string>, points: [number, number][]): string {
  const l = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',');
  return points.map(([t, v]) => `${name}{${l}} ${v} ${t}`).join('\n') + '\n';
}

/** A stage-duration histogram that went from empty at `from` to the given observations at `at`. */
export function histogram(labels: Record<string, string>, from: number, at: number, observations: number[]): string {
  let out = '';
  for (const le of [...STAGE_DURATION_BUCKETS.map(String), '+Inf']) {
    const n = observations.filter((o) => le === '+Inf' || o <= Number(le)).length;
    out += prom('pipeline_stage_duration_seconds_bucket', { ...labels, le }, [[from, 0], [at, n]]);
  }
  out += prom('pipeline_stage_duration_seconds_sum', labels, [[from, 0], [at, observations.reduce((a, b) => a + b, 0)]]);
  out += prom('pipeline_stage_duration_seconds_count', labels, [[from, 0], [at, observations.length]]);
  return out;
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank. */
export function quantile(q: number, observations: number[]): number {
  const bounds = [...STAGE_DURATION_BUCKETS];
  const counts = bounds.map((b) => observations.filter((o) => o <= b).length);
  const rank = q * observations.length;
  const i = counts.findIndex((c) => c >= rank);
  const lower = i === 0 ? 0 : bounds[i - 1];
  const below = i === 0 ? 0 : counts[i - 1];
  return lower + ((bounds[i] - lower) * (rank - below)) / (counts[i] - below);
}
