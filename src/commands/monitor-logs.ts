/**
 * pipeobs monitor-logs: Airflow, Kafka-consumer and ML-service logs (and any JSON-lines log
 * through a field mapping) turned into volume, latency percentiles, error rates, consumer lag
 * and model confidence per component, group and hour; as a report, or live with --server.
 */
import { checkInputsReadable, emptyInputError } from '../core/io/input-checks.js';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { Chalk } from 'chalk';
import { CheckFailedError, ConfigError, InterruptedError, UsageError } from '../core/errors.js';
import type { Config } from '../core/config/config.js';
import type { Deps } from '../core/deps.js';
import { COMPONENT_NAME } from '../core/logs/format-view.js';
import { BUILTIN_COMPONENTS, RESERVED_COMPONENTS, parseFieldMapping, type FieldMapping } from '../core/logs/formats.js';
import { FormatFileError, parseUserFormats, type UserFormat } from '../core/logs/user-formats.js';
import { runBatch } from '../core/logs/batch.js';
import { reportTable, unusableLines, type LogReport } from '../core/logs/report.js';
import { renderReportText } from '../core/logs/render-text.js';
import { renderReportHtml } from '../core/logs/render-html.js';
import type { TimeWindow } from '../core/logs/reader.js';
import { parseDuration, parseTime, windowFromFlags } from '../core/time/parse.js';
import { formatBytes, renderTableCsv } from '../core/output/render.js';
import { startProgress } from '../core/output/terminal.js';
import { choiceFlag, collectRepeated, configFrom, intFlag, numberFlag, outputFormat, styleFor, warn } from './shared.js';
import { PUSH_FORMATS, type PushFormat } from '../core/metrics/push-formats.js';
import type { MetricsServer } from '../core/http/metrics-server.js';

export const MONITOR_OUTPUTS = ['text', 'json', 'csv', 'html'] as const;
export type MonitorOutput = (typeof MONITOR_OUTPUTS)[number];
const MAX_WINDOW_HOURS = 30 * 24;

export interface MonitorLogsOptions {
  inputs: string[];
  window: TimeWindow;
  components: Set<string> | null;
  mappings: FieldMapping[];
  /** The user's formats (--format-file), tried before the built-ins. */
  formats: UserFormat[];
  lowConfidence: number;
  maxGroups: number;
  maxLineBytes: number;
  strict: boolean;
  output: MonitorOutput;
  outFile: string | null;
  top: number;
  workers: number;
  now: Date;
  server: ServerFlags | null;
}

export interface ServerFlags {
  intervalSeconds: number;
  port: number;
  push: PushFormat;
  state: boolean;
  startAtEnd: boolean;
  pollMs: number;
}

export function registerMonitorLogs(program: Command, deps: Deps, run = runMonitorLogs): void {
  const cmd = program
    .command('monitor-logs')
    .description('turn Airflow, Kafka-consumer and ML-service logs into volume, latency percentiles, error rates, consumer lag and model confidence per hour')
    .argument('[inputs...]', 'log files, directories, quoted globs ("/var/log/airflow/*.log*"), or "-" for stdin; .gz is read as is')
    .option('--hours <n>', 'the window: the last N hours before --now (1 to 720)', '24')
    .option('--since <time>', 'start of the window: 6h (ago), -6h, now-2d, ISO 8601 or Unix seconds')
    .option('--until <time>', 'end of the window (default: --now)')
    .option('--start <time>', 'the same as --since')
    .option('--end <time>', 'the same as --until')
    .option('--now <time>', 'what "now" is, for old logs and reproducible reports (default: the clock)')
    .option('--component <name>', 'only this component: airflow, kafka, ml, a --map component, or all (repeatable)', collectRepeated, [])
    .option('--map <fields>', 'read another JSON-lines log: "component=payments,time=ts,level=severity,latency=took_ms,latency_unit=ms,count=n,group=service+region" (repeatable)', collectRepeated, [])
    .option('--map-file <file>', 'field mappings from a JSON file: one mapping object or a list of them (same keys as --map)')
    .option('--format-file <file>', 'your own line formats (YAML or JSON): regular expressions with named groups, or logfmt, tried before the built-in formats (see the README)')
    .option('--low-confidence <p>', 'ML predictions under this confidence count as low', '0.7')
    .option('--max-groups <n>', 'groups kept per component; more go to an "other" group, and are reported', '1000')
    .option('--max-line-bytes <n>', 'longer lines are skipped and reported as too_long', String(1 << 20))
    .option('--strict', 'exit 5 when any line was skipped as unusable (naming the first file and line); lines outside the window are not errors')
    .option('--server', 'keep following the logs (tail -F) and serve the derived metrics at /metrics')
    .option('--interval <duration>', 'server: how often to write a report (and push)', '60s')
    .option('--port <port>', 'server: port of /metrics (0 picks a free one)', '9108')
    .option('--host <address>', 'server: address of /metrics (env PIPEOBS_METRICS_HOST, default 127.0.0.1)')
    .option('--push <format>', `server: also push the metrics to VictoriaMetrics each interval: ${PUSH_FORMATS.join(', ')}`, 'none')
    .option('--state-file <file>', 'server: where read offsets are kept (env PIPEOBS_MONITOR_STATE_FILE)')
    .option('--no-state', 'server: keep no state file (a restart starts over)')
    .option('--start-at <where>', 'server: where to start in files already there at the first start: end (like tail -F) or beginning', 'end')
    .option('--poll <duration>', 'server: how often to look for appended lines', '250ms')
    .option('--workers <n>', 'threads for reading (default: one per core, up to 4; 1 reads in one thread)')
    .option('--top <n>', 'text output: the groups with the most lines shown per component', '20')
    .option('-o, --output <format>', `output format: ${MONITOR_OUTPUTS.join(', ')}`, 'text')
    .option('--out <file>', 'write the report to this file instead of stdout (e.g. report.html)')
    .addHelpText('after', `
Examples:
  $ pipeobs monitor-logs examples/logs --now 2026-11-21T12:00:00Z
  $ pipeobs monitor-logs '/var/log/airflow/**/*.log*' /var/log/kafka --hours 6 -o json
  $ pipeobs monitor-logs /var/log/ml --component ml --low-confidence 0.8 -o html --out ml.html
  $ zcat app.log.gz | pipeobs monitor-logs - --map 'component=payments,time=ts,latency=took_ms,group=service'

Formats are detected line by line: Airflow JSON lines and Airflow's plain-text task log,
Kafka-consumer JSON lines, ML-prediction JSON lines, Python logging's stock layouts
("%(asctime)s - %(name)s - %(levelname)s - %(message)s", "%(asctime)s %(levelname)s %(name)s: %(message)s"),
logfmt, JSON lines described by --map, and your own formats from --format-file.
Times without a zone are UTC. The JSON output's schema is documented in the README.`);
  cmd.action(async (inputs: string[], raw: Record<string, unknown>, command: Command) => {
    const config = configFrom(deps, command, { metricsHost: raw.host as string | undefined, monitorStateFile: raw.stateFile as string | undefined });
    const o = await validateMonitorLogs(inputs, raw, deps);
    await (o.server ? runLogServerCommand(o, config, deps) : run(o, config, deps));
  });
}

export async function validateMonitorLogs(inputs: string[], raw: Record<string, unknown>, deps: Deps): Promise<MonitorLogsOptions> {
  if (inputs.length === 0) throw new UsageError('no logs to read: give files, directories, globs, or "-" for stdin', 'e.g. pipeobs monitor-logs /var/log/airflow /var/log/kafka');
  const now = raw.now === undefined ? deps.now() : parseTime(String(raw.now), '--now', deps.now());
  const window = windowFrom(raw, now);
  const mappings = (raw.map as string[]).map((spec, i) => mappingFromFlag(spec, i));
  if (raw.mapFile !== undefined) mappings.push(...(await mappingsFromFile(path.resolve(deps.cwd, String(raw.mapFile)))));
  const names = new Set<string>();
  for (const m of mappings) {
    if (RESERVED_COMPONENTS.includes(m.component)) throw new UsageError(`mapping component ${m.component} is a built-in format's name`, 'name the component after what writes the log, e.g. component=payments');
    if (names.has(m.component)) throw new UsageError(`two mappings are named ${m.component}`);
    names.add(m.component);
  }
  const formats = raw.formatFile === undefined ? [] : await formatsFromFile(path.resolve(deps.cwd, String(raw.formatFile)), [...RESERVED_COMPONENTS, ...names]);
  const wanted = (raw.component as string[]).flatMap((c) => c.split(',')).map((c) => c.trim()).filter(Boolean);
  const known = [...BUILTIN_COMPONENTS, ...names, ...new Set(formats.map((f) => f.component))];
  // Components named after Python loggers are only known once read: any such name is accepted (and warned about when no line has it).
  for (const c of wanted) if (c !== 'all' && !known.includes(c) && !COMPONENT_NAME.test(c)) throw new UsageError(`--component ${c}: no such component`, `use ${[...known, 'all'].join(', ')}, or a Python logger's first name part in lower case`);
  const output = outputFormat(raw.output, MONITOR_OUTPUTS) as MonitorOutput;
  const server = raw.server ? serverFlags(raw, inputs, output, raw.out !== undefined) : null;
  // Flags first, then the inputs (a server waits for files that do not exist yet).
  if (!server) await checkInputsReadable(inputs, deps.cwd, { directories: true });
  return {
    inputs,
    window,
    components: wanted.length === 0 || wanted.includes('all') ? null : new Set(wanted),
    mappings,
    formats,
    lowConfidence: numberFlag(raw.lowConfidence, '--low-confidence', 0, 1),
    maxGroups: intFlag(raw.maxGroups, '--max-groups', 1, 1_000_000),
    maxLineBytes: intFlag(raw.maxLineBytes, '--max-line-bytes', 256, 1 << 30),
    strict: Boolean(raw.strict),
    output,
    outFile: raw.out === undefined ? null : path.resolve(deps.cwd, String(raw.out)),
    top: intFlag(raw.top, '--top', 1, 1_000_000),
    workers: raw.workers === undefined ? Math.min(4, availableParallelism()) : intFlag(raw.workers, '--workers', 1, 64),
    now,
    server,
  };
}

function serverFlags(raw: Record<string, unknown>, inputs: string[], output: MonitorOutput, toFile: boolean): ServerFlags {
  if (inputs.includes('-')) throw new UsageError('--server follows files; stdin ("-") cannot be followed', 'give files, directories or quoted globs');
  if (output === 'html' && !toFile) throw new UsageError('--server with -o html needs --out <file>: the page is rewritten every interval');
  const where = choiceFlag(raw.startAt, '--start-at', ['end', 'beginning'] as const);
  return {
    intervalSeconds: parseDuration(String(raw.interval), '--interval'),
    port: intFlag(raw.port, '--port', 0, 65535),
    push: choiceFlag(raw.push, '--push', PUSH_FORMATS),
    state: raw.state !== false,
    startAtEnd: where === 'end',
    pollMs: parseDuration(String(raw.poll), '--poll') * 1000,
  };
}

export function windowFrom(raw: Record<string, unknown>, now: Date): TimeWindow {
  const hours = numberFlag(raw.hours, '--hours', 1, MAX_WINDOW_HOURS);
  const win = windowFromFlags(raw, now);
  const until = win.end ?? now;
  const since = win.start ?? new Date(until.getTime() - hours * 3_600_000);
  if (since.getTime() >= until.getTime()) throw new UsageError(`${win.startFlag} ${since.toISOString()} is not before ${win.endFlag} ${until.toISOString()}`);
  if (until.getTime() - since.getTime() > MAX_WINDOW_HOURS * 3_600_000) throw new UsageError(`the window from ${since.toISOString()} to ${until.toISOString()} is longer than 30 days`, 'report on a month at most at a time');
  return { sinceMs: since.getTime(), untilMs: until.getTime() };
}

function mappingFromFlag(spec: string, i: number): FieldMapping {
  const obj: Record<string, string> = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`--map ${spec}: "${part}" is not key=field`, 'e.g. --map "time=ts,level=severity,latency=took_ms"');
    obj[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  try {
    return parseFieldMapping(obj, `--map #${i + 1}`);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function mappingsFromFile(file: string): Promise<FieldMapping[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the mapping file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file} is not JSON: ${(err as Error).message}`);
  }
  const list = Array.isArray(doc) ? doc : [doc];
  return list.map((m, i) => {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new ConfigError(`${file}: mapping #${i + 1} is not an object`);
    try {
      return parseFieldMapping(m as Record<string, unknown>, `${file}: mapping #${i + 1}`);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  });
}

/** The user's formats from a YAML or JSON file; any mistake is a configuration error naming the format and the key. */
async function formatsFromFile(file: string, taken: string[]): Promise<UserFormat[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the format file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const { parse, YAMLParseError } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text, { prettyErrors: true });
  } catch (err) {
    if (err instanceof YAMLParseError) throw new ConfigError(`${file} is not YAML or JSON: ${err.message.split('\n')[0]}`);
    throw err;
  }
  try {
    return parseUserFormats(doc, file, taken);
  } catch (err) {
    if (err instanceof FormatFileError) throw new ConfigError(err.message, 'see "Your own formats" in the README');
    throw err;
  }
}

export function renderReport(report: LogReport, output: MonitorOutput, deps: Deps, config: Config, forFile: boolean, top: number): string {
  // The report holds no bigints: plain JSON.stringify, several times faster than with a replacer on big reports.
  if (output === 'json') return JSON.stringify(report, null, 2) + '\n';
  if (output === 'csv') return renderTableCsv(reportTable(report));
  if (output === 'html') return renderReportHtml(report);
  // A text report written to a file is laid out as on a terminal, without colour.
  if (forFile) return renderReportText(report, { tty: true, color: false }, new Chalk({ level: 0 }), top);
  const style = styleFor(deps, config);
  return renderReportText(report, style, style.c, top);
}

export async function runMonitorLogs(o: MonitorLogsOptions, config: Config, deps: Deps): Promise<LogReport> {
  const progress = startProgress(deps.stderr, config, 'reading logs');
  // Ctrl-C stops the reading, not the report: what was read so far is reported.
  const stop = new AbortController();
  const removeSignal = deps.onSignal((signal) => {
    if (!stop.signal.aborted) deps.stderr.write(`\n${signal}: stopping; reporting the lines read so far (again to quit at once)\n`);
    stop.abort();
  });
  let result;
  try {
    result = await runBatch({ ...o, cwd: deps.cwd }, deps.stdin, o.now, (p) => {
      if (progress.active) progress.update(`reading ${path.basename(p.file)} (${p.fileIndex + 1}/${p.files}): ${formatBytes(p.bytes)}, ${p.lines.toLocaleString('en-US')} lines`);
    }, stop.signal);
  } finally {
    progress.stop();
    removeSignal();
  }
  const { report, unmatched } = result;
  for (const u of unmatched) warn(deps, config, `${u}: no such file, or no log files match`);
  if (report.inputs.length === 0) throw new UsageError(`none of the inputs names a readable log: ${o.inputs.join(', ')}`, 'check the paths; quote globs so that pipeobs expands them');
  for (const i of report.inputs) if (i.error) warn(deps, config, `reading ${i.file} stopped after ${i.lines} lines: ${i.error}`);
  if (o.components !== null) {
    const seen = new Set(report.components.map((c) => c.component));
    for (const c of o.components) if (!seen.has(c)) warn(deps, config, `--component ${c}: no usable line of this component in the window`);
  }
  const text = renderReport(report, o.output, deps, config, o.outFile !== null, o.top);
  if (o.outFile) {
    await writeFile(o.outFile, text);
    deps.stderr.write(`wrote ${o.outFile} (${formatBytes(Buffer.byteLength(text))})\n`);
  } else deps.stdout.write(text);
  if (report.summary.lines_read === 0 && !result.interrupted) throw emptyInputError(report.inputs.map((i) => i.file));
  if (result.interrupted) throw new InterruptedError(`interrupted: the report covers the ${report.summary.lines_read.toLocaleString('en-US')} lines read before the signal`);
  if (o.strict) {
    const { total, first } = unusableLines(report);
    if (first) throw new CheckFailedError(`--strict: ${total} line(s) skipped, the first at ${first.file}:${first.line}: ${first.reason} (${first.detail})`);
  }
  return report;
}

/** --server: follow, serve /metrics, report (and push) every interval, until SIGINT/SIGTERM. */
export async function runLogServerCommand(o: MonitorLogsOptions, config: Config, deps: Deps): Promise<void> {
  // Loaded here, not at the top: prom-client and the server cost start-up time a batch report does not need.
  const [{ createVmClient }, { pushSamples }, { snapshotSamples }, { startMetricsServer }, { runLogServer }, { Spool }, { zerosOfNewSeries }] = await Promise.all([
    import('./vm-client.js'),
    import('../core/metrics/push.js'),
    import('../core/metrics/registry.js'),
    import('../core/http/metrics-server.js'),
    import('../core/logs/server.js'),
    import('../core/spool/spool.js'),
    import('../core/metrics/zeros.js'),
  ]);
  const flags = o.server!;
  const stop = new AbortController();
  const removeSignal = deps.onSignal((signal) => {
    if (!stop.signal.aborted) deps.stderr.write(`\n${signal}: saving the read offsets and stopping\n`);
    stop.abort();
  });
  const client = flags.push === 'none' ? null : createVmClient(config, deps);
  const spool = new Spool(path.resolve(deps.cwd, config.spoolDir));
  const stateFile = flags.state ? path.resolve(deps.cwd, config.monitorStateFile) : null;
  let server: MetricsServer | null = null;
  let csvHeader = true;
  // A series first seen since the last push goes in at 0 as of that push (or the start) first, so
  // increase() over what was pushed counts its first lines too.
  const pushed = new Set<string>();
  let lastPushMs = deps.now().getTime();
  const push = async (registry: import('prom-client').Registry) => {
    if (!client || flags.push === 'none') return;
    const samples = await snapshotSamples(registry);
    const nowMs = deps.now().getTime();
    const zeros = zerosOfNewSeries(samples, pushed);
    if (zeros.length > 0) {
      const first = await pushSamples(client, spool, flags.push, zeros, Math.min(lastPushMs, nowMs - 1));
      if (first.message) warn(deps, config, first.message);
    }
    const outcome = await pushSamples(client, spool, flags.push, samples, nowMs);
    lastPushMs = nowMs;
    if (outcome.message) warn(deps, config, outcome.message);
  };
  try {
    const summary = await runLogServer(
      {
        inputs: o.inputs, cwd: deps.cwd, mappings: o.mappings, formats: o.formats, components: o.components, maxGroups: o.maxGroups, lowConfidence: o.lowConfidence,
        maxLineBytes: o.maxLineBytes, windowHours: (o.window.untilMs - o.window.sinceMs) / 3_600_000, intervalSeconds: flags.intervalSeconds,
        pollMs: flags.pollMs, rescanMs: Math.max(1000, flags.pollMs), stateFile, startAtEnd: flags.startAtEnd,
      },
      {
        now: () => deps.now(),
        sleep: (ms, signal) => deps.sleep(ms, signal),
        stop: stop.signal,
        problem: (m) => warn(deps, config, m),
        ready: async (registry, follower) => {
          server = await startMetricsServer(registry, config.metricsHost, flags.port);
          if (follower.count === 0) warn(deps, config, `no file matches ${o.inputs.join(', ')} yet: pipeobs waits for one to appear (check the path, and quote globs so that pipeobs expands them)`);
          deps.stderr.write(`following ${follower.count} file(s); serving metrics at ${server.url}${stateFile ? `; offsets in ${stateFile}` : ''}\n`);
        },
        report: async (report, registry, final) => {
          await push(registry);
          let text: string;
          if (o.output === 'json') text = JSON.stringify(report) + '\n';
          else if (o.output === 'csv') {
            text = renderTableCsv(reportTable(report));
            if (!csvHeader && !o.outFile) text = text.slice(text.indexOf('\n') + 1);
            csvHeader = false;
          } else text = renderReport(report, o.output, deps, config, o.outFile !== null, o.top);
          if (o.outFile) await writeFile(o.outFile, text);
          else if (o.output === 'text') deps.stdout.write(`${final ? 'final report' : 'report'} at ${report.generated_at}\n${text}\n`);
          else deps.stdout.write(text);
        },
      },
    );
    deps.stderr.write(`stopped: ${summary.lines.toLocaleString('en-US')} lines read in ${summary.passes} passes${stateFile ? `; offsets saved in ${stateFile}` : ''}\n`);
  } finally {
    removeSignal();
    if (server) await (server as MetricsServer).close();
  }
}
