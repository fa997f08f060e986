/**
 * pipeobs push-influx: sends InfluxDB line protocol from files, stdin or flags to
 * VictoriaMetrics, checking every line first (VictoriaMetrics accepts a request with 204 even
 * when it drops lines), batching, retrying and spooling while it is down.
 */
import path from 'node:path';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { CheckFailedError, UnreachableError, UsageError } from '../core/errors.js';
import type { Config } from '../core/config/config.js';
import type { Deps } from '../core/deps.js';
import { MAX_LABELS, PRECISIONS, buildLine, timeBounds, timestampFor, type Precision } from '../core/influx/line-protocol.js';
import { emptyReport, parseRetention, streamLineProtocol, type BatchSink, type StreamReport } from '../core/influx/push.js';
import { openInput } from '../core/io/lines.js';
import { Spool, influxSpoolKind, type SpoolFlushResult } from '../core/spool/spool.js';
import { colorFor, startProgress } from '../core/output/terminal.js';
import { formatBytes, formatDuration, type OutputFormat, type Table } from '../core/output/render.js';
import type { VmClient } from '../core/victoria/client.js';
import { addOutputOption, configFrom, intFlag, outputFormat, printResult, choiceFlag, collectRepeated } from './shared.js';
import { createVmClient } from './vm-client.js';

export interface PushInfluxOptions {
  inputs: string[];
  point: { measurement: string; tags: [string, string][]; fields: [string, string][]; timestamp?: string } | null;
  precision: Precision;
  batchLines: number;
  batchBytes: number;
  maxLineBytes: number;
  gzip: boolean;
  dryRun: boolean;
  skipInvalid: boolean;
  flushSpoolOnly: boolean;
  spool: boolean;
  output: OutputFormat;
}

export function registerPushInflux(program: Command, deps: Deps, run = runPushInflux): void {
  const cmd = program
    .command('push-influx')
    .description('push InfluxDB line protocol (files, stdin, or one point from flags) to VictoriaMetrics, checking every line')
    .argument('[files...]', 'files to send ("-" for stdin); .gz files are decompressed')
    .option('--measurement <name>', 'build one point from flags: its measurement')
    .option('--tag <key=value>', 'a tag of the point (repeatable)', collectRepeated, [])
    .option('--field <key=value>', 'a field of the point: 1.5, 12i, 7u, true (repeatable)', collectRepeated, [])
    .option('--timestamp <time>', 'timestamp of the point: ISO 8601, or an integer in --precision (default: now)')
    .option('--precision <unit>', `timestamp unit: ${PRECISIONS.join(', ')}`, 'ns')
    .option('--batch-lines <n>', 'lines per request', '20000')
    .option('--batch-bytes <n>', 'bytes per request', String(8 << 20))
    .option('--max-line-bytes <n>', 'longest line accepted (VictoriaMetrics\' -influx.maxLineSize)', String(256 * 1024))
    .option('--gzip', 'gzip request bodies (saves bandwidth, costs CPU)')
    .option('--dry-run', 'check the lines and print what would be sent, without sending')
    .option('--skip-invalid', 'exit 0 even when invalid lines were found (they are still reported and not sent)')
    .option('--flush-spool', 'only send what waits in the spool, then exit')
    .option('--no-spool', 'fail (exit 4) instead of spooling when VictoriaMetrics is unreachable')
    .option('--spool-dir <dir>', 'where batches wait while VictoriaMetrics is unreachable (env PIPEOBS_SPOOL_DIR)');
  addOutputOption(cmd).addHelpText('after', `
Examples:
  $ pipeobs push-influx metrics.lp                     # send a file
  $ zcat big.lp.gz | pipeobs push-influx - --precision ms
  $ pipeobs push-influx --measurement pipeline_run --tag pipeline_name=orders \\
      --field rows=1200i --field duration=3.2           # one point, e.g. from cron
  $ pipeobs push-influx --dry-run metrics.lp           # check only, print what would be sent
  $ pipeobs push-influx --flush-spool                  # deliver what waited while VictoriaMetrics was down

VictoriaMetrics stores measurement m with field f as the metric m_f.
Invalid lines are reported as file:line: reason and not sent; the valid ones are sent,
then the command exits 5 (or 0 with --skip-invalid).`);
  cmd.action(async (files: string[], raw: Record<string, unknown>, command: Command) => {
    const config = configFrom(deps, command, { spoolDir: raw.spoolDir as string | undefined });
    await run(validatePushInflux(files, raw, deps), config, deps);
  });
}

function splitPair(raw: string, flag: string): [string, string] {
  const i = raw.indexOf('=');
  if (i <= 0) throw new UsageError(`${flag} ${raw} is not key=value`);
  return [raw.slice(0, i), raw.slice(i + 1)];
}

export function validatePushInflux(files: string[], raw: Record<string, unknown>, deps: Deps): PushInfluxOptions {
  const precision = choiceFlag(raw.precision, '--precision', PRECISIONS);
  const tags = (raw.tag as string[]).map((t) => splitPair(t, '--tag'));
  const fields = (raw.field as string[]).map((f) => splitPair(f, '--field'));
  let point: PushInfluxOptions['point'] = null;
  if (raw.measurement !== undefined || tags.length || fields.length) {
    if (raw.measurement === undefined) throw new UsageError('--tag and --field build a point, which needs --measurement');
    if (files.length) throw new UsageError('give either files or a point built from --measurement/--field, not both');
    let timestamp: string | undefined;
    try {
      timestamp = raw.timestamp === undefined ? undefined : timestampFor(String(raw.timestamp), precision);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    point = { measurement: String(raw.measurement), tags, fields, timestamp };
  } else if (raw.timestamp !== undefined) {
    throw new UsageError('--timestamp goes with --measurement and --field');
  }
  const flushSpoolOnly = Boolean(raw.flushSpool);
  if (!point && files.length === 0 && !flushSpoolOnly) {
    throw new UsageError('nothing to send: give files, "-" for stdin, or --measurement with --field', 'see `pipeobs push-influx --help`');
  }
  return {
    inputs: files.map((f) => (f === '-' ? '-' : path.resolve(deps.cwd, f))),
    point,
    precision,
    batchLines: intFlag(raw.batchLines, '--batch-lines', 1, 10_000_000),
    batchBytes: intFlag(raw.batchBytes, '--batch-bytes', 1024, 1 << 30),
    maxLineBytes: intFlag(raw.maxLineBytes, '--max-line-bytes', 64, 1 << 30),
    gzip: Boolean(raw.gzip),
    dryRun: Boolean(raw.dryRun),
    skipInvalid: Boolean(raw.skipInvalid),
    flushSpoolOnly,
    spool: raw.spool !== false,
    output: outputFormat(raw.output),
  };
}

export interface PushInfluxResult extends StreamReport {
  schema_version: 1;
  target: string | null;
  dry_run: boolean;
  inputs: string[];
  sent_batches: number;
  spooled_batches: number;
  spool_dir: string;
  spool_flushed: SpoolFlushResult | null;
  retention_checked: string | null;
  /** Why the retention could not be read (then only times before 1970 or over 2 days ahead are refused). */
  retention_error: string | null;
  seconds: number;
}

/** Sends each batch; once VictoriaMetrics is found down, keeps the rest in the spool without waiting on it again. */
class VmSink implements BatchSink {
  sent = 0;
  spooled = 0;
  down: string | null = null;
  constructor(
    private readonly client: VmClient,
    private readonly spool: Spool | null,
    private readonly precision: Precision,
    private readonly gzip: boolean,
    private readonly now: () => number,
  ) {}
  async send(body: readonly Buffer[]): Promise<void> {
    if (this.down === null) {
      try {
        await this.client.writeInflux(body, { precision: this.precision, gzip: this.gzip });
        this.sent++;
        return;
      } catch (err) {
        if (!(err instanceof UnreachableError) || !this.spool) throw err;
        this.down = err.message;
      }
    }
    await this.spool!.write(influxSpoolKind(this.precision), Buffer.concat(body), this.now());
    this.spooled++;
  }
}

export async function runPushInflux(opts: PushInfluxOptions, config: Config, deps: Deps): Promise<void> {
  const t0 = performance.now();
  const spool = new Spool(path.resolve(deps.cwd, config.spoolDir));
  const client = opts.dryRun ? null : createVmClient(config, deps);
  const result: PushInfluxResult = {
    schema_version: 1,
    ...emptyReport(),
    target: client?.writeUrl ?? null,
    dry_run: opts.dryRun,
    inputs: opts.point ? ['(flags)'] : opts.inputs,
    sent_batches: 0,
    spooled_batches: 0,
    spool_dir: spool.dir,
    spool_flushed: null,
    retention_checked: null,
    retention_error: null,
    seconds: 0,
  };

  if (client) {
    result.spool_flushed = await spool.flush(client);
    if (result.spool_flushed.error && opts.flushSpoolOnly) {
      throw new UnreachableError(`${result.spool_flushed.error}; ${result.spool_flushed.remainingFiles} spooled batches still wait in ${spool.dir}`);
    }
  }
  if (opts.flushSpoolOnly) {
    result.seconds = round3((performance.now() - t0) / 1000);
    printResult(deps, config, opts.output, result, summaryTable(result), (c) => renderText(result, c));
    return;
  }

  // VictoriaMetrics drops samples older than its retention: read it from the server, also on a
  // dry run (without retries: a dry run does not wait for a server), and say so when it cannot be.
  let retentionMs = Number.POSITIVE_INFINITY;
  const limits = result.spool_flushed?.error
    ? { error: result.spool_flushed.error }
    : await readServerLimits(client ?? createVmClient({ ...config, vmRetries: 0 }, deps));
  if ('error' in limits) {
    result.retention_error = limits.error;
    deps.stderr.write(
      `warning: VictoriaMetrics' retention is unknown (${limits.error}): timestamps are checked only for being before 1970 or more than 2 days ahead; ` +
        'VictoriaMetrics will also drop samples older than its -retentionPeriod\n',
    );
  } else {
    retentionMs = limits.retentionMs;
    result.retention_checked = limits.retention;
    if (limits.maxLabels !== null && limits.maxLabels !== MAX_LABELS) {
      deps.stderr.write(`warning: this VictoriaMetrics keeps ${limits.maxLabels} labels per series (-maxLabelsPerTimeseries); pipeobs reports lines with more than ${MAX_LABELS} tags\n`);
    }
  }
  const nowMs = deps.now().getTime();
  const bounds = timeBounds(opts.precision, nowMs, retentionMs);
  const streamOpts = {
    bounds,
    batchLines: opts.batchLines,
    batchBytes: opts.batchBytes,
    maxLineBytes: opts.maxLineBytes,
    concurrency: 2,
    keepInvalid: 50,
  };
  const vmSink = client ? new VmSink(client, opts.spool ? spool : null, opts.precision, opts.gzip, () => deps.now().getTime()) : null;
  const sink: BatchSink = vmSink ?? { send: async (body: readonly Buffer[]) => void deps.stdout.write(Buffer.concat(body)) };

  const progress = startProgress(deps.stderr, config, 'reading line protocol');
  try {
    if (opts.point) {
      let line: string;
      try {
        line = buildLine(opts.point);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      await streamLineProtocol('(flags)', (async function* () {
        yield `${line}\n`;
      })(), streamOpts, sink, result);
    }
    for (const input of opts.inputs) {
      const name = input === '-' ? '(stdin)' : input;
      if (input !== '-') {
        const st = await stat(input).catch((err: NodeJS.ErrnoException) => {
          throw new UsageError(`cannot read ${input}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
        });
        if (st.isDirectory()) throw new UsageError(`${input} is a directory; give the files in it`);
      }
      await streamLineProtocol(name, await openInput(input, deps.stdin), {
        ...streamOpts,
        onProgress: progress.active ? (p) => progress.update(`${name}: ${p.lines.toLocaleString('en')} lines, ${formatBytes(p.bytes)} sent`) : undefined,
      }, sink, result);
    }
  } finally {
    progress.stop();
  }
  result.sent_batches = vmSink?.sent ?? 0;
  result.spooled_batches = vmSink?.spooled ?? 0;
  result.seconds = round3((performance.now() - t0) / 1000);

  // Invalid lines go to stderr, where they do not mix with dry-run output or JSON.
  for (const bad of result.invalid.slice(0, 20)) deps.stderr.write(`${bad.source}:${bad.line}: ${bad.reason}\n`);
  if (result.invalidLines > 20) deps.stderr.write(`… and ${result.invalidLines - 20} more invalid lines\n`);
  if (!opts.dryRun || opts.output !== 'text') {
    printResult(deps, config, opts.output, result, summaryTable(result), (c) => renderText(result, c));
  } else {
    deps.stderr.write(renderText(result, colorFor(deps.stderr, config)));
  }

  if (result.lines === 0 || (result.samples === 0 && result.invalidLines === 0)) {
    throw new CheckFailedError(`no samples in the input (${result.inputs.join(', ')}): ${result.lines === 0 ? 'it is empty' : 'only blank or comment lines'}`);
  }
  if (result.invalidLines > 0 && !opts.skipInvalid) {
    throw new CheckFailedError(
      `${result.invalidLines} of ${result.lines} lines are invalid and were not sent (first: ${result.invalid[0].source}:${result.invalid[0].line}: ${result.invalid[0].reason})`,
      'fix them, or pass --skip-invalid to exit 0 after sending the valid lines',
    );
  }
}

/** The server's -retentionPeriod and -maxLabelsPerTimeseries, from the flag{} lines of its /metrics page. */
async function readServerLimits(client: VmClient): Promise<{ retention: string; retentionMs: number; maxLabels: number | null } | { error: string }> {
  try {
    const flags = await client.flags();
    const retention = flags.get('retentionPeriod');
    const retentionMs = retention ? parseRetention(retention) : null;
    if (!retention || retentionMs === null) return { error: `its /metrics page shows no readable -retentionPeriod${retention ? ` ("${retention}")` : ''}` };
    const maxLabels = Number(flags.get('maxLabelsPerTimeseries'));
    return { retention, retentionMs, maxLabels: Number.isInteger(maxLabels) && maxLabels > 0 ? maxLabels : null };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function summaryTable(r: PushInfluxResult): Table {
  return {
    columns: ['lines', 'valid_lines', 'invalid_lines', 'samples', 'batches', 'sent_batches', 'spooled_batches', 'bytes', 'seconds'],
    rows: [[r.lines, r.validLines, r.invalidLines, r.samples, r.batches, r.sent_batches, r.spooled_batches, r.bytes, r.seconds]],
  };
}

function renderText(r: PushInfluxResult, c: ChalkInstance): string {
  const lines: string[] = [];
  const flushed = r.spool_flushed;
  if (flushed && flushed.sentFiles > 0) lines.push(`spool: delivered ${flushed.sentFiles} waiting batches (${formatBytes(flushed.sentBytes)})`);
  if (r.lines > 0 || !flushed) {
    const verb = r.dry_run ? 'would send' : 'sent';
    lines.push(`${r.lines.toLocaleString('en')} lines read: ${r.validLines.toLocaleString('en')} valid (${r.samples.toLocaleString('en')} samples), ${r.invalidLines > 0 ? c.red(`${r.invalidLines} invalid`) : '0 invalid'}`);
    lines.push(`${verb} ${r.batches} batches, ${formatBytes(r.bytes)}${r.target ? ` to ${r.target}` : ''} in ${formatDuration(r.seconds)}`);
  }
  if (r.spooled_batches > 0) {
    lines.push(c.yellow(`VictoriaMetrics unreachable: ${r.spooled_batches} batches kept in ${r.spool_dir}; \`pipeobs push-influx --flush-spool\` (or the next push) sends them`));
  }
  if (flushed && flushed.remainingFiles > 0 && r.spooled_batches === 0) lines.push(c.yellow(`${flushed.remainingFiles} batches still wait in ${r.spool_dir}`));
  for (const [kind, n] of Object.entries(r.invalidByReason)) lines.push(`  invalid: ${n} × ${kind}`);
  return lines.join('\n') + '\n';
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
