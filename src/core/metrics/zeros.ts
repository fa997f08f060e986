/**
 * Counters start from 0 in VictoriaMetrics, as in the process: a series whose first pushed sample
 * is already high would make increase() miss that first value (VictoriaMetrics reads the window's
 * first sample as the start). So a cumulative series is pushed at 0 before its first value.
 */
import type { Sample } from './registry.js';

/** Whether a sample belongs to a counter (or a histogram's parts), which restart from 0 in each process. */
export function isCumulative(s: Sample): boolean {
  return /(_total|_bucket|_sum|_count)$/.test(s.name);
}

/** The zero every cumulative sample starts from. */
export function zerosOf(samples: readonly Sample[]): Sample[] {
  return samples.filter(isCumulative).map((s) => ({ ...s, value: 0 }));
}

/** The identity of a series: its name and labels, in one spelling. */
export function seriesKey(s: Sample): string {
  return `${s.name}${JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
}

/**
 * For a process that pushes again and again (monitor-logs --server): the zeros of the cumulative
 * series that were not in any earlier push, each recorded in `seen`.
 */
export function zerosOfNewSeries(samples: readonly Sample[], seen: Set<string>): Sample[] {
  const out: Sample[] = [];
  for (const z of zerosOf(samples)) {
    const key = seriesKey(z);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(z);
  }
  return out;
}
