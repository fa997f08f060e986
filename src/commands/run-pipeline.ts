/**
 * pipeobs run-pipeline: runs the instrumented ETL once, N times or continuously, serves
 * /metrics, pushes to VictoriaMetrics (spooling when it is down), and prints a summary.
 */
import { VM_START_COMMAND } from '../core/victoria/start-command.js';
import path from 'node:path';
import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { CheckFailedError, InterruptedError, UsageError, WorkFailedError } from '../core/errors.js';
import type { Config } from '../core/config/config.js';
import type { Deps } from '../core/deps.js';
import { PUSH_FORMATS, type PushFormat, type PushOutcome } from '../core/metrics/push.js';
import type { MetricsServer } from '../core/http/metrics-server.js';
import type { RunSummary } from '../core/pipeline/run.js';
import { Spool } from '../core/spool/spool.js';
import { startProgress } from '../core/output/terminal.js';
import { formatBytes, formatDuration, type Table } from '../core/output/render.js';
import { addOutputOption, choiceFlag, configFrom, intFlag, numberFlag, outputFormat, printResult, warn } from './shared.js';
import { createVmClient } from './vm-client.js';
import type { OutputFormat } from '../core/output/render.js';

export interface RunPipelineOptions {
  rows: number;
  seed: number | undefined;
  errorRate: number;
  /** 0 = until interrupted. */
  runs: number;
  intervalSeconds: number;
  push: PushFormat;
  metricsServer: boolean;
  keepServing: boolean;
  metrics: boolean;
  failUnder: number | undefined;
  output: OutputFormat;
}

export function registerRunPipeline(program: Command, deps: Deps, run = runRunPipeline): void {
  const cmd = program
    .command('run-pipeline')
    .description('run the instrumented e-commerce ETL (extract → transform → quality → load to Parquet) and report its metrics')
    .option('--once', 'run once and exit (the default without --runs or --interval)')
    .option('--runs <n>', 'number of runs; 0 with --interval means until interrupted')
    .option('--interval <seconds>', 'seconds between the starts of consecutive runs (continuous mode)')
    .option('--rows <n>', 'orders per run; continuous mode varies it by ±20% run to run', '10000')
    .option('--seed <n>', 'seed for the generated data (reproducible runs); random by default')
    .option('--inject-errors <rate>', 'share of orders (0-1) given one defect each, so quality and error metrics move', '0')
    .option('--output-dir <dir>', 'where Parquet output goes (env PIPEOBS_OUTPUT_DIR, default ./pipeobs-output)')
    .option('--pipeline-name <name>', 'pipeline_name label (env PIPEOBS_PIPELINE_NAME, default ecommerce_orders)')
    .option('--environment <name>', 'environment label (env PIPEOBS_ENVIRONMENT, default dev)')
    .option('--push <format>', `push metrics to VictoriaMetrics after each run: ${PUSH_FORMATS.join(', ')}`, 'none')
    .option('--spool-dir <dir>', 'where metrics wait while VictoriaMetrics is unreachable (env PIPEOBS_SPOOL_DIR)')
    .option('--metrics-host <host>', 'address of the /metrics endpoint (env PIPEOBS_METRICS_HOST, default 127.0.0.1)')
    .option('--metrics-port <port>', 'port of the /metrics endpoint (env PIPEOBS_METRICS_PORT, default 8000)')
    .option('--no-metrics-server', 'do not serve /metrics')
    .option('--keep-serving', 'after the last run, keep serving /metrics until interrupted (for scrapers)')
    .option('--no-metrics', 'run without any instrumentation (to measure its cost)')
    .option('--fail-under <score>', 'quality gate: a run whose overall quality score is below this (0-100) is not published to orders/ (kept in rejected/ with its reasons), counts as failed, and the exit code is 5');
  addOutputOption(cmd).addHelpText('after', `
Examples:
  $ pipeobs run-pipeline --once                                # one run, summary, /metrics while it runs
  $ pipeobs run-pipeline --once --push prometheus              # and push the metrics to VictoriaMetrics
  $ pipeobs run-pipeline --interval 60 --inject-errors 0.02    # a run every minute, with 2% dirty rows
  $ pipeobs run-pipeline --rows 1000000 --once --output json   # a large run, summary as JSON
  $ pipeobs run-pipeline --once --fail-under 99                # below 99: not published (rejected/), exit 5

Output: orders-<run_id>.parquet under <output-dir>/orders/ and failing rows under <output-dir>/quarantine/.`);
  cmd.action(async (raw: Record<string, unknown>, command: Command) => {
    const config = configFrom(deps, command, {
      outputDir: raw.outputDir as string | undefined,
      pipelineName: raw.pipelineName as string | undefined,
      environment: raw.environment as string | undefined,
      spoolDir: raw.spoolDir as string | undefined,
      metricsHost: raw.metricsHost as string | undefined,
      metricsPort: raw.metricsPort as string | undefined,
    });
    await run(validateRunPipeline(raw), config, deps);
  });
}

export function validateRunPipeline(raw: Record<string, unknown>): RunPipelineOptions {
  const interval = raw.interval === undefined ? 0 : numberFlag(raw.interval, '--interval', 0, 86_400 * 7);
  let runs = raw.runs === undefined ? (raw.interval !== undefined ? 0 : 1) : intFlag(raw.runs, '--runs', 0, 1_000_000);
  if (raw.once) runs = 1;
  if (runs === 0 && raw.interval === undefined) runs = 1;
  return {
    rows: intFlag(raw.rows, '--rows', 1, 100_000_000),
    seed: raw.seed === undefined ? undefined : intFlag(raw.seed, '--seed', 0, 2 ** 31 - 1),
    errorRate: numberFlag(raw.injectErrors, '--inject-errors', 0, 1),
    runs,
    intervalSeconds: interval,
    push: choiceFlag(raw.push, '--push', PUSH_FORMATS),
    metricsServer: raw.metricsServer !== false && raw.metrics !== false,
    keepServing: Boolean(raw.keepServing),
    metrics: raw.metrics !== false,
    failUnder: raw.failUnder === undefined ? undefined : numberFlag(raw.failUnder, '--fail-under', 0, 100),
    output: outputFormat(raw.output),
  };
}

export interface RunPipelineResult {
  schema_version: 2;
  pipeline_name: string;
  environment: string;
  runs: RunSummary[];
  metrics: {
    endpoint: string | null;
    push: { format: PushFormat; target: string | null; pushes: PushOutcome[]; spool_dir: string; spooled_files: number | null };
  };
  interrupted: boolean;
}

export async function runRunPipeline(opts: RunPipelineOptions, config: Config, deps: Deps): Promise<void> {
  // Loaded here, not at start-up: DuckDB, faker and prom-client cost about half a second to load.
  const [{ makeRunId, runPipelineOnce }, { catalogRecorder, nullRecorder }, { createCatalogRegistry, initPipelineSeries, snapshotSamples }, { pushSamples }, { startMetricsServer }] =
    await Promise.all([
      import('../core/pipeline/run.js'),
      import('../core/pipeline/recorder.js'),
      import('../core/metrics/registry.js'),
      import('../core/metrics/push.js'),
      import('../core/http/metrics-server.js'),
    ]);
  const base = { pipeline_name: config.pipelineName, environment: config.environment };
  if (opts.push === 'influx') {
    for (const [what, value] of Object.entries(base)) {
      if (/[\r\n]/.test(value)) {
        throw new UsageError(`the ${what} label ${JSON.stringify(value)} holds a line break, which InfluxDB line protocol cannot carry`, 'use --push prometheus, or a value without line breaks');
      }
    }
  }
  const reg = createCatalogRegistry();
  if (opts.metrics) initPipelineSeries(reg, base);
  const recorder = opts.metrics ? catalogRecorder(reg, base) : nullRecorder;
  const client = opts.push === 'none' ? null : createVmClient(config, deps);
  const spool = new Spool(path.resolve(deps.cwd, config.spoolDir));
  const outputDir = path.resolve(deps.cwd, config.outputDir);
  const result: RunPipelineResult = {
    schema_version: 2,
    pipeline_name: config.pipelineName,
    environment: config.environment,
    runs: [],
    metrics: {
      endpoint: null,
      push: { format: opts.push, target: client ? client.writeUrl : null, pushes: [], spool_dir: client ? spool.forTarget(client.writeTarget).dir : spool.root, spooled_files: 0 },
    },
    interrupted: false,
  };

  const stop = new AbortController();
  const removeSignal = deps.onSignal((signal) => {
    if (!stop.signal.aborted) deps.stderr.write(`\n${signal}: abandoning the current run and saving metrics (again to quit at once)\n`);
    result.interrupted = true;
    stop.abort();
  });

  let server: MetricsServer | null = null;
  try {
    if (opts.metricsServer) {
      server = await startMetricsServer(reg.registry, config.metricsHost, config.metricsPort);
      result.metrics.endpoint = server.url;
      if (opts.runs !== 1 || opts.keepServing) deps.stderr.write(`serving metrics at ${server.url}\n`);
    }
    const push = async () => {
      if (!client || opts.push === 'none') return;
      const samples = await snapshotSamples(reg.registry);
      const outcome = await pushSamples(client, spool, opts.push, samples, deps.now().getTime());
      result.metrics.push.pushes.push(outcome);
      if (outcome.message) warn(deps, config, outcome.message);
    };
    // Every counter at 0 first, so increase() over the run is exact even for a brand-new series.
    if (opts.metrics) await push();

    const seed0 = opts.seed ?? Math.floor(Math.random() * 1_000_000);
    for (let i = 0; opts.runs === 0 || i < opts.runs; i++) {
      if (stop.signal.aborted) break;
      const started = deps.now();
      const seed = seed0 + i;
      const rows = opts.intervalSeconds > 0 && i > 0 ? varyRows(opts.rows, seed) : opts.rows;
      const progress = startProgress(deps.stderr, config, `run ${i + 1}: starting`);
      const summary = await runPipelineOnce(
        { runId: makeRunId(started, seed), pipelineName: config.pipelineName, environment: config.environment, rows, seed, errorRate: opts.errorRate, outputDir, failUnder: opts.failUnder },
        { now: deps.now, recorder, signal: stop.signal, onStage: (s) => progress.update(`run ${i + 1}: ${s} (${rows.toLocaleString('en')} rows)`) },
      );
      if (summary.status === 'success') progress.succeed(`run ${i + 1}: ${summary.output.rows.toLocaleString('en')} rows loaded in ${formatDuration(summary.durationSeconds)}`);
      else progress.fail(`run ${i + 1}: ${summary.status}${summary.error ? `: ${summary.error}` : ''}`);
      result.runs.push(summary);
      await push();
      if (opts.runs !== 1 && !progress.active) {
        // Several runs without a spinner (a pipe, a log): one line per run as it finishes.
        deps.stderr.write(`run ${i + 1} ${summary.runId}: ${summary.status}, ${summary.output.rows} rows loaded, quality ${summary.quality?.score ?? '-'}, ${formatDuration(summary.durationSeconds)}\n`);
      }
      const last = opts.runs !== 0 && i + 1 >= opts.runs;
      if (!last && opts.intervalSeconds > 0) {
        const wait = started.getTime() + opts.intervalSeconds * 1000 - deps.now().getTime();
        if (wait > 0) await deps.sleep(wait, stop.signal);
      }
    }
    if (opts.keepServing && server && !stop.signal.aborted) {
      deps.stderr.write(`runs finished; serving ${server.url} until interrupted\n`);
      await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
      result.interrupted = false;
    }
  } finally {
    removeSignal();
    await server?.close();
  }
  // null: the spool could not be read (the push warnings said why).
  result.metrics.push.spooled_files = client ? await spool.forTarget(client.writeTarget).stats().then((s) => s.files, () => null) : 0;

  printResult(deps, config, opts.output, result, runsTable(result), (c) => renderRunText(result, c, client === null));

  if (result.interrupted) throw new InterruptedError('interrupted: the current run was abandoned; completed runs and metrics were saved');
  // A stage that threw is the work failing (exit 1); a batch the quality gate kept back is a check failing (exit 5).
  const broken = result.runs.filter((r) => r.status === 'failed' && !r.rejected);
  if (broken.length > 0) {
    throw new WorkFailedError(`${broken.length} of ${result.runs.length} runs failed: ${broken[0].error} (stage ${broken[0].failedStage})`);
  }
  const rejected = result.runs.filter((r) => r.rejected);
  if (rejected.length > 0) {
    throw new CheckFailedError(`${rejected.length} of ${result.runs.length} runs failed the quality gate: ${rejected[0].error}`);
  }
}

/** ±20% around the requested size, reproducible from the seed. */
function varyRows(rows: number, seed: number): number {
  const x = Math.sin(seed * 12.9898) * 43758.5453;
  const frac = x - Math.floor(x);
  return Math.max(1, Math.round(rows * (0.8 + 0.4 * frac)));
}

export function runsTable(result: RunPipelineResult): Table {
  const rows = result.runs.flatMap((r) =>
    r.stages.map((s) => [r.runId, r.status, s.stage, s.rowsIn, s.rowsOut, s.seconds, s.rowsPerSecond, r.quality?.score ?? null]),
  );
  return { columns: ['run_id', 'status', 'stage', 'rows_in', 'rows_out', 'seconds', 'rows_per_second', 'quality_score'], rows };
}

function renderRunText(result: RunPipelineResult, c: ChalkInstance, noPush: boolean): string {
  const lines: string[] = [];
  for (const r of result.runs) {
    const status = r.status === 'success' ? c.green(r.status) : c.red(r.status);
    lines.push(`${c.bold('run')} ${r.runId}  ${status}  ${formatDuration(r.durationSeconds)}  (${result.pipeline_name}/${result.environment}, seed ${r.seed})`);
    if (r.error) lines.push(`  ${c.red('error:')} ${r.error}`);
    for (const s of r.stages) {
      lines.push(`  ${s.stage.padEnd(10)} ${String(s.rowsIn).padStart(10)} in → ${String(s.rowsOut).padStart(10)} out  ${formatDuration(s.seconds).padStart(9)}  ${s.rowsPerSecond.toLocaleString('en')} rows/s`);
    }
    if (r.quality) {
      const score = r.quality.score >= 99 ? c.green(String(r.quality.score)) : r.quality.score >= 95 ? c.yellow(String(r.quality.score)) : c.red(String(r.quality.score));
      const failing = r.quality.checks.filter((k) => k.failedRows > 0).map((k) => `${k.check} ${k.failedRows} rows (${k.score})`);
      lines.push(`  quality    ${score}/100, ${r.quality.rowsPassed}/${r.quality.rowsChecked} rows passed every check${failing.length ? `; failing: ${failing.join(', ')}` : ''}`);
    }
    if (r.quarantine.rows > 0) {
      lines.push(`  quarantine ${r.quarantine.rows} rows (${Object.entries(r.quarantine.byReason).map(([k, v]) => `${k} ${v}`).join(', ')}) → ${r.quarantine.path}`);
    }
    if (r.output.path) lines.push(`  output     ${r.output.rows} rows, ${formatBytes(r.output.bytes)} → ${r.output.path}`);
    if (r.rejected) lines.push(`  ${c.red('rejected')}   ${r.rejected.rows} rows not published (quality ${r.rejected.quality_score} < --fail-under ${r.rejected.fail_under}) → ${r.rejected.path}; reasons in ${r.rejected.reasons_path}`);
    if (r.freshnessSeconds !== null) lines.push(`  freshness  ${formatDuration(r.freshnessSeconds)} (newest order to load)`);
  }
  const m = result.metrics;
  lines.push('');
  lines.push(`${c.bold('metrics')}: ${m.endpoint ? `served at ${m.endpoint} while running` : '/metrics not served'}`);
  if (noPush) {
    lines.push(`  not pushed (use --push prometheus or --push influx to send them to VictoriaMetrics)`);
  } else {
    const sent = m.push.pushes.filter((p) => p.sent).length;
    const spooled = m.push.pushes.filter((p) => !p.sent).length;
    lines.push(`  pushed to ${m.push.target} as ${m.push.format}: ${sent} of ${m.push.pushes.length} pushes delivered`);
    const lost = m.push.pushes.filter((p) => p.lost);
    if (lost.length > 0) {
      lines.push(`  ${c.red(`${lost.length} pushes (${lost.reduce((n, p) => n + p.samples, 0)} samples) were neither delivered nor kept: the spool could not be written (see the warnings)`)}`);
    }
    if (m.push.spooled_files === null) lines.push(`  ${c.yellow(`the spool ${m.push.spool_dir} cannot be read (see the warnings)`)}`);
    if ((spooled > lost.length) || (m.push.spooled_files ?? 0) > 0) {
      lines.push(`  ${c.yellow(`${m.push.spooled_files} payloads wait in the spool ${m.push.spool_dir}`)}; the next run (or \`pipeobs push-influx --flush-spool\`) delivers them`);
      lines.push(`  no VictoriaMetrics? install and start one: apt-get install -y victoria-metrics && ${VM_START_COMMAND}`);
    }
  }
  return lines.join('\n') + '\n';
}
