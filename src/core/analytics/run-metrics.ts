/**
 * Which samples belong to which run of run-pipeline: by the run's identity, never by the nearest
 * time. Every run sets pipeline_last_run_start_timestamp_seconds to its start (the run_started_at
 * of its output rows) before anything else, so every sample pushed or scraped from then until the
 * next run starts carries that start beside it. A run's values are those of the last sample time
 * that still carries its start (a push after the run, or the last scrape before the next run).
 *
 * Gauges of that sample (quality score, run duration) are the run's own. Counters are cumulative:
 * a run's share is the difference from the previous run's last sample, and that difference is the
 * run's alone only when pipeline_runs_total moved by exactly one run in between. When pushes were
 * lost it moved by more, and the counters are reported as combined rather than given to one run.
 */
import { CATALOG_BY_NAME } from '../metrics/catalog.js';
import type { SeriesSample } from './series.js';

/** The metrics this attribution reads. */
export const RUN_METRIC_NAMES = [
  'pipeline_last_run_start_timestamp_seconds',
  'pipeline_runs_total',
  'pipeline_errors_total',
  'pipeline_data_quality_score',
  'pipeline_last_run_duration_seconds',
] as const;

export type RunMetricsStatus = 'ok' | 'combined' | 'no_baseline';

export interface RunMetrics {
  pipelineName: string;
  environment: string;
  /** The run's start, milliseconds since the epoch: the key to its output rows. */
  startMs: number;
  qualityScore: number | null;
  durationSeconds: number | null;
  /** Errors of this run alone; null unless status is ok. */
  errors: number | null;
  /** ok: the counters moved by this run alone; combined: by runsCovered runs (pushes were lost); no_baseline: no earlier sample to start from. */
  status: RunMetricsStatus;
  runsCovered: number | null;
}

interface Moment {
  start: number | null;
  runs: Map<string, number>;
  errors: Map<string, number>;
  quality: number | null;
  duration: number | null;
}

/** The labels a delivery path adds (job, instance, …): everything that is not the metric's own. */
function sourceOf(s: SeriesSample): string | null {
  const def = CATALOG_BY_NAME.get(s.metric);
  if (!def) return null;
  const own = new Set(def.labels);
  const extra = Object.entries(s.labels).filter(([k]) => !own.has(k)).sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([s.labels.pipeline_name ?? '', s.labels.environment ?? '', extra]);
}

function counterDelta(before: number | undefined, after: number): number {
  // A counter that went down started again from 0 in a new process.
  return before === undefined || after < before ? after : after - before;
}

export function attributeRuns(samples: readonly SeriesSample[]): RunMetrics[] {
  const bySource = new Map<string, Map<number, Moment>>();
  for (const s of samples) {
    const source = sourceOf(s);
    if (source === null) continue;
    let moments = bySource.get(source);
    if (!moments) bySource.set(source, (moments = new Map()));
    let m = moments.get(s.ts);
    if (!m) moments.set(s.ts, (m = { start: null, runs: new Map(), errors: new Map(), quality: null, duration: null }));
    switch (s.metric) {
      case 'pipeline_last_run_start_timestamp_seconds':
        m.start = Math.round(s.value * 1000);
        break;
      case 'pipeline_runs_total':
        m.runs.set(s.labels.status ?? '', s.value);
        break;
      case 'pipeline_errors_total':
        m.errors.set(`${s.labels.stage}/${s.labels.error_type}`, s.value);
        break;
      case 'pipeline_data_quality_score':
        if (s.labels.check_type === 'overall') m.quality = s.value;
        break;
      case 'pipeline_last_run_duration_seconds':
        m.duration = s.value;
        break;
    }
  }
  const out: RunMetrics[] = [];
  for (const [source, moments] of bySource) {
    const [pipelineName, environment] = JSON.parse(source) as [string, string];
    // Sample times that carry the run counter (every push and scrape of run-pipeline does).
    const times = [...moments.keys()].filter((t) => moments.get(t)!.runs.size > 0).sort((a, b) => a - b);
    // The last moment of each stretch of consecutive moments with the same run start.
    const checkpoints: Moment[] = [];
    for (const [i, t] of times.entries()) {
      const m = moments.get(t)!;
      const next = i + 1 < times.length ? moments.get(times[i + 1])! : null;
      if (!next || next.start !== m.start) checkpoints.push(m);
    }
    for (const [i, c] of checkpoints.entries()) {
      if (c.start === null) continue;
      const prev = i > 0 ? checkpoints[i - 1] : null;
      let status: RunMetricsStatus = 'no_baseline';
      let runsCovered: number | null = null;
      let errors: number | null = null;
      if (prev) {
        runsCovered = 0;
        for (const [st, v] of c.runs) runsCovered += counterDelta(prev.runs.get(st), v);
        status = runsCovered === 1 ? 'ok' : 'combined';
        if (status === 'ok') {
          errors = 0;
          for (const [k, v] of c.errors) errors += counterDelta(prev.errors.get(k), v);
        }
      }
      out.push({ pipelineName, environment, startMs: c.start, qualityScore: c.quality, durationSeconds: c.duration, errors, status, runsCovered });
    }
  }
  // When a run arrived by two paths, the exact attribution wins.
  const rank = { ok: 0, combined: 1, no_baseline: 2 } as const;
  return out.sort((a, b) => a.startMs - b.startMs || rank[a.status] - rank[b.status]);
}
