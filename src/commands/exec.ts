/**
 * pipeobs exec: runs any command (a cron line, an Airflow BashOperator, dbt, a script) untouched
 * and records the run with the catalog's pipeline metrics.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.js';
import type { Config } from '../core/config/config.js';
import type { Deps } from '../core/deps.js';
import { PUSH_FORMATS, type PushFormat } from '../core/metrics/push-formats.js';
import { parseDuration } from '../core/time/parse.js';
import { describeEnd, JobEndedError, METRICS_FILE_ENV, renderRegistry, runExec, type ExecResult } from '../core/exec/exec.js';
import { colorFor } from '../core/output/terminal.js';
import { choiceFlag, configFromFlags, intFlag, outputFlag, outputFormat, printResult, warn, type GlobalFlags } from './shared.js';
import { formatDuration, type OutputFormat } from '../core/output/render.js';
import { addFlags, parseFlagsFast, type FlagSpec } from '../flags.js';
import type { FastCommand } from '../cli.js';

export interface ExecCommandOptions {
  command: string;
  args: string[];
  stage: string;
  push: PushFormat;
  timeoutSeconds?: number;
  killAfterSeconds: number;
  serve: boolean;
  dbtResults?: string;
  output: OutputFormat;
}

/** exec's own flags: commander registers them, and fastExec reads the usual forms without it. */
export const EXEC_FLAGS: readonly FlagSpec[] = [
  { long: 'pipeline', value: 'name', description: 'pipeline_name label (env PIPEOBS_PIPELINE_NAME); required' },
  { long: 'environment', value: 'name', description: 'environment label (env PIPEOBS_ENVIRONMENT, default dev)' },
  { long: 'stage', value: 'name', description: 'stage label of the duration and errors', default: 'run' },
  { long: 'push', value: 'format', description: `push the run's metrics to VictoriaMetrics: ${PUSH_FORMATS.join(', ')}`, default: 'prometheus' },
  { long: 'spool-dir', value: 'dir', description: 'where metrics wait while VictoriaMetrics is unreachable (env PIPEOBS_SPOOL_DIR)' },
  { long: 'timeout', value: 'duration', description: 'stop the command after this long (90s, 5m, 2h): SIGTERM, then SIGKILL after --kill-after; exit code 124' },
  { long: 'kill-after', value: 'seconds', description: 'seconds between SIGTERM and SIGKILL when --timeout strikes', default: '10' },
  { long: 'dbt-results', value: 'file', description: "after the command, read dbt's run_results.json (e.g. target/run_results.json): rows per model, failed models and tests" },
  { long: 'metrics-port', value: 'port', description: "serve the run's metrics at /metrics on this port while the command runs (0 picks one)" },
  { long: 'metrics-host', value: 'host', description: 'address of that endpoint (env PIPEOBS_METRICS_HOST, default 127.0.0.1)' },
  outputFlag(),
];

export function registerExec(program: Command, deps: Deps, run = runExecCommand): void {
  const cmd = program
    .command('exec')
    .description('run any command untouched and record the run (status, duration, last success, its own figures) as pipeline metrics')
    .argument('<command>', 'the program to run; put -- before it when it has options of its own')
    .argument('[args...]', 'its arguments');
  addFlags(cmd, EXEC_FLAGS).addHelpText('after', `
The command's stdin, stdout and stderr are its own; pipeobs exits with the command's exit code
(128+n when signal n killed it, 124 on --timeout, 127 when it cannot be found). SIGINT and
SIGTERM are passed on to it. The job can add its own figures: it appends Prometheus text or
line protocol to the file named by $${METRICS_FILE_ENV} (pipeline_rows_processed_total{stage="load"} 1200);
pipeobs pushes them at the end with pipeline_name and environment added.

Examples:
  $ pipeobs exec --pipeline nightly_orders -- python etl.py --date 2026-11-21
  $ pipeobs exec --pipeline dbt_daily --stage transform --timeout 2h --dbt-results target/run_results.json -- dbt build
  $ pipeobs exec --pipeline backup -o json -- ./backup.sh > run.json`);
  cmd.action((command: string, args: string[], raw: Record<string, unknown>, c: Command) => execAction(command, args, raw, c.optsWithGlobals() as GlobalFlags, deps, run));
}

/** exec read without commander when its arguments are in the usual forms (see flags.ts); null otherwise. */
export const fastExec: FastCommand = (globals, args, deps) => fastExecWith(runExecCommand)(globals, args, deps);

export function fastExecWith(run: typeof runExecCommand): FastCommand {
  return (globals, args, deps) => {
    const parsed = parseFlagsFast(args, EXEC_FLAGS, 1);
    if (!parsed) return null;
    const [command, ...rest] = parsed.positionals;
    return () => execAction(command, rest, parsed.values, globals, deps, run);
  };
}

async function execAction(command: string, args: string[], raw: Record<string, unknown>, globals: GlobalFlags, deps: Deps, run: typeof runExecCommand): Promise<void> {
  const config = configFromFlags(deps, globals, {
    pipelineName: raw.pipeline as string | undefined,
    environment: raw.environment as string | undefined,
    spoolDir: raw.spoolDir as string | undefined,
    metricsHost: raw.metricsHost as string | undefined,
    metricsPort: raw.metricsPort as string | undefined,
  });
  if (raw.pipeline === undefined && deps.env.PIPEOBS_PIPELINE_NAME === undefined) {
    throw new UsageError('exec needs the pipeline\'s name: --pipeline NAME', 'e.g. pipeobs exec --pipeline nightly_orders -- ./etl.sh');
  }
  await run(validateExec(command, args, raw), config, deps);
}

export function validateExec(command: string, args: string[], raw: Record<string, unknown>): ExecCommandOptions {
  const stage = String(raw.stage ?? 'run');
  if (stage === '') throw new UsageError('--stage is empty: the stage label needs a value');
  return {
    command,
    args,
    stage,
    push: choiceFlag(raw.push, '--push', PUSH_FORMATS),
    timeoutSeconds: raw.timeout === undefined ? undefined : parseDuration(String(raw.timeout), '--timeout'),
    killAfterSeconds: intFlag(raw.killAfter ?? '10', '--kill-after', 0, 3600),
    serve: raw.metricsPort !== undefined,
    dbtResults: raw.dbtResults === undefined ? undefined : String(raw.dbtResults),
    output: outputFormat(raw.output),
  };
}

export async function runExecCommand(opts: ExecCommandOptions, config: Config, deps: Deps): Promise<void> {
  const format = opts.push;
  // Loaded once the command runs: without --push, or for a short job, nothing waits for the HTTP client.
  const connect =
    format === 'none'
      ? null
      : async () => {
          const [{ createVmClient }, { Spool }] = await Promise.all([import('./vm-client.js'), import('../core/spool/spool.js')]);
          return { client: createVmClient(config, deps), spool: new Spool(path.resolve(deps.cwd, config.spoolDir)), format };
        };
  const result = await runExec(
    {
      pipelineName: config.pipelineName,
      environment: config.environment,
      stage: opts.stage,
      command: opts.command,
      args: opts.args,
      timeoutSeconds: opts.timeoutSeconds,
      killAfterSeconds: opts.killAfterSeconds,
      push: opts.push,
      dbtResults: opts.dbtResults === undefined ? undefined : path.resolve(deps.cwd, opts.dbtResults),
      serve: opts.serve ? { host: config.metricsHost, port: config.metricsPort } : null,
    },
    {
      now: deps.now,
      env: { ...deps.env },
      cwd: deps.cwd,
      onSignal: (h) => deps.onSignal(h),
      forwardSigint: !(deps.stdin as { isTTY?: boolean }).isTTY,
      connect,
      startServer: async (render, host, port) => {
        const { startMetricsServer } = await import('../core/http/metrics-server.js');
        return startMetricsServer(renderRegistry(render), host, port);
      },
    },
  );
  reportWarnings(result, deps, config);
  if (opts.output === 'json' || opts.output === 'csv') {
    const sent = result.metrics.push.pushes.filter((p) => p.sent).length;
    printResult(deps, config, opts.output, result, {
      columns: ['pipeline_name', 'environment', 'status', 'exit_code', 'duration_seconds', 'pushes', 'pushes_delivered', 'target'],
      rows: [[result.pipeline_name, result.environment, result.status, result.exit_code, result.duration_seconds, result.metrics.push.pushes.length, sent, result.metrics.push.target]],
    });
  } else if (deps.stderr.isTTY) {
    // stdout belongs to the command; the summary goes to stderr, and only on a terminal (cron mails stderr).
    const c = colorFor(deps.stderr, config);
    const status = result.status === 'success' ? c.green(result.status) : c.red(result.status);
    const sent = result.metrics.push.pushes.filter((p) => p.sent).length;
    const target = result.metrics.push.target;
    const pushed = target ? `, metrics: ${sent} of ${result.metrics.push.pushes.length} pushes delivered to ${target}` : ', metrics not pushed';
    deps.stderr.write(`pipeobs exec: ${result.pipeline_name} ${status} in ${formatDuration(result.duration_seconds)}, exit code ${result.exit_code}${pushed}\n`);
  }
  if (result.status !== 'success') throw new JobEndedError(describeEnd(result), result.exit_code);
}

function reportWarnings(result: ExecResult, deps: Deps, config: Config): void {
  for (const p of result.metrics_file.problems) {
    warn(deps, config, p.line > 0 ? `${METRICS_FILE_ENV} line ${p.line}: ${p.reason}: ${p.text}` : `${METRICS_FILE_ENV}: ${p.reason}`);
  }
  for (const w of result.warnings) warn(deps, config, w);
  for (const e of result.metrics.push.errors) warn(deps, config, `metrics not delivered: ${e}`);
  // Each push says itself what became of it: kept in the spool, lost, or delivered with a spool problem.
  for (const p of result.metrics.push.pushes) if (p.message) warn(deps, config, p.message);
}
