/**
 * pipeobs export-parquet: VictoriaMetrics series to Parquet, safe to run from cron.
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { UsageError } from '../core/errors.js';
import type { Config } from '../core/config/config.js';
import type { Deps } from '../core/deps.js';
import { CATALOG, seriesNames } from '../core/metrics/catalog.js';
import { parseDuration, windowFromFlags } from '../core/time/parse.js';
import { startProgress } from '../core/output/terminal.js';
import { formatBytes, formatDuration, type OutputFormat, type Table } from '../core/output/render.js';
import type { ExportSummary } from '../core/export/job.js';
import { addOutputOption, choiceFlag, configFrom, intFlag, outputFormat, printResult, collectRepeated } from './shared.js';
import { createVmClient } from './vm-client.js';

const PARTITIONS = ['day', 'hour', 'none'] as const;

export interface ExportParquetOptions {
  match: string[];
  outDir: string;
  partitionBy: (typeof PARTITIONS)[number];
  incremental: boolean;
  start: Date;
  end: Date;
  memoryLimitMb: number;
  output: OutputFormat;
}

/** Every series of the metric catalog. */
export function catalogSelector(): string {
  return `{__name__=~"${CATALOG.flatMap(seriesNames).join('|')}"}`;
}

export function registerExportParquet(program: Command, deps: Deps, run = runExportParquet): void {
  const cmd = program
    .command('export-parquet')
    .description('export VictoriaMetrics series to Parquet (zstd, Hive partitions), safe to run from cron')
    .requiredOption('--out <dir>', 'output directory')
    .option('--match <selector>', 'series selector (repeatable); default: every series of the metric catalog', collectRepeated, [])
    .option('--since <time>', 'window start, exclusive: 6h (ago), -6h, ISO 8601, now or Unix seconds (default 1h before the end; with --incremental only for the first run)')
    .option('--until <time>', 'window end, inclusive (default now; not with --incremental)')
    .option('--start <time>', 'the same as --since')
    .option('--end <time>', 'the same as --until')
    .option('--partition-by <unit>', `Hive partitions: ${PARTITIONS.join(', ')}`, 'day')
    .option('--incremental', 'continue from the last run\'s end up to now minus --safety-lag (state in <out>/.pipeobs-export-state.json)')
    .option('--safety-lag <duration>', 'with --incremental: leave out the most recent samples, which may still arrive late', '60s')
    .option('--memory-limit-mb <n>', 'memory DuckDB may use before spilling to disk', '256');
  addOutputOption(cmd).addHelpText('after', `
Examples:
  $ pipeobs export-parquet --out /data/metrics --start -24h
  $ pipeobs export-parquet --out /data/metrics --incremental          # from cron, every few minutes
  $ pipeobs export-parquet --out ./q --match 'pipeline_data_quality_score' --partition-by hour

Files: <out>/date=YYYY-MM-DD/part-<after>-<until>-<chunk>-<n>.parquet with columns metric, one
column per common label, labels (a map of the others), timestamp (UTC), value; each file sorted by
metric, labels, time. A window already exported into <out> is refused, never stored twice.
Read them with DuckDB: SELECT * FROM read_parquet('<out>/**/*.parquet', hive_partitioning = true)`);
  cmd.action(async (raw: Record<string, unknown>, command: Command) => {
    const config = configFrom(deps, command);
    await run(validateExportParquet(raw, deps), config, deps);
  });
}

export function validateExportParquet(raw: Record<string, unknown>, deps: Deps): ExportParquetOptions {
  const now = deps.now();
  const incremental = Boolean(raw.incremental);
  const win = windowFromFlags(raw, now);
  if (incremental && win.end) throw new UsageError(`--incremental exports up to now minus --safety-lag; ${win.endFlag} does not go with it`);
  const lag = parseDuration(String(raw.safetyLag), '--safety-lag');
  const end = incremental ? new Date(now.getTime() - lag * 1000) : win.end ?? now;
  const start = win.start ?? new Date(end.getTime() - 3_600_000);
  if (!incremental && start.getTime() >= end.getTime()) throw new UsageError(`${win.startFlag} ${start.toISOString()} is not before ${win.endFlag} ${end.toISOString()}`);
  const match = raw.match as string[];
  return {
    match: match.length ? match : [catalogSelector()],
    outDir: path.resolve(deps.cwd, String(raw.out)),
    partitionBy: choiceFlag(raw.partitionBy, '--partition-by', PARTITIONS),
    incremental,
    start,
    end,
    memoryLimitMb: intFlag(raw.memoryLimitMb, '--memory-limit-mb', 64, 1 << 20),
    output: outputFormat(raw.output),
  };
}

export async function runExportParquet(opts: ExportParquetOptions, config: Config, deps: Deps): Promise<void> {
  const { runExportJob } = await import('../core/export/job.js');
  const client = createVmClient(config, deps);
  const progress = startProgress(deps.stderr, config, 'exporting');
  let summary: ExportSummary;
  try {
    summary = await runExportJob(client, {
      match: opts.match,
      outDir: opts.outDir,
      partitionBy: opts.partitionBy,
      incremental: opts.incremental,
      start: opts.start,
      end: opts.end,
      now: deps.now(),
      memoryLimitMb: opts.memoryLimitMb,
      pid: process.pid,
      onProgress: progress.active ? (p) => progress.update(`exporting: ${formatBytes(p.bytes)}, ${p.lines.toLocaleString('en')} lines`) : undefined,
    }, () => import('../core/export/duck-runner.js').then((m) => m.loadDuckRunner()));
  } catch (err) {
    progress.fail('export failed; the state and the existing files are untouched');
    throw err;
  }
  progress.stop();
  printResult(deps, config, opts.output, summary, summaryTable(summary), (c) => renderText(summary, c));
}

function summaryTable(s: ExportSummary): Table {
  return {
    columns: ['after', 'until', 'series', 'samples', 'files', 'bytes', 'json_bytes', 'seconds'],
    rows: [[s.window?.after ?? null, s.window?.until ?? null, s.series, s.samples, s.files.length, s.bytes, s.json_bytes, s.seconds]],
  };
}

function renderText(s: ExportSummary, c: ChalkInstance): string {
  const lines: string[] = [];
  if (s.recovered) lines.push(c.yellow(s.recovered));
  if (s.up_to_date) lines.push(`up to date: nothing after ${s.window?.after} to export yet`);
  else {
    lines.push(`exported ${s.series.toLocaleString('en')} series, ${s.samples.toLocaleString('en')} samples (${s.window?.after} – ${s.window?.until}]`);
    lines.push(`${s.files.length} files, ${formatBytes(s.bytes)} Parquet from ${formatBytes(s.json_bytes)} of JSON, in ${formatDuration(s.seconds)} → ${s.out_dir}`);
  }
  return lines.join('\n') + '\n';
}
