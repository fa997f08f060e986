/**
 * How old each pipeline's data is at one moment: the freshness the last run measured at load
 * (newest record to load) plus the time since the last successful run, against an SLA. One
 * computation, used by `query --report freshness` and by `ask` ("is the data fresh?"), so both
 * say the same thing at the same moment.
 */
import { formatDurationShort } from '../time/parse.js';
import type { QueryData, VmClient } from '../victoria/client.js';

export interface FreshnessOptions {
  /** The moment the data's age is computed at. */
  at: Date;
  /** How far back the newest samples are looked for. */
  lookbackSeconds: number;
  slaSeconds: number;
  /** Extra label matchers (pipeline_name="x", environment="prod"), joined with commas. */
  matchers?: string[];
}

export type FreshnessStatus = 'ok' | 'STALE' | 'NO SUCCESS';

export interface FreshnessRow {
  pipeline_name: string;
  environment: string;
  /** Newest record to load, as the last run measured it; null when no run reported it. */
  freshness_at_load_seconds: number | null;
  /** Unix seconds of the last successful run; null when none is in the lookback. */
  last_success: number | null;
  since_last_success_seconds: number | null;
  data_age_seconds: number | null;
  sla_seconds: number;
  status: FreshnessStatus;
}

export interface FreshnessResult {
  rows: FreshnessRow[];
  /** The PromQL that was run, in order, for answers that show their queries. */
  queries: string[];
  results: QueryData[];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const round1 = (x: number) => Math.round(x * 10) / 10;

function vector(d: QueryData): { metric: Record<string, string>; value: number }[] {
  return d.resultType === 'vector' ? d.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) })) : [];
}

/** Data age per pipeline and environment at `at`; stale rows first, then by name. */
export async function computeFreshness(client: VmClient, o: FreshnessOptions): Promise<FreshnessResult> {
  const w = formatDurationShort(Math.max(1, Math.round(o.lookbackSeconds)));
  const sel = o.matchers?.length ? `{${o.matchers.join(',')}}` : '';
  const queries = [
    `max by (pipeline_name, environment) (last_over_time(pipeline_data_freshness_seconds${sel}[${w}]))`,
    `max by (pipeline_name, environment) (last_over_time(pipeline_last_success_timestamp_seconds${sel}[${w}]))`,
  ];
  const results = await Promise.all(queries.map((q) => client.query(q, o.at)));
  const key = (m: { pipeline_name?: string; environment?: string }) => `${m.pipeline_name ?? ''}\u0000${m.environment ?? ''}`;
  const rows = new Map<string, FreshnessRow>();
  const row = (m: Record<string, string>) => {
    const k = key(m);
    let r = rows.get(k);
    if (!r) {
      r = { pipeline_name: m.pipeline_name ?? '', environment: m.environment ?? '', freshness_at_load_seconds: null, last_success: null, since_last_success_seconds: null, data_age_seconds: null, sla_seconds: o.slaSeconds, status: 'NO SUCCESS' };
      rows.set(k, r);
    }
    return r;
  };
  const freshAtLoad = new Map<string, number>();
  for (const f of vector(results[0])) {
    row(f.metric).freshness_at_load_seconds = round1(f.value);
    freshAtLoad.set(key(f.metric), f.value);
  }
  const atS = o.at.getTime() / 1000;
  for (const l of vector(results[1])) {
    const r = row(l.metric);
    r.last_success = l.value;
    r.since_last_success_seconds = round1(atS - l.value);
  }
  for (const r of rows.values()) {
    if (r.last_success === null) continue;
    // Without a measured freshness the age is unknown; the report's SQL gave NULL there too.
    const fresh = freshAtLoad.get(key(r));
    const age = fresh === undefined ? null : fresh + atS - r.last_success;
    r.data_age_seconds = age === null ? null : round1(age);
    r.status = age !== null && age > o.slaSeconds ? 'STALE' : 'ok';
  }
  const order = (r: FreshnessRow) => (r.status === 'ok' ? 1 : 0);
  return {
    rows: [...rows.values()].sort((a, b) => order(a) - order(b) || cmp(a.pipeline_name, b.pipeline_name) || cmp(a.environment, b.environment)),
    queries,
    results,
  };
}
