/**
 * pipeobs push-influx: sends InfluxDB line protocol from files, stdin or flags to
 * VictoriaMetrics, checking every line first (VictoriaMetrics accepts a request with 204 even
 * when it drops lines), batching, retrying and spooling while it is down.
 */
import { checkInputsReadable, emptyInputError } from '../core/io/input-checks.js';
import path from 'node:path';
import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { CheckFailedError, PipeobsError, SpooledError, UnreachableError, UsageError, describeError } from '../core/errors.js';
import type { Config } from '../core/config/config.js';
import type { Deps } from '../core/deps.js';
import { MAX_LABELS, PRECISIONS, buildLine, timeBounds, timestampFor, type Precision } from '../core/influx/line-protocol.js';
import { emptyReport, parseRetention, streamLineProtocol, type BatchOrigin, type BatchSink, type StreamReport } from '../core/influx/push.js';
import { openInput } from '../core/io/lines.js';
import { Spool, SpoolWriteError, influxSpoolKind, type SpoolFlushResult, type SpoolWaiting, type TargetSpool } from '../core/spool/spool.js';
import { colorFor, startProgress } from '../core/output/terminal.js';
import { formatBytes, formatDuration, type OutputFormat, type Table } from '../core/output/render.js';
import type { VmClient } from '../core/victoria/client.js';
import { addOutputOption, configFrom, intFlag, outputFormat, printResult, choiceFlag, collectRepeated } from './shared.js';
import { createVmClient } from './vm-client.js';
import { redactUrl } from '../core/redact.js';

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
  /** Deliver what waits for this other target (a URL, or "unknown") to the current one. */
  retargetFrom: string | null;
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
    .option('--retarget-from <url>', 'with --flush-spool: deliver what waits for another write URL (or "unknown", spooled by older versions) to this one')
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

function retargetFrom(raw: unknown, flushSpoolOnly: boolean): string | null {
  if (raw === undefined) return null;
  if (!flushSpoolOnly) throw new UsageError('--retarget-from goes with --flush-spool');
  const v = String(raw);
  if (v === 'unknown') return v;
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(`--retarget-from ${redactUrl(v)} is not valid: expected an http(s) URL, or "unknown"`, 'see `pipeobs push-influx --flush-spool` for the targets that have batches waiting');
  }
  return v;
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
    retargetFrom: retargetFrom(raw.retargetFrom, flushSpoolOnly),
    spool: raw.spool !== false,
    output: outputFormat(raw.output),
  };
}

export interface PushInfluxResult extends StreamReport {
  schema_version: 2;
  /** Where the batches went, credentials redacted; null on a dry run. */
  target: string | null;
  dry_run: boolean;
  inputs: string[];
  /** Batches and samples VictoriaMetrics accepted. */
  sent_batches: number;
  sent_samples: number;
  /** Batches and samples kept in the spool instead (VictoriaMetrics unreachable): not delivered yet. */
  spooled_batches: number;
  spooled_samples: number;
  /** Batches neither delivered nor kept (the spool could not be written), with the lines they held. */
  not_kept: BatchOrigin[];
  not_kept_samples: number;
  spool_dir: string;
  spool_flushed: SpoolFlushResult | null;
  /** With --flush-spool: what waits in the spool afterwards, per target. */
  spool_waiting: SpoolWaiting[] | null;
  retention_checked: string | null;
  /** Why the retention could not be read (then only times before 1970 or over 2 days ahead are refused). */
  retention_error: string | null;
  seconds: number;
}

/**
 * Sends each batch; once VictoriaMetrics is found down, keeps the rest in the spool without
 * waiting on it again. A batch the spool cannot take either is recorded with its lines.
 */
class VmSink implements BatchSink {
  sent = 0;
  sentSamples = 0;
  spooled = 0;
  spooledSamples = 0;
  notKept: BatchOrigin[] = [];
  notKeptReason: string | null = null;
  down: string | null = null;
  constructor(
    private readonly client: VmClient,
    private readonly spool: TargetSpool | null,
    private readonly precision: Precision,
    private readonly gzip: boolean,
    private readonly now: () => number,
  ) {}
  async send(body: readonly Buffer[], _lines: number, _bytes: number, origin: BatchOrigin): Promise<void> {
    if (this.down === null) {
      try {
        await this.client.writeInflux(body, { precision: this.precision, gzip: this.gzip });
        this.sent++;
        this.sentSamples += origin.samples;
        return;
      } catch (err) {
        if (!(err instanceof UnreachableError) || !this.spool) throw err;
        this.down = err.message;
      }
    }
    try {
      await this.spool!.write(influxSpoolKind(this.precision), Buffer.concat(body), this.now(), origin.samples);
      this.spooled++;
      this.spooledSamples += origin.samples;
    } catch (err) {
      if (!(err instanceof SpoolWriteError)) throw err;
      this.notKept.push(origin);
      this.notKeptReason = err.message;
    }
  }
}

export async function runPushInflux(opts: PushInfluxOptions, config: Config, deps: Deps): Promise<void> {
  const t0 = performance.now();
  const spoolRoot = new Spool(path.resolve(deps.cwd, config.spoolDir));
  const client = opts.dryRun ? null : createVmClient(config, deps);
  const spool = client ? spoolRoot.forTarget(client.writeTarget) : null;
  const result: PushInfluxResult = {
    schema_version: 2,
    ...emptyReport(),
    target: client?.writeUrl ?? null,
    dry_run: opts.dryRun,
    inputs: opts.point ? ['(flags)'] : opts.inputs,
    sent_batches: 0,
    sent_samples: 0,
    spooled_batches: 0,
    spooled_samples: 0,
    not_kept: [],
    not_kept_samples: 0,
    spool_dir: spool?.dir ?? spoolRoot.root,
    spool_flushed: null,
    spool_waiting: null,
    retention_checked: null,
    retention_error: null,
    seconds: 0,
  };

  if (client && spool) {
    // Re-targeting is explicit: what waits for another URL goes to this one only when asked.
    const from = opts.retargetFrom === null ? spool : spoolRoot.find(opts.retargetFrom);
    result.spool_flushed = await from.flush(client, { retarget: from.dir !== spool.dir });
    if (opts.flushSpoolOnly) {
      result.spool_waiting = await spoolRoot.waiting();
      result.seconds = round3((performance.now() - t0) / 1000);
      printResult(deps, config, opts.output, result, spoolTable(result), (c) => renderSpoolText(result, spoolRoot.root, c));
      if (result.spool_flushed.error) {
        throw new UnreachableError(`${result.spool_flushed.error}; ${result.spool_flushed.remaining_files} spooled batches still wait in ${from.dir}`);
      }
      return;
    }
  }

  // VictoriaMetrics drops samples older than its retention: read it from the server, also on a
  // dry run (without retries: a dry run does not wait for a server), and say so when it cannot be.
  let retentionMs = Number.POSITIVE_INFINITY;
  const flagsClient = client ?? createVmClient({ ...config, vmRetries: 0 }, deps);
  try {
    if (result.spool_flushed?.error) throw new UnreachableError(result.spool_flushed.error);
    const flags = await flagsClient.flags();
    const maxLabels = flags.get('maxLabelsPerTimeseries');
    if (maxLabels && maxLabels !== String(MAX_LABELS)) {
      deps.stderr.write(`warning: this VictoriaMetrics keeps ${maxLabels} labels per series (-maxLabelsPerTimeseries); pipeobs reports lines with more than ${MAX_LABELS} tags\n`);
    }
    const raw = flags.get('retentionPeriod');
    const parsed = raw ? parseRetention(raw) : null;
    if (parsed === null || !raw) throw new Error(`its /metrics page shows no readable -retentionPeriod${raw ? ` ("${raw}")` : ''}`);
    retentionMs = parsed;
    result.retention_checked = raw;
  } catch (err) {
    result.retention_error = (err as Error).message;
    deps.stderr.write(
      `warning: VictoriaMetrics' retention is unknown (${result.retention_error}): timestamps were checked only for being before 1970 or more than 2 days ahead; ` +
        'VictoriaMetrics will also drop samples older than its -retentionPeriod\n',
    );
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
    // Every line carries its time, so a retried or spooled batch is the same request (README, Delivery).
    stampMissing: () => deps.now().getTime(),
  };
  const vmSink = client ? new VmSink(client, opts.spool ? spool : null, opts.precision, opts.gzip, () => deps.now().getTime()) : null;
  // A dry run prints the lines it would send, in text mode only: --output json is one document.
  const sink: BatchSink = vmSink ?? { send: async (body: readonly Buffer[]) => void (opts.output === 'text' && deps.stdout.write(Buffer.concat(body))) };

  // Every input is checked before a line is sent: a missing second file must not leave the first half-pushed.
  await checkInputsReadable(opts.inputs, deps.cwd, { directories: false });
  const progress = startProgress(deps.stderr, config, 'reading line protocol');
  let readError: UsageError | null = null;
  try {
    if (opts.point) {
      let line: string;
      try {
        // The point is stamped now, when it is measured, not when VictoriaMetrics receives it:
        // a spooled or retried copy then lands on the same millisecond (and is deduplicated).
        line = buildLine({ ...opts.point, timestamp: opts.point.timestamp ?? timestampFor(new Date(nowMs).toISOString(), opts.precision) });
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      await streamLineProtocol('(flags)', (async function* () {
        yield `${line}\n`;
      })(), streamOpts, sink, result);
    }
    for (const input of opts.inputs) {
      const name = input === '-' ? '(stdin)' : input;
      const linesBefore = result.lines;
      try {
        await streamLineProtocol(name, await openInput(input, deps.stdin), {
          ...streamOpts,
          onProgress: progress.active ? (p) => progress.update(`${name}: ${p.lines.toLocaleString('en')} lines, ${formatBytes(p.bytes)} sent`) : undefined,
        }, sink, result);
      } catch (err) {
        // A file that cannot be read to its end (broken gzip, I/O error) is bad input, not a bug;
        // what was read before is accounted for in the summary.
        if (err instanceof PipeobsError || !isReadError(err)) throw err;
        readError = new UsageError(
          `cannot read ${name} to its end after ${(result.lines - linesBefore).toLocaleString('en')} lines: ${describeError(err)}`,
          'the whole lines before it were checked and delivered or kept (see the summary); re-create the file and send the rest',
        );
        break;
      }
    }
  } finally {
    progress.stop();
  }
  result.sent_batches = vmSink?.sent ?? 0;
  result.sent_samples = vmSink?.sentSamples ?? 0;
  result.spooled_batches = vmSink?.spooled ?? 0;
  result.spooled_samples = vmSink?.spooledSamples ?? 0;
  result.not_kept = mergeOrigins(vmSink?.notKept ?? []);
  result.not_kept_samples = result.not_kept.reduce((n, o) => n + o.samples, 0);
  result.seconds = round3((performance.now() - t0) / 1000);

  // Invalid lines go to stderr, where they do not mix with dry-run output or JSON.
  for (const bad of result.invalid.slice(0, 20)) deps.stderr.write(`${bad.source}:${bad.line}: ${bad.reason}\n`);
  if (result.invalidLines > 20) deps.stderr.write(`… and ${result.invalidLines - 20} more invalid lines\n`);
  if (!opts.dryRun || opts.output !== 'text') {
    printResult(deps, config, opts.output, result, summaryTable(result), (c) => renderText(result, c));
  } else {
    deps.stderr.write(renderText(result, colorFor(deps.stderr, config)));
  }

  if (readError) throw readError;
  if (result.not_kept.length > 0) {
    const where = result.not_kept.map((o) => `${o.source} lines ${o.firstLine}-${o.lastLine}`).join(', ');
    throw new UnreachableError(
      `${result.not_kept_samples.toLocaleString('en')} samples were neither delivered to ${result.target} (${vmSink?.down}) nor kept: ${vmSink?.notKeptReason}; they are in ${where}`,
      `send exactly those lines again once VictoriaMetrics is up; the other ${(result.sent_samples + result.spooled_samples).toLocaleString('en')} samples are delivered or kept`,
    );
  }
  if (result.spooled_batches > 0) {
    throw new SpooledError(
      `VictoriaMetrics at ${result.target} is unreachable (${vmSink?.down}): ${result.spooled_samples.toLocaleString('en')} samples in ${result.spooled_batches} batches wait in ${result.spool_dir}`,
      'they are delivered by `pipeobs push-influx --flush-spool` or the next push to the same URL; do not send the same input again',
    );
  }
  if (result.lines === 0 || (result.samples === 0 && result.invalidLines === 0)) {
    throw emptyInputError(result.inputs, result.lines === 0 ? 'it is empty' : 'only blank or comment lines');
  }
  if (result.invalidLines > 0 && !opts.skipInvalid) {
    throw new CheckFailedError(
      `${result.invalidLines} of ${result.lines} lines are invalid and were not sent (first: ${result.invalid[0].source}:${result.invalid[0].line}: ${result.invalid[0].reason})`,
      'fix them, or pass --skip-invalid to exit 0 after sending the valid lines',
    );
  }
}

/** Errors of reading an input (file system, decompression), as opposed to bugs. */
function isReadError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && (/^E[A-Z]+$/.test(code) || code.startsWith('Z_') || code.startsWith('ERR_ZLIB'));
}

/** Adjacent batches of one input merged into one range of lines (batches finish out of order). */
function mergeOrigins(origins: BatchOrigin[]): BatchOrigin[] {
  const sorted = [...origins].sort((a, b) => (a.source === b.source ? a.firstLine - b.firstLine : a.source < b.source ? -1 : 1));
  const out: BatchOrigin[] = [];
  for (const o of sorted) {
    const last = out[out.length - 1];
    if (last && last.source === o.source && o.firstLine <= last.lastLine + 1) {
      last.lastLine = Math.max(last.lastLine, o.lastLine);
      last.samples += o.samples;
    } else out.push({ ...o });
  }
  return out;
}

function summaryTable(r: PushInfluxResult): Table {
  return {
    columns: ['lines', 'valid_lines', 'invalid_lines', 'samples', 'batches', 'sent_batches', 'sent_samples', 'spooled_batches', 'spooled_samples', 'not_kept_samples', 'bytes', 'seconds'],
    rows: [[r.lines, r.validLines, r.invalidLines, r.samples, r.batches, r.sent_batches, r.sent_samples, r.spooled_batches, r.spooled_samples, r.not_kept_samples, r.bytes, r.seconds]],
  };
}

function spoolTable(r: PushInfluxResult): Table {
  return {
    columns: ['target', 'files', 'samples', 'bytes', 'oldest', 'dir'],
    rows: (r.spool_waiting ?? []).map((w) => [w.target, w.files, w.samples, w.bytes, new Date(w.oldest_ms).toISOString(), w.dir]),
  };
}

const n = (x: number) => x.toLocaleString('en');

function renderFlushed(r: PushInfluxResult): string[] {
  const f = r.spool_flushed;
  if (!f || f.sent_files === 0) return [];
  return [`spool: delivered ${n(f.sent_files)} waiting batches (${n(f.sent_samples)} samples, ${formatBytes(f.sent_bytes)}) to ${r.target}`];
}

/** --flush-spool: what was delivered, and what waits where; one clear line when nothing waits. */
function renderSpoolText(r: PushInfluxResult, root: string, c: ChalkInstance): string {
  const lines = renderFlushed(r);
  const waiting = r.spool_waiting ?? [];
  if (waiting.length === 0) lines.push(`nothing waits in the spool (${root})`);
  else {
    lines.push('waiting in the spool:');
    for (const w of waiting) {
      const samples = w.samples === null ? '' : `${n(w.samples)} samples, `;
      lines.push(c.yellow(`  ${w.target}: ${n(w.files)} batches (${samples}${formatBytes(w.bytes)}), oldest from ${new Date(w.oldest_ms).toISOString()}, in ${w.dir}`));
    }
    const others = waiting.filter((w) => r.target === null || w.dir !== r.spool_dir);
    if (others.length > 0) {
      lines.push(`  each is delivered to its own target: pipeobs push-influx --flush-spool --vm-write-url <target>;`);
      lines.push(`  to send one to ${r.target} instead: pipeobs push-influx --flush-spool --retarget-from <target>`);
    }
  }
  return lines.join('\n') + '\n';
}

function renderText(r: PushInfluxResult, c: ChalkInstance): string {
  const lines = renderFlushed(r);
  lines.push(`${n(r.lines)} lines read: ${n(r.validLines)} valid (${n(r.samples)} samples), ${r.invalidLines > 0 ? c.red(`${r.invalidLines} invalid`) : '0 invalid'}`);
  if (r.dry_run) lines.push(`would send ${r.batches} batches, ${formatBytes(r.bytes)} in ${formatDuration(r.seconds)}`);
  else lines.push(`delivered ${r.sent_batches} of ${r.batches} batches (${n(r.sent_samples)} samples) to ${r.target} in ${formatDuration(r.seconds)}`);
  if (r.spooled_batches > 0) {
    lines.push(c.yellow(`VictoriaMetrics unreachable: ${r.spooled_batches} batches (${n(r.spooled_samples)} samples) kept in ${r.spool_dir}, not delivered yet; \`pipeobs push-influx --flush-spool\` (or the next push) delivers them`));
  }
  if (r.not_kept.length > 0) {
    lines.push(c.red(`NOT KEPT: ${n(r.not_kept_samples)} samples were neither delivered nor kept in the spool: ${r.not_kept.map((o) => `${o.source} lines ${o.firstLine}-${o.lastLine}`).join(', ')}`));
  }
  const flushed = r.spool_flushed;
  if (flushed && flushed.remaining_files > 0 && r.spooled_batches === 0) lines.push(c.yellow(`${flushed.remaining_files} earlier batches still wait in ${r.spool_dir}`));
  for (const [kind, count] of Object.entries(r.invalidByReason)) lines.push(`  invalid: ${count} × ${kind}`);
  return lines.join('\n') + '\n';
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
