/**
 * Where each VictoriaMetrics API lives, for a single-node URL (http://vm:8428) and for
 * cluster-style URLs with tenants (writes: http://vminsert:8480/insert/0, reads:
 * http://vmselect:8481/select/0). Pure, so every layout is tested without a server.
 */
export interface VmEndpoints {
  query: string;
  queryRange: string;
  labels: string;
  labelValues: (label: string) => string;
  series: string;
  export: string;
  importPrometheus: string;
  influxWrite: string;
  /** Health of the read side and the write side (the same URL on single-node). */
  readHealth: string;
  writeHealth: string;
  /** The read side's own metrics (version, flags). */
  readMetrics: string;
  /** Single-node only: makes freshly written samples searchable at once. */
  forceFlush?: string;
  cluster: boolean;
}

const INSERT_TENANT = /\/insert\/\d+(:\d+)?$/;
const SELECT_TENANT = /\/select\/\d+(:\d+)?$/;

/** Scheme, credentials (sent as Basic auth by the transport) and host of a base URL. */
function origin(base: string): string {
  const u = new URL(base);
  const userinfo = u.username || u.password ? `${u.username}${u.password ? `:${u.password}` : ''}@` : '';
  return `${u.protocol}//${userinfo}${u.host}`;
}

export function resolveEndpoints(readBase: string, writeBase: string): VmEndpoints {
  const read = readBase.replace(/\/+$/, '');
  const write = writeBase.replace(/\/+$/, '');
  const readPath = new URL(read).pathname.replace(/\/+$/, '');
  const writePath = new URL(write).pathname.replace(/\/+$/, '');
  const readCluster = SELECT_TENANT.test(readPath);
  const writeCluster = INSERT_TENANT.test(writePath);
  // vmselect serves the Prometheus API under /select/<tenant>/prometheus; single-node at the root.
  const api = readCluster ? `${read}/prometheus/api/v1` : `${read}/api/v1`;
  return {
    query: `${api}/query`,
    queryRange: `${api}/query_range`,
    labels: `${api}/labels`,
    labelValues: (label) => `${api}/label/${encodeURIComponent(label)}/values`,
    series: `${api}/series`,
    export: `${api}/export`,
    importPrometheus: writeCluster ? `${write}/prometheus/api/v1/import/prometheus` : `${write}/api/v1/import/prometheus`,
    influxWrite: writeCluster ? `${write}/influx/write` : `${write}/write`,
    readHealth: `${origin(read)}/health`,
    writeHealth: `${origin(write)}/health`,
    readMetrics: `${origin(read)}/metrics`,
    forceFlush: writeCluster ? undefined : `${origin(write)}/internal/force_flush`,
    cluster: readCluster || writeCluster,
  };
}
