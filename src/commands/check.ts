/**
 * pipeobs check: data quality rules (YAML), schema changes and volume anomalies of any Parquet,
 * CSV or JSON lines dataset, in one DuckDB scan; a CI or Airflow gate (exit 5).
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { CheckFailedError, UsageError } from '../core/errors.js';
import type { Config } from '../core/config/config.js';
import type { Deps } from '../core/deps.js';
import { PUSH_FORMATS, type PushFormat, type PushOutcome } from '../core/metrics/push.js';
import { Spool } from '../core/spool/spool.js';
import { startProgress } from '../core/output/terminal.js';
import { formatDuration, type OutputFormat, type Table } from '../core/output/render.js';
import { addOutputOption, choiceFlag, configFrom, numberFlag, outputFormat, printResult, warn } from './shared.js';
import { createVmClient } from './vm-client.js';
import type { CheckResult } from '../core/check/check.js';

export interface CheckCommandOptions {
  paths: string[];
  rulesFile: string | null;
  stateFile: string | null;
  push: PushFormat;
  failUnder: number | undefined;
  output: OutputFormat;
}

export function registerCheck(program: Command, deps: Deps, run = runCheckCommand): void {
  const cmd = program
    .command('check')
    .description('check a Parquet, CSV or JSON lines dataset against YAML rules, and its schema and volume against earlier checks')
    .argument('<paths...>', 'files, quoted globs ("data/*.parquet") or Hive-partitioned directories, all of one format')
    .option('--rules <file>', 'YAML rules: not_null, unique, accepted_values, range, relationships, freshness, row_count, expression')
    .option('--state <file>', 'where schema and row counts are kept between checks (default: <rules>.state.json beside the rules)')
    .option('--pipeline <name>', 'pipeline_name label (env PIPEOBS_PIPELINE_NAME, default the dataset name)')
    .option('--environment <name>', 'environment label (env PIPEOBS_ENVIRONMENT, default dev)')
    .option('--push <format>', `push the results to VictoriaMetrics: ${PUSH_FORMATS.join(', ')}`, 'none')
    .option('--spool-dir <dir>', 'where metrics wait while VictoriaMetrics is unreachable (env PIPEOBS_SPOOL_DIR)')
    .option('--fail-under <score>', 'exit with code 5 when the overall score is below this (0-100)');
  addOutputOption(cmd).addHelpText('after', `
Rules file:
  dataset: orders
  key: order_id                           # columns shown in failing examples
  checks:
    - not_null: [customer_id, price]
    - unique: order_id                    # or a list of columns
    - accepted_values: {column: status, values: [new, paid, shipped]}
    - range: {column: price, min: 0, max: 100000}
      severity: warn                      # warn reports; error (the default) fails the check
    - relationships: {column: customer_id, to: customers.parquet, field: id}
    - freshness: {column: created_at, max_age: 1h}
    - row_count: {min: 1000, max: 5000000}
    - expression: "quantity * unit_price = revenue"

Exit codes: 0 passed, 5 a check of severity error failed or the score is under --fail-under,
2 a path cannot be read, 3 the rules file is wrong (the message names the rule and its line).

Examples:
  $ pipeobs check orders.parquet --rules orders.yml
  $ pipeobs check "lake/orders/**/*.parquet" --rules orders.yml --push prometheus --fail-under 99
  $ pipeobs check exports/ --state exports.state.json -o json      # schema and volume only`);
  cmd.action(async (paths: string[], raw: Record<string, unknown>, c: Command) => {
    const config = configFrom(deps, c, {
      pipelineName: raw.pipeline as string | undefined,
      environment: raw.environment as string | undefined,
      spoolDir: raw.spoolDir as string | undefined,
    });
    const named = raw.pipeline !== undefined || deps.env.PIPEOBS_PIPELINE_NAME !== undefined;
    await run(validateCheck(paths, raw, deps.cwd), { ...config, pipelineName: named ? config.pipelineName : '' }, deps);
  });
}

/** The state file beside the rules: orders.yml → orders.state.json. */
export function defaultStateFile(rulesFile: string): string {
  return path.join(path.dirname(rulesFile), `${path.basename(rulesFile).replace(/\.ya?ml$/i, '')}.state.json`);
}

export function validateCheck(paths: string[], raw: Record<string, unknown>, cwd: string): CheckCommandOptions {
  const rulesFile = raw.rules === undefined ? null : path.resolve(cwd, String(raw.rules));
  const stateFile = raw.state !== undefined ? path.resolve(cwd, String(raw.state)) : rulesFile ? defaultStateFile(rulesFile) : null;
  if (!rulesFile && !stateFile) {
    throw new UsageError('nothing to check: give --rules, --state, or both', 'with --state alone, check records the schema and volume and reports their changes');
  }
  return {
    paths,
    rulesFile,
    stateFile,
    push: choiceFlag(raw.push, '--push', PUSH_FORMATS),
    failUnder: raw.failUnder === undefined ? undefined : numberFlag(raw.failUnder, '--fail-under', 0, 100),
    output: outputFormat(raw.output),
  };
}

export interface CheckDocument extends CheckResult {
  pipeline_name: string;
  environment: string;
  fail_under: number | null;
  metrics: { push: { format: PushFormat; target: string | null; pushes: PushOutcome[]; spool_dir: string | null } };
}

export async function runCheckCommand(opts: CheckCommandOptions, config: Config, deps: Deps): Promise<void> {
  const [{ runCheck, checkSamples }, { pushRun }] = await Promise.all([import('../core/check/check.js'), import('../core/exec/push-run.js')]);
  const startedAt = deps.now();
  const progress = startProgress(deps.stderr, config, 'checking');
  const stop = new AbortController();
  const removeSignal = deps.onSignal(() => stop.abort());
  let result: CheckResult;
  try {
    result = await runCheck({
      paths: opts.paths,
      cwd: deps.cwd,
      rulesFile: opts.rulesFile,
      stateFile: opts.stateFile,
      datasetName: null,
      now: deps.now,
      onPhase: (t) => progress.update(t),
      signal: stop.signal,
    });
  } finally {
    removeSignal();
    progress.stop();
  }
  const pipelineName = config.pipelineName || result.dataset;
  const client = opts.push === 'none' ? null : createVmClient(config, deps);
  const spool = client ? new Spool(path.resolve(deps.cwd, config.spoolDir)) : null;
  const doc: CheckDocument = {
    ...result,
    pipeline_name: pipelineName,
    environment: config.environment,
    fail_under: opts.failUnder ?? null,
    metrics: { push: { format: opts.push, target: client?.writeUrl ?? null, pushes: [], spool_dir: client && spool ? spool.forTarget(client.writeTarget).dir : null } },
  };
  if (client && spool && opts.push !== 'none') {
    const target = { client, spool, format: opts.push };
    const samples = checkSamples(result, { pipeline_name: pipelineName, environment: config.environment });
    // Counters from 0 at the start of the check, so increase() counts this check's rows and errors.
    doc.metrics.push.pushes.push(await pushRun(target, samples, startedAt.getTime(), deps.now().getTime()));
    // Each push says itself what became of it: kept in the spool, lost, or delivered with a spool problem.
    for (const p of doc.metrics.push.pushes) if (p.message) warn(deps, config, p.message);
  }
  printResult(deps, config, opts.output, doc, checksTable(doc), (c) => renderCheckText(doc, c));

  const failed = result.checks.filter((c) => c.status === 'fail');
  if (failed.length > 0) {
    throw new CheckFailedError(`${failed.length} check${failed.length > 1 ? 's' : ''} of severity error failed: ${failed.map((c) => c.name).join(', ')}`);
  }
  if (opts.failUnder !== undefined && result.score < opts.failUnder) {
    throw new CheckFailedError(`the score ${result.score} is below --fail-under ${opts.failUnder}`);
  }
}

export function checksTable(doc: CheckDocument): Table {
  return {
    columns: ['check', 'kind', 'severity', 'status', 'rows_checked', 'rows_failing', 'score', 'detail', 'line'],
    rows: doc.checks.map((c) => [c.name, c.kind, c.severity, c.status, c.rows_checked, c.rows_failing, c.score, c.detail, c.line]),
  };
}

function exampleText(e: Record<string, unknown>): string {
  return Object.entries(e).map(([k, v]) => `${k}=${v === null ? 'NULL' : typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
}

function renderCheckText(doc: CheckDocument, c: ChalkInstance): string {
  const lines: string[] = [];
  const score = doc.score >= 99 ? c.green(String(doc.score)) : doc.score >= 95 ? c.yellow(String(doc.score)) : c.red(String(doc.score));
  lines.push(`${c.bold(doc.dataset)}: ${doc.rows.toLocaleString('en')} rows (${doc.format}), score ${score}/100, ${doc.passed ? c.green('passed') : c.red('failed')} in ${formatDuration(doc.seconds)}`);
  const w = Math.max(5, ...doc.checks.map((k) => k.name.length));
  for (const k of doc.checks) {
    const status = k.status === 'pass' ? c.green('pass') : k.status === 'fail' ? c.red('FAIL') : k.status === 'warn' ? c.yellow('warn') : c.dim('----');
    const sc = k.score === null ? '     -' : String(k.score).padStart(6);
    lines.push(`  ${status}  ${k.name.padEnd(w)}  ${sc}  ${k.detail}${k.severity === 'warn' && k.kind !== 'schema' && k.kind !== 'volume' ? c.dim(' (warn)') : ''}`);
    for (const e of k.examples) lines.push(`          ${c.dim('e.g.')} ${exampleText(e)}`);
  }
  const push = doc.metrics.push;
  if (push.target) {
    const sent = push.pushes.filter((p) => p.sent).length;
    lines.push(`metrics: pushed to ${push.target} as ${push.format} (pipeline_name ${doc.pipeline_name}): ${sent} of ${push.pushes.length} pushes delivered`);
  }
  return `${lines.join('\n')}\n`;
}
