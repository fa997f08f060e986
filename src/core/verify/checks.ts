/**
 * The pre-flight checks of `pipeobs verify`. Each is a function that returns pass, warn, fail or
 * skip with what it saw and, when something is wrong, the exact fix. They run concurrently, each
 * under its own timeout, and never throw.
 */
import { VM_START_COMMAND } from '../victoria/start-command.js';
import { mkdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { httpRequest } from '../http/transport.js';
import { CATALOG, seriesNames } from '../metrics/catalog.js';
import { metricNames } from '../ask/promql.js';
import type { VmClient } from '../victoria/client.js';
import { redactText } from '../redact.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
  seconds: number;
}

export interface VerifyContext {
  client: VmClient;
  vmUrl: string;
  vmagentUrl: string;
  vmalertUrl: string;
  grafanaUrl?: string;
  openai?: { apiKey: string; baseURL?: string };
  outputDir: string;
  writeProbe: boolean;
  /** Where the package's dashboards/ and deploy/ are. */
  assetsDir: string;
  nodeVersion: string;
  now: () => Date;
}

type Outcome = Omit<CheckResult, 'name' | 'seconds'>;
export interface Check {
  name: string;
  run(ctx: VerifyContext): Promise<Outcome>;
}

const pass = (detail: string): Outcome => ({ status: 'pass', detail });
const fail = (detail: string, fix: string): Outcome => ({ status: 'fail', detail, fix });
const warn = (detail: string, fix: string): Outcome => ({ status: 'warn', detail, fix });

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await httpRequest(url, { method: 'GET', headers, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body };
}

function reason(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

/** Metric names the dashboards and alert rules read. */
export async function assetMetricNames(assetsDir: string): Promise<{ file: string; names: string[] }[]> {
  const out: { file: string; names: string[] }[] = [];
  const dashboards = path.join(assetsDir, 'dashboards');
  for (const f of ['pipeline-observability.json']) {
    const doc = JSON.parse(await readFile(path.join(dashboards, f), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    const names = new Set<string>();
    for (const p of doc.panels) for (const t of p.targets ?? []) for (const n of metricNames(t.expr)) names.add(n);
    out.push({ file: `dashboards/${f}`, names: [...names] });
  }
  const rules = await readFile(path.join(assetsDir, 'deploy', 'alerts', 'pipeline.rules.yml'), 'utf8');
  const names = new Set<string>();
  for (const m of rules.matchAll(/^\s*expr:\s*(.+)$/gm)) for (const n of metricNames(m[1])) names.add(n);
  out.push({ file: 'deploy/alerts/pipeline.rules.yml', names: [...names] });
  return out;
}

/** The deduplication pipeobs' stacks run with: one sample per series and millisecond, exact duplicates only. */
export const DEDUP_FLAG = '-dedup.minScrapeInterval=1ms';

/** A Go duration as VictoriaMetrics prints its flags ("1ms", "30s", "1m0s", "0s") in milliseconds; null when unreadable. */
export function goDurationMs(raw: string): number | null {
  if (raw === '0') return 0;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  let rest = raw.trim();
  if (!rest) return null;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/.exec(rest);
    if (!m) return null;
    total += Number(m[1]) * unit[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}

export const CHECKS: Check[] = [
  {
    name: 'node',
    async run(ctx) {
      const [major, minor] = ctx.nodeVersion.replace(/^v/, '').split('.').map(Number);
      return major > 20 || (major === 20 && minor >= 19) ? pass(`Node.js ${ctx.nodeVersion}`) : fail(`Node.js ${ctx.nodeVersion} is older than 20.19`, 'install Node.js 20.19 or newer');
    },
  },
  {
    name: 'duckdb',
    async run() {
      const dir = path.join(os.tmpdir(), `pipeobs-verify-${process.pid}`);
      try {
        const { DuckDBInstance } = await import('@duckdb/node-api');
        const db = await DuckDBInstance.create(':memory:');
        const conn = await db.connect();
        await mkdir(dir, { recursive: true });
        await conn.run(`COPY (SELECT 42 AS answer) TO '${path.join(dir, 'probe.parquet')}' (FORMAT parquet, COMPRESSION zstd)`);
        const rows = (await conn.runAndReadAll(`SELECT answer FROM '${path.join(dir, 'probe.parquet')}'`)).getRowsJS();
        conn.closeSync();
        db.closeSync();
        return rows[0]?.[0] === 42 ? pass('native binding loads; wrote and read a zstd Parquet file') : fail('Parquet round trip returned the wrong value', 'reinstall: npm ci');
      } catch (err) {
        return fail(`DuckDB does not load or write Parquet: ${reason(err)}`, 'reinstall the dependencies: npm ci (the binding comes from @duckdb/node-bindings-linux-x64)');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'output-dir',
    async run(ctx) {
      try {
        await mkdir(ctx.outputDir, { recursive: true });
        const probe = path.join(ctx.outputDir, `.pipeobs-verify-${process.pid}`);
        await writeFile(probe, 'ok');
        await rm(probe);
        const fs = await statfs(ctx.outputDir);
        const free = fs.bavail * fs.bsize;
        const gib = (free / 2 ** 30).toFixed(1);
        return free < 2 ** 30
          ? warn(`${ctx.outputDir} is writable, but only ${gib} GiB are free`, 'free disk space, or point PIPEOBS_OUTPUT_DIR elsewhere')
          : pass(`${ctx.outputDir} is writable, ${gib} GiB free`);
      } catch (err) {
        return fail(`cannot write to ${ctx.outputDir}: ${reason(err)}`, `fix its permissions (chmod/chown), or choose another with PIPEOBS_OUTPUT_DIR or --output-dir`);
      }
    },
  },
  {
    name: 'victoriametrics',
    async run(ctx) {
      const health = await ctx.client.health();
      if (!health.read || !health.write) {
        return fail(`VictoriaMetrics at ${ctx.vmUrl} does not answer /health`, `start it: scripts/stack.sh start (or ${VM_START_COMMAND}), or set PIPEOBS_VM_URL`);
      }
      const version = await ctx.client.version().catch(() => 'unknown');
      if (!ctx.writeProbe) return pass(`${ctx.vmUrl} is up (version ${version})`);
      const probe = `p${Date.now()}${Math.floor(Math.random() * 1e6)}`;
      // A minute in the past: single-node VictoriaMetrics hides the last 30 s from queries by default.
      const at = ctx.now().getTime() - 60_000;
      await ctx.client.importPrometheus(`pipeobs_verify_probe{probe="${probe}"} 1 ${at}\n`);
      await ctx.client.forceFlush().catch(() => {});
      for (let i = 0; i < 30; i++) {
        const r = await ctx.client.query(`last_over_time(pipeobs_verify_probe{probe="${probe}"}[5m])`, ctx.now());
        if (r.resultType === 'vector' && r.result.length === 1) return pass(`${ctx.vmUrl} is up (version ${version}); a written sample was read back`);
        await new Promise((res) => setTimeout(res, 100));
      }
      return fail(`a sample written to ${ctx.vmUrl} could not be read back within 3 s`, 'check its logs and -search.latencyOffset (samples younger than it are hidden from queries)');
    },
  },
  {
    // A write that timed out may still be stored; pipeobs sends it again (or spools it), with the
    // same timestamps. Only deduplication makes that second copy harmless.
    name: 'dedup',
    async run(ctx) {
      let flags: Map<string, string>;
      try {
        flags = await ctx.client.flags();
      } catch (err) {
        return fail(`cannot read the flags of VictoriaMetrics at ${ctx.vmUrl} (${reason(err)})`, 'start it: scripts/stack.sh start, or set PIPEOBS_VM_URL');
      }
      const raw = flags.get('dedup.minScrapeInterval');
      const ms = raw === undefined ? null : goDurationMs(raw);
      const fix = `restart VictoriaMetrics with ${DEDUP_FLAG} (scripts/stack.sh and deploy/compose do); on a cluster, pass it to vmselect and vmstorage`;
      if (raw === undefined) return warn(`VictoriaMetrics at ${ctx.vmUrl} does not report -dedup.minScrapeInterval: a write retried after a timeout may be stored twice`, fix);
      if (ms === null) return warn(`VictoriaMetrics reports -dedup.minScrapeInterval=${raw}, which pipeobs cannot read`, fix);
      if (ms === 0) return warn('deduplication is off (-dedup.minScrapeInterval=0): a write retried after a timeout is stored twice, doubling its samples', fix);
      if (ms > 1) {
        return warn(
          `-dedup.minScrapeInterval=${raw} keeps one sample per series every ${raw}: samples of one series closer together than that (push-influx data, frequent pushes) are merged`,
          `${DEDUP_FLAG} removes only exact duplicates (VictoriaMetrics stores milliseconds), unless you need ${raw} for replicated scrapers`,
        );
      }
      return pass(`deduplication on (-dedup.minScrapeInterval=${raw}): a retried write cannot double a sample`);
    },
  },
  {
    name: 'vmagent',
    async run(ctx) {
      let targets: { health: string; scrapeUrl: string; lastError: string; labels: { job: string } }[];
      try {
        const h = await getJson(`${ctx.vmagentUrl}/health`);
        if (h.status !== 200) return fail(`vmagent at ${ctx.vmagentUrl} answered /health with HTTP ${h.status}`, 'check its log');
        const t = await getJson(`${ctx.vmagentUrl}/api/v1/targets`);
        targets = (t.body as { data: { activeTargets: typeof targets } }).data.activeTargets;
      } catch (err) {
        return fail(`cannot reach vmagent at ${ctx.vmagentUrl} (${reason(err)})`, 'start it: scripts/stack.sh start, or set PIPEOBS_VMAGENT_URL, or --skip vmagent');
      }
      const down = targets.filter((x) => x.health !== 'up');
      if (targets.length === 0) return warn('vmagent has no scrape targets', 'point -promscrape.config at deploy/vmagent/scrape.yml');
      if (down.length) {
        return fail(
          `${down.length} of ${targets.length} targets down: ${down.map((x) => `${x.labels.job} ${x.scrapeUrl} (${x.lastError || x.health})`).join('; ')}`,
          'start what they scrape (pipeobs run-pipeline --interval 60 --metrics-host 0.0.0.0, pipeobs monitor-logs --server, pipeobs ask --metrics-port 9109), or remove them from the scrape config',
        );
      }
      return pass(`${targets.length} targets up: ${[...new Set(targets.map((x) => x.labels.job))].sort().join(', ')}`);
    },
  },
  {
    name: 'vmalert',
    async run(ctx) {
      try {
        const r = await getJson(`${ctx.vmalertUrl}/api/v1/rules`);
        const groups = (r.body as { data?: { groups?: { name: string; rules: unknown[]; lastError?: string }[] } }).data?.groups ?? [];
        if (r.status !== 200) return fail(`vmalert at ${ctx.vmalertUrl} answered HTTP ${r.status}`, 'check its log');
        if (groups.length === 0) return fail('vmalert runs but has no rule groups loaded', 'start it with -rule=deploy/alerts/*.yml');
        const rules = groups.reduce((n, g) => n + g.rules.length, 0);
        return pass(`${groups.length} rule groups, ${rules} rules loaded: ${groups.map((g) => g.name).join(', ')}`);
      } catch (err) {
        return fail(`cannot reach vmalert at ${ctx.vmalertUrl} (${reason(err)})`, 'start it: scripts/stack.sh start, or set PIPEOBS_VMALERT_URL, or --skip vmalert');
      }
    },
  },
  {
    name: 'grafana',
    async run(ctx) {
      if (!ctx.grafanaUrl) return { status: 'skip', detail: 'PIPEOBS_GRAFANA_URL is not set' };
      const shown = ctx.grafanaUrl.replace(/\/\/[^@/]*@/, '//');
      try {
        const ds = await getJson(`${ctx.grafanaUrl}/api/datasources/uid/victoriametrics`);
        if (ds.status === 401) return fail(`Grafana at ${shown} refused the credentials`, 'put them in the URL: PIPEOBS_GRAFANA_URL=http://admin:password@127.0.0.1:3000');
        if (ds.status !== 200) return fail(`Grafana at ${shown} has no datasource with uid victoriametrics (HTTP ${ds.status})`, 'mount deploy/compose/grafana/provisioning at /etc/grafana/provisioning');
        const db = await getJson(`${ctx.grafanaUrl}/api/dashboards/uid/pipeobs-pipeline`);
        if (db.status !== 200) return fail(`Grafana at ${shown} has no dashboard pipeobs-pipeline (HTTP ${db.status})`, 'mount dashboards/ at /var/lib/grafana/dashboards');
        return pass(`${shown}: datasource victoriametrics and dashboard pipeobs-pipeline present`);
      } catch (err) {
        return fail(`cannot reach Grafana at ${shown} (${reason(err)})`, 'start it (docker compose -f deploy/compose/docker-compose.yml up -d grafana), or unset PIPEOBS_GRAFANA_URL');
      }
    },
  },
  {
    name: 'llm',
    async run(ctx) {
      if (!ctx.openai) return { status: 'skip', detail: 'OPENAI_API_KEY is not set: ask answers offline' };
      const base = ctx.openai.baseURL ?? 'https://api.openai.com/v1';
      try {
        const r = await getJson(`${base}/models`, { Authorization: `Bearer ${ctx.openai.apiKey}` });
        if (r.status === 401 || r.status === 403) return fail(`${base} refused the API key (HTTP ${r.status})`, 'check OPENAI_API_KEY (it is never printed)');
        if (r.status !== 200) return warn(`${base}/models answered HTTP ${r.status}`, 'some compatible servers have no /models; try pipeobs ask "hello"');
        const n = (r.body as { data?: unknown[] }).data?.length ?? 0;
        return pass(`${base} accepted the key; ${n} models`);
      } catch (err) {
        return fail(`cannot reach the LLM server at ${base} (${reason(err)})`, 'check OPENAI_BASE_URL, or unset OPENAI_API_KEY to answer offline');
      }
    },
  },
  {
    name: 'dashboard-metrics',
    async run(ctx) {
      let assets: { file: string; names: string[] }[];
      try {
        assets = await assetMetricNames(ctx.assetsDir);
      } catch (err) {
        return fail(`cannot read the dashboards and alert rules: ${reason(err)}`, 'reinstall pipeobs');
      }
      let live: string[];
      try {
        live = await ctx.client.labelValues('__name__', [], new Date(ctx.now().getTime() - 7 * 86_400_000), ctx.now());
      } catch (err) {
        return fail(`cannot list metric names in VictoriaMetrics (${reason(err)})`, 'start VictoriaMetrics first');
      }
      // ask's and monitor-logs' metrics exist only once those are used: missing is a warning.
      const optional = new Map(CATALOG.filter((m) => m.source !== 'run-pipeline').flatMap((m) => seriesNames(m).map((n) => [n, m.source] as const)));
      const missing = new Map<string, string[]>();
      for (const a of assets) for (const n of a.names) if (!live.includes(n)) missing.set(n, [...(missing.get(n) ?? []), a.file]);
      const hard = [...missing.keys()].filter((n) => !optional.has(n));
      const soft = [...missing.keys()].filter((n) => optional.has(n));
      const total = new Set(assets.flatMap((a) => a.names)).size;
      if (hard.length) {
        return fail(`${hard.length} of ${total} metrics the dashboards and alerts query do not exist in VictoriaMetrics: ${hard.join(', ')}`, 'send them: pipeobs run-pipeline --once --push prometheus (or let vmagent scrape run-pipeline\'s /metrics)');
      }
      if (soft.length) {
        const sources = new Set(soft.map((n) => optional.get(n)));
        const how = [
          sources.has('ask') ? 'pipeobs ask --push prometheus "…" sends ask\'s usage metrics (the LLM usage panels stay empty until then)' : '',
          sources.has('monitor-logs') ? 'pipeobs monitor-logs <logs> --server (scraped by vmagent, or with --push prometheus) sends the log metrics (the log-monitoring dashboard stays empty until then)' : '',
        ].filter(Boolean);
        return warn(`${soft.length} metrics of ${[...sources].join(' and ')} are not in VictoriaMetrics yet: ${soft.join(', ')}`, how.join('; '));
      }
      return pass(`all ${total} metrics the dashboards and alert rules query exist`);
    },
  },
  {
    name: 'double-ingestion',
    async run(ctx) {
      const end = ctx.now();
      let series: Record<string, string>[];
      try {
        series = await ctx.client.series(['{__name__=~"pipeline_.+|pipeobs_.+"}'], new Date(end.getTime() - 3_600_000), end);
      } catch (err) {
        return fail(`cannot list the series in VictoriaMetrics (${reason(err)})`, 'start VictoriaMetrics first');
      }
      const doubled = findDoubleIngestion(series);
      if (doubled.length === 0) return pass(`each of the ${series.length} pipeobs series of the last hour arrives by one path`);
      const first = doubled[0];
      return fail(
        `${doubled.length} series of the last hour arrive twice, so every sum over them is doubled: ${first.series} comes as ${first.sources.join(' and ')}${doubled.length > 1 ? `, and ${doubled.length - 1} more` : ''}`,
        'deliver each process\'s metrics once: use deploy/vmagent/scrape.yml (its jobs drop job and instance, so a scraped and a pushed sample land in one series), or stop one path: no --push for a process vmagent scrapes, or no scrape job for a process that pushes',
      );
    },
  },
];

/**
 * Series of the catalog's metrics that are the same measurement arriving by two paths: equal
 * name and catalog labels (pipeline_name, environment, stage, component…, and `le`), differing
 * only in labels a delivery path adds (`job`, `instance`, external labels). Sums over such series
 * count every sample twice.
 */
export function findDoubleIngestion(series: readonly Record<string, string>[]): { series: string; sources: string[] }[] {
  const catalogLabels = new Map<string, Set<string>>();
  for (const def of CATALOG) {
    for (const n of seriesNames(def)) catalogLabels.set(n, new Set([...def.labels, ...(n.endsWith('_bucket') ? ['le'] : [])]));
  }
  const groups = new Map<string, { series: string; sources: Set<string> }>();
  for (const s of series) {
    const name = s.__name__;
    const own = catalogLabels.get(name);
    if (!own) continue;
    const ownPairs = Object.entries(s).filter(([k]) => own.has(k)).sort(([a], [b]) => (a < b ? -1 : 1));
    const sourcePairs = Object.entries(s).filter(([k]) => k !== '__name__' && !own.has(k)).sort(([a], [b]) => (a < b ? -1 : 1));
    const key = `${name}{${ownPairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    const g = groups.get(key) ?? { series: key, sources: new Set<string>() };
    g.sources.add(`{${sourcePairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`);
    groups.set(key, g);
  }
  return [...groups.values()].filter((g) => g.sources.size > 1).map((g) => ({ series: g.series, sources: [...g.sources].sort((a, b) => a.length - b.length || (a < b ? -1 : 1)) }));
}

export async function runChecks(checks: readonly Check[], ctx: VerifyContext, timeoutMs: number): Promise<CheckResult[]> {
  return Promise.all(
    checks.map(async (c) => {
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<Outcome>((resolve) => {
        timer = setTimeout(() => resolve(fail(`no answer within ${timeoutMs / 1000} s`, 'see whether the service is overloaded or hanging; raise --timeout')), timeoutMs);
      });
      const outcome = await Promise.race([c.run(ctx).catch((err: unknown) => fail(`check failed: ${reason(err)}`, 'rerun with --debug')), timeout]);
      clearTimeout(timer);
      // Checks name the URLs they probed: shown without credentials, whatever the check wrote.
      const shown = { ...outcome, detail: redactText(outcome.detail), ...(outcome.fix === undefined ? {} : { fix: redactText(outcome.fix) }) };
      return { name: c.name, ...shown, seconds: Math.round(performance.now() - t0) / 1000 };
    }),
  );
}
