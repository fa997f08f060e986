/**
 * Anomaly detection in SQL over a table points(metric, <labels>, ts, value) of windowed rates
 * or ratios: a point is anomalous when it exceeds factor x its baseline, the median of the
 * same series over the preceding baseline window (not including the point), or with `seasonal`
 * the median of the same series at the same time of day on the previous 7 days.
 */
import { quoteIdent } from './duckdb.js';

export interface AnomalyQuery {
  labels: string[];
  factor: number;
  baselineSeconds: number;
  seasonal: boolean;
  /** Only points from here on are reported (earlier ones only feed the baseline). */
  from: Date;
}

export function anomalySql(q: AnomalyQuery): string {
  const key = ['metric', ...q.labels].map(quoteIdent);
  const series = key.join(', ');
  const label = q.labels.length
    ? `concat_ws(',', ${q.labels.map((l) => `CASE WHEN ${quoteIdent(l)} IS NOT NULL THEN '${l.replace(/'/g, "''")}=' || ${quoteIdent(l)} END`).join(', ')})`
    : "''";
  const baseline = q.seasonal
    ? `(SELECT median(h.value) FROM points h WHERE ${key.map((k) => `h.${k} IS NOT DISTINCT FROM p.${k}`).join(' AND ')}
         AND h.ts < p.ts AND h.ts >= p.ts - INTERVAL 7 DAY AND strftime(h.ts, '%H:%M:%S') = strftime(p.ts, '%H:%M:%S'))`
    : `median(value) OVER (PARTITION BY ${series} ORDER BY ts RANGE BETWEEN INTERVAL ${Math.round(q.baselineSeconds * 1000)} MILLISECOND PRECEDING AND INTERVAL 1 MILLISECOND PRECEDING)`;
  const points = q.seasonal ? 'points p' : 'points';
  return `
    WITH b AS (SELECT *, ${baseline} AS baseline FROM ${points} WHERE value IS NOT NULL AND isfinite(value))
    SELECT strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS at, metric, ${label} AS series,
      round(value, 6) AS value, round(baseline, 6) AS baseline, round(value / baseline, 2) AS ratio
    FROM b
    WHERE ts >= epoch_ms(${q.from.getTime()}) AND baseline > 0 AND value > ${q.factor} * baseline
    ORDER BY ts, metric, series`;
}
