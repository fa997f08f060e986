/**
 * `pipeobs exec`: one run of any command, recorded with the catalog's pipeline metrics. The
 * command runs untouched (see job.ts); pipeobs adds the run's status, duration and last success,
 * plus whatever the job wrote to PIPEOBS_METRICS_FILE, and pushes them with the spool behind.
 * Kept free of DuckDB, prom-client and the LLM client: it must add almost nothing to a job's time.
 */
import { mkdtemp, readFile, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Registry } from 'prom-client';
import { ExitCode, PipeobsError, type ExitCodeValue } from '../errors.js';
import type { RunStatus } from '../metrics/catalog.js';
import type { PushFormat, PushOutcome } from '../metrics/push.js';
import { splitMetricName } from '../metrics/exposition.js';
import type { Sample } from '../metrics/registry.js';
import type { MetricsFileProblem, MetricsFileResult } from './metrics-file.js';
import { histogramSamples, renderExposition, sample, withLabels, type PushTarget } from './one-shot.js';
import type { DbtSummary } from './dbt.js';
import { runJob, STOP_SIGNALS, type JobEnd, type StopSignal } from './job.js';

export const METRICS_FILE_ENV = 'PIPEOBS_METRICS_FILE';

export interface ExecOptions {
  pipelineName: string;
  environment: string;
  stage: string;
  command: string;
  args: readonly string[];
  timeoutSeconds?: number;
  killAfterSeconds: number;
  push: PushFormat;
  /** dbt's run_results.json to read after the command (absolute), or undefined. */
  dbtResults?: string;
  /** Serve the run's metrics for scrapers while the command runs. */
  serve: { host: string; port: number } | null;
}

export interface ExecContext {
  now(): Date;
  env: Record<string, string | undefined>;
  cwd: string;
  onSignal(handler: (s: StopSignal) => void): () => void;
  forwardSigint: boolean;
  /** Builds the push target (client and spool), called once the command has started; null: no pushing. */
  connect: (() => Promise<PushTarget>) | null;
  startServer?(render: () => Promise<string>, host: string, port: number): Promise<{ url: string; close(): Promise<void> }>;
}

export type ExecReason = 'exit_code' | 'signal' | 'timeout' | 'interrupted' | 'not_started' | null;

export interface ExecResult {
  schema_version: 1;
  pipeline_name: string;
  environment: string;
  stage: string;
  /** The program only: arguments may hold secrets. */
  command: string;
  status: RunStatus;
  reason: ExecReason;
  exit_code: number;
  signal: string | null;
  error: string | null;
  started_at: string;
  finished_at: string;
  duration_seconds: number;
  timeout_seconds: number | null;
  metrics_file: { lines: number; samples: number; problems: MetricsFileProblem[] };
  /** What dbt's run_results.json said (with --dbt-results), null when not asked or not readable. */
  dbt: DbtSummary | null;
  warnings: string[];
  metrics: {
    endpoint: string | null;
    push: { format: PushFormat; target: string | null; pushes: PushOutcome[]; errors: string[]; spool_dir: string | null };
  };
}

/** The run ended other than with success: pipeobs exits with the code the command's end calls for. */
export class JobEndedError extends PipeobsError {
  constructor(message: string, exitCode: number) {
    super('job_failed', (exitCode === 0 ? ExitCode.failure : exitCode) as ExitCodeValue, message);
    this.name = 'JobEndedError';
  }
}

function statusOf(end: JobEnd): { status: RunStatus; reason: ExecReason } {
  if (end.spawnError) return { status: 'failed', reason: 'not_started' };
  if (end.timedOut) return { status: 'failed', reason: 'timeout' };
  if (end.forwarded && end.exitCode !== 0) return { status: 'abandoned', reason: 'interrupted' };
  if (end.signal) return { status: STOP_SIGNALS.includes(end.signal) ? 'abandoned' : 'failed', reason: 'signal' };
  if (end.exitCode !== 0) return { status: 'failed', reason: 'exit_code' };
  return { status: 'success', reason: null };
}

/** What the run's end means in words, for the error message. */
export function describeEnd(r: ExecResult): string {
  switch (r.reason) {
    case 'not_started':
      return `${r.error} (exit code ${r.exit_code})`;
    case 'timeout':
      return `the command ran longer than --timeout ${r.timeout_seconds} s and was stopped (exit code ${r.exit_code})`;
    case 'interrupted':
      return `interrupted: the stop signal was passed to the command, which ended with exit code ${r.exit_code}`;
    case 'signal':
      return `the command was killed by ${r.signal} (exit code ${r.exit_code})`;
    default:
      return `the command exited with code ${r.exit_code}`;
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export async function runExec(opts: ExecOptions, ctx: ExecContext): Promise<ExecResult> {
  const base = { pipeline_name: opts.pipelineName, environment: opts.environment };
  const staged = { ...base, stage: opts.stage };
  const runSamples = (status: RunStatus | null, errorType: string | null, seconds: number | null): Sample[] => [
    ...(['success', 'failed', 'abandoned'] as const).map((s) => sample('pipeline_runs_total', { ...base, status: s }, s === status ? 1 : 0)),
    ...['stage_failure', 'timeout'].map((t) => sample('pipeline_errors_total', { ...staged, error_type: t }, t === errorType ? 1 : 0)),
    ...histogramSamples('pipeline_stage_duration_seconds', staged, seconds === null ? [] : [seconds]),
  ];

  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipeobs-exec-'));
  const metricsFile = path.join(dir, 'metrics.txt');
  await writeFile(metricsFile, '');
  const readJobMetrics = async (): Promise<MetricsFileResult> => {
    const text = await readFile(metricsFile, 'utf8').catch(() => '');
    // Most jobs write nothing there: the parser (and the line-protocol checker behind it) loads only for those that do.
    if (text.trim() === '') return { samples: [], problems: [], lines: 0 };
    return (await import('./metrics-file.js')).parseMetricsFile(text);
  };

  const pushes: PushOutcome[] = [];
  const pushErrors: string[] = [];
  let targetUrl: string | null = null;
  let spoolDir: string | null = null;
  let server: { url: string; close(): Promise<void> } | null = null;
  let current = runSamples(null, null, null);
  try {
    if (opts.serve && ctx.startServer) {
      server = await ctx.startServer(async () => renderExposition([...current, ...withLabels((await readJobMetrics()).samples, base)]), opts.serve.host, opts.serve.port);
    }
    const startedAt = ctx.now();
    // process.hrtime, not performance.now(): the global `performance` loads Node's perf_hooks (nine
    // internal modules, measured as start-up a wrapped job would pay).
    const t0 = process.hrtime.bigint();
    const jobDone = runJob(
      {
        command: opts.command,
        args: opts.args,
        env: { ...ctx.env, [METRICS_FILE_ENV]: metricsFile },
        cwd: ctx.cwd,
        timeoutSeconds: opts.timeoutSeconds,
        killAfterSeconds: opts.killAfterSeconds,
      },
      { onSignal: ctx.onSignal, forwardSigint: ctx.forwardSigint },
    );
    // The push code is loaded, and the counters sent at 0, while the job runs: it waits for neither.
    // A job that ends before they are sent (a short one) has its zeros sent with its values instead,
    // in one request.
    let ended = false;
    const zeros = current;
    const pushing = ctx.connect
      ? Promise.all([ctx.connect(), import('./push-run.js')]).then(([target, run]) => ({
          target,
          run,
          zeroPush: ended ? null : settle(run.pushBatch(target, zeros, startedAt.getTime())),
        }))
      : null;
    pushing?.catch(() => {}); // awaited after the job; this keeps an early failure from counting as unhandled
    const end = await jobDone;
    ended = true;
    const seconds = round3(Number(process.hrtime.bigint() - t0) / 1e9);
    const finishedAt = ctx.now();
    const { status, reason } = statusOf(end);
    const jobMetrics = await readJobMetrics();

    current = runSamples(status, status === 'failed' ? (reason === 'timeout' ? 'timeout' : 'stage_failure') : null, seconds);
    current.push(sample('pipeline_last_run_duration_seconds', base, seconds));
    if (status === 'success') current.push(sample('pipeline_last_success_timestamp_seconds', base, finishedAt.getTime() / 1000));
    const problems = [...jobMetrics.problems];
    const warnings: string[] = [];
    let jobSamples = withLabels(jobMetrics.samples, base);
    let dbt: DbtSummary | null = null;
    if (opts.dbtResults) {
      const read = await readDbtResults(opts.dbtResults, startedAt);
      if (typeof read === 'string') warnings.push(`--dbt-results ${opts.dbtResults}: ${read}`);
      else {
        dbt = read;
        jobSamples = [...jobSamples, ...(await import('./dbt.js')).dbtSamples(read, staged, base)];
      }
    }
    if (opts.push === 'influx') jobSamples = jobSamples.filter((s) => influxCarries(s, problems));

    const ready = pushing ? await pushing.catch((err: unknown) => new Error(`cannot push: ${err instanceof Error ? err.message : String(err)}`)) : null;
    if (ready instanceof Error) pushErrors.push(ready.message);
    else if (ready) {
      const { target, run, zeroPush } = ready;
      targetUrl = target.client.writeUrl;
      spoolDir = target.spool.forTarget(target.client.writeTarget).dir;
      const record = (r: PushOutcome | Error) => (r instanceof Error ? pushErrors.push(r.message) : pushes.push(r));
      const startMs = startedAt.getTime();
      const endMs = finishedAt.getTime();
      if (zeroPush) {
        record(await zeroPush);
        // The end strictly after the start, so the zero and the value are two samples even for an instant job.
        record(await settle(run.pushBatch(target, current, Math.max(endMs, startMs + 1))));
      } else {
        record(await settle(run.pushRun(target, current, startMs, endMs)));
      }
      // The job's own samples apart: if VictoriaMetrics refuses them, the run's metrics are in already.
      if (jobSamples.length > 0) record(await settle(run.pushRun(target, jobSamples, startMs, endMs)));
    }
    return {
      schema_version: 1,
      pipeline_name: opts.pipelineName,
      environment: opts.environment,
      stage: opts.stage,
      command: opts.command,
      status,
      reason,
      exit_code: end.exitCode,
      signal: end.signal,
      error: end.spawnError,
      started_at: startedAt.toISOString(),
      finished_at: finishedAt.toISOString(),
      duration_seconds: seconds,
      timeout_seconds: opts.timeoutSeconds ?? null,
      metrics_file: { lines: jobMetrics.lines, samples: jobSamples.length, problems },
      dbt,
      warnings,
      metrics: {
        endpoint: server?.url ?? null,
        push: { format: opts.push, target: targetUrl, pushes, errors: pushErrors, spool_dir: spoolDir },
      },
    };
  } finally {
    await server?.close();
    // The job writes only its metrics file there; a recursive rm (Node's rimraf) is the fallback
    // for a job that left more, as it costs a millisecond more to load.
    await unlink(metricsFile).catch(() => {});
    await rmdir(dir).catch(() => rm(dir, { recursive: true, force: true }));
  }
}

/** The run_results.json this run wrote, or why it is not read (missing, older than the run, not dbt's). */
async function readDbtResults(file: string, startedAt: Date): Promise<DbtSummary | string> {
  let st;
  try {
    st = await stat(file);
  } catch {
    return 'not found: did dbt run, and in this directory?';
  }
  // A file from an earlier run would report that run's rows and tests as this one's.
  if (st.mtimeMs < startedAt.getTime() - 1000) return `last written ${new Date(st.mtimeMs).toISOString()}, before this run started: not read`;
  return (await import('./dbt.js')).parseDbtRunResults(await readFile(file, 'utf8'), file);
}

/** A push's outcome, or the error VictoriaMetrics answered with (refused data, bad credentials): never a rejection. */
function settle(p: Promise<PushOutcome>): Promise<PushOutcome | Error> {
  return p.catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
}

/** Whether line protocol can carry the sample (its name must split into measurement_field); notes it when not. */
function influxCarries(s: Sample, problems: MetricsFileProblem[]): boolean {
  try {
    splitMetricName(s.name);
    return true;
  } catch (err) {
    problems.push({ line: 0, reason: `${(err as Error).message}; not sent with --push influx (use --push prometheus)`, text: s.name });
    return false;
  }
}

/** Adapts a render function to the /metrics server, which only asks a registry for its text. */
export function renderRegistry(render: () => Promise<string>): Registry {
  return { metrics: render, contentType: 'text/plain; version=0.0.4; charset=utf-8' } as unknown as Registry;
}
