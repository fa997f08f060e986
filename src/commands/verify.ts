/**
 * pipeobs verify: pre-flight checks of the whole setup, run concurrently, each with its fix.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { CheckFailedError, UsageError } from '../core/errors.js';
import type { Config } from '../core/config/config.js';
import type { Deps } from '../core/deps.js';
import { CHECKS, runChecks, type CheckResult } from '../core/verify/checks.js';
import { parseDuration } from '../core/time/parse.js';
import type { OutputFormat, Table } from '../core/output/render.js';
import { addOutputOption, collectRepeated, configFrom, outputFormat, printResult } from './shared.js';
import { createVmClient } from './vm-client.js';

export interface VerifyOptions {
  only: string[];
  skip: string[];
  writeProbe: boolean;
  timeoutSeconds: number;
  output: OutputFormat;
}

const NAMES = CHECKS.map((c) => c.name);

export function registerVerify(program: Command, deps: Deps, run = runVerify): void {
  const cmd = program
    .command('verify')
    .description('check the whole setup (Node, DuckDB, disk, VictoriaMetrics, vmagent, vmalert, Grafana, LLM, dashboard metrics) and say how to fix what fails')
    .option('--only <checks>', `only these checks, comma-separated: ${NAMES.join(', ')}`, collectRepeated, [])
    .option('--skip <checks>', 'leave these checks out, comma-separated', collectRepeated, [])
    .option('--write-probe', 'also write a sample to VictoriaMetrics and read it back')
    .option('--timeout <duration>', 'time each check may take', '3s')
    .option('--output-dir <dir>', 'the output directory to check (env PIPEOBS_OUTPUT_DIR)');
  addOutputOption(cmd).addHelpText('after', `
Examples:
  $ pipeobs verify
  $ pipeobs verify --write-probe --skip grafana,llm
  $ PIPEOBS_GRAFANA_URL=http://admin:admin@127.0.0.1:3000 pipeobs verify --only grafana
  $ pipeobs verify -o json | jq '.checks[] | select(.status == "fail")'
  $ pipeobs verify -o csv > preflight.csv

Exit code 5 when a check fails; warnings do not fail.`);
  cmd.action(async (raw: Record<string, unknown>, command: Command) => {
    const config = configFrom(deps, command, { outputDir: raw.outputDir as string | undefined });
    const list = (v: unknown, flag: string) => {
      const names = (v as string[]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
      for (const n of names) if (!NAMES.includes(n)) throw new UsageError(`${flag} ${n}: no such check`, `the checks are ${NAMES.join(', ')}`);
      return names;
    };
    await run({
      only: list(raw.only, '--only'),
      skip: list(raw.skip, '--skip'),
      writeProbe: Boolean(raw.writeProbe),
      timeoutSeconds: parseDuration(String(raw.timeout), '--timeout'),
      output: outputFormat(raw.output),
    }, config, deps);
  });
}

export interface VerifyResult {
  schema_version: 1;
  ok: boolean;
  checks: CheckResult[];
}

export async function runVerify(opts: VerifyOptions, config: Config, deps: Deps): Promise<void> {
  const checks = CHECKS.filter((c) => (opts.only.length === 0 || opts.only.includes(c.name)) && !opts.skip.includes(c.name));
  const results = await runChecks(checks, {
    client: createVmClient({ ...config, vmRetries: 0, vmTimeoutSeconds: Math.min(config.vmTimeoutSeconds, opts.timeoutSeconds) }, deps),
    vmUrl: config.vmReadUrl ?? config.vmUrl,
    vmagentUrl: config.vmagentUrl,
    vmalertUrl: config.vmalertUrl,
    grafanaUrl: config.grafanaUrl,
    openai: config.openaiApiKey ? { apiKey: config.openaiApiKey, baseURL: config.openaiBaseUrl } : undefined,
    outputDir: path.resolve(deps.cwd, config.outputDir),
    writeProbe: opts.writeProbe,
    assetsDir: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..'),
    nodeVersion: process.version,
    now: deps.now,
  }, opts.timeoutSeconds * 1000);
  const result: VerifyResult = { schema_version: 1, ok: results.every((r) => r.status !== 'fail'), checks: results };
  printResult(deps, config, opts.output, result, table(results), (c) => renderText(results, c));
  const failed = results.filter((r) => r.status === 'fail');
  if (failed.length) throw new CheckFailedError(`${failed.length} of ${results.length} checks failed: ${failed.map((r) => r.name).join(', ')}`);
}

function table(results: CheckResult[]): Table {
  return { columns: ['check', 'status', 'detail', 'fix', 'seconds'], rows: results.map((r) => [r.name, r.status, r.detail, r.fix ?? '', r.seconds]) };
}

function renderText(results: CheckResult[], c: ChalkInstance): string {
  const mark = { pass: c.green('pass'), warn: c.yellow('warn'), fail: c.red('FAIL'), skip: c.dim('skip') };
  const width = Math.max(...results.map((r) => r.name.length));
  return results
    .map((r) => `${mark[r.status]}  ${r.name.padEnd(width)}  ${r.detail}${r.fix ? `\n${' '.repeat(width + 8)}${c.bold('fix:')} ${r.fix}` : ''}`)
    .join('\n') + '\n';
}
