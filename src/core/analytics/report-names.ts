/** The named reports of `pipeobs query --report`, apart from their code so listing them loads no DuckDB. */
export const REPORTS = ['summary', 'stages', 'quality', 'errors', 'freshness', 'anomalies', 'business'] as const;
export type ReportName = (typeof REPORTS)[number];

export const REPORT_DESCRIPTIONS: Record<ReportName, string> = {
  summary: 'rows, runs, success rate, quality and errors per pipeline',
  stages: 'throughput and mean/p50/p95 duration per stage',
  quality: 'quality score trend per check and pipeline (first, last, min, max, change)',
  errors: 'errors by stage and type, with their share',
  freshness: 'data age against --sla, and time since the last successful run',
  anomalies: 'points above --factor x a rolling (or --seasonal) baseline, per series',
  business: 'pipeline metrics per run joined with the run\'s Parquet output (orders, revenue), and their correlation',
};
