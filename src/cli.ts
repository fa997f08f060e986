/**
 * The pipeobs program: builds the commander tree, runs one command, and turns whatever it threw
 * into a message and an exit code. This is the only place that decides exit codes.
 *
 * Start-up loads only what the command being run needs (measured with --cpu-prof and by counting
 * the modules loaded): the command's own module, commander once there is something to parse,
 * chalk only when a stream is a terminal. `--version` loads nothing, and the top-level help is
 * built from COMMAND_SUMMARIES without loading any command module.
 */
import type { Command } from 'commander';
import { createRequire } from 'node:module';
import { ExitCode, PipeobsError, describeError } from './core/errors.js';
import type { Deps } from './core/deps.js';
import { renderJson } from './core/output/render.js';
import { colorFor, loadColors } from './core/output/terminal.js';
import { VERSION } from './version.js';
import { redactText } from './core/redact.js';
import { addFlags, parseFlagsFast, type FlagSpec } from './flags.js';
import type { GlobalFlags } from './commands/shared.js';

type Register = (program: Command, deps: Deps) => void;

/** Each command's module, loaded only when it is the one being run (or for help). */
const COMMANDS: Record<string, () => Promise<Register>> = {
  'run-pipeline': () => import('./commands/run-pipeline.js').then((m) => m.registerRunPipeline),
  'push-influx': () => import('./commands/push-influx.js').then((m) => m.registerPushInflux),
  query: () => import('./commands/query.js').then((m) => m.registerQuery),
  'export-parquet': () => import('./commands/export-parquet.js').then((m) => m.registerExportParquet),
  ask: () => import('./commands/ask.js').then((m) => m.registerAsk),
  verify: () => import('./commands/verify.js').then((m) => m.registerVerify),
  'monitor-logs': () => import('./commands/monitor-logs.js').then((m) => m.registerMonitorLogs),
  'gen-logs': () => import('./commands/gen-logs.js').then((m) => m.registerGenLogs),
  exec: () => import('./commands/exec.js').then((m) => m.registerExec),
  check: () => import('./commands/check.js').then((m) => m.registerCheck),
};

/** Every command's name (the benchmark times each one's --help). */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

/**
 * What the top-level help lists for each command (arguments, description), so that it needs no
 * command module. test/cli.test.ts holds it equal to what the modules register; a command missing
 * here is loaded for the help instead.
 */
export const COMMAND_SUMMARIES: Record<string, { args: string; description: string }> = {
  'run-pipeline': { args: '', description: 'run the instrumented e-commerce ETL (extract → transform → quality → load to Parquet) and report its metrics' },
  'push-influx': { args: '[files...]', description: 'push InfluxDB line protocol (files, stdin, or one point from flags) to VictoriaMetrics, checking every line' },
  query: { args: '[promql]', description: 'PromQL against VictoriaMetrics, SQL over the series in DuckDB, and named reports' },
  'export-parquet': { args: '', description: 'export VictoriaMetrics series to Parquet (zstd, Hive partitions), safe to run from cron' },
  ask: { args: '[question...]', description: 'ask about the pipeline metrics in plain language; answered with checked PromQL (LLM or offline)' },
  verify: { args: '', description: 'check the whole setup (Node, DuckDB, disk, VictoriaMetrics, vmagent, vmalert, Grafana, LLM, dashboard metrics) and say how to fix what fails' },
  'monitor-logs': { args: '[inputs...]', description: 'turn Airflow, Kafka-consumer and ML-service logs into volume, latency percentiles, error rates, consumer lag and model confidence per hour' },
  'gen-logs': { args: '', description: 'write realistic Airflow, Kafka-consumer and ML-service log lines (for trying monitor-logs and benchmarks)' },
  exec: { args: '<command> [args...]', description: 'run any command untouched and record the run (status, duration, last success, its own figures) as pipeline metrics' },
  check: { args: '<paths...>', description: 'check a Parquet, CSV or JSON lines dataset against YAML rules, and its schema and volume against earlier checks' },
};

/** The flags every command takes, before its name. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { long: 'vm-url', value: 'url', description: 'VictoriaMetrics base URL (env PIPEOBS_VM_URL, default http://127.0.0.1:8428)' },
  { long: 'vm-write-url', value: 'url', description: 'separate base URL for writes, e.g. http://vminsert:8480/insert/0 (env PIPEOBS_VM_WRITE_URL)' },
  { long: 'vm-read-url', value: 'url', description: 'separate base URL for queries, e.g. http://vmselect:8481/select/0 (env PIPEOBS_VM_READ_URL)' },
  { long: 'vm-timeout', value: 'seconds', description: 'timeout of one VictoriaMetrics request (env PIPEOBS_VM_TIMEOUT, default 10)' },
  { long: 'debug', description: 'print stack traces and HTTP retries (env PIPEOBS_DEBUG)' },
];

/**
 * Commands that can run without commander (see flags.ts): given the global flags and
 * their own arguments, each returns its run, or null to leave the parsing to commander.
 */
const FAST_COMMANDS: Record<string, () => Promise<FastCommand>> = {
  exec: () => import('./commands/exec.js').then((m) => m.fastExec),
};
export type FastCommand = (globals: GlobalFlags, args: readonly string[], deps: Deps) => (() => Promise<void>) | null;

/**
 * argv split for a fast command: its name, the global flags before it and its own arguments; null
 * when no fast command is named or what comes before the name is not only global flags.
 */
export function readFastArgv(argv: readonly string[]): { name: string; globals: GlobalFlags; args: string[] } | null {
  const at = argv.findIndex((a) => !a.startsWith('-') && a in FAST_COMMANDS);
  if (at < 0) return null;
  const globals = parseFlagsFast(argv.slice(0, at), GLOBAL_FLAGS);
  // A positional before the name: another command, or the name taken as a flag's value.
  if (!globals || globals.positionals.length > 0) return null;
  return { name: argv[at], globals: globals.values as GlobalFlags, args: argv.slice(at + 1) };
}

/** The run of a fast command named in argv, or null when commander must read argv. */
async function fastRun(argv: readonly string[], deps: Deps): Promise<(() => Promise<void>) | null> {
  const read = readFastArgv(argv);
  return read ? (await FAST_COMMANDS[read.name]())(read.globals, read.args, deps) : null;
}

const require = createRequire(import.meta.url);
export { VERSION };

/**
 * The program with the command named in argv registered. When none is named (top-level help, an
 * unknown command), every command is listed from COMMAND_SUMMARIES; `all` registers the real ones.
 */
export async function buildProgram(deps: Deps, argv: readonly string[] = [], opts: { all?: boolean } = {}): Promise<Command> {
  // commander is CommonJS: required directly, it skips the ESM wrapper and the export scan.
  const { Command } = require('commander') as typeof import('commander');
  const program = new Command('pipeobs')
    .description('Observe data pipelines: is data flowing, fresh, correct and fast? (VictoriaMetrics + Grafana)')
    .version(VERSION, '-V, --version', 'print the pipeobs version');
  addFlags(program, GLOBAL_FLAGS)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => deps.stdout.write(s),
      writeErr: (s) => deps.stderr.write(s),
    })
    .addHelpText('after', `
Exit codes: 0 ok, 1 failed, 2 usage error, 3 configuration error, 4 dependency unreachable, 5 check failed, 130 interrupted,
75 data kept in the spool, not delivered yet (push-influx).
Run \`pipeobs <command> --help\` for a command's flags and examples.`);
  const named = argv.find((a) => a in COMMANDS);
  const listed = named ? [named] : Object.keys(COMMANDS);
  const registers = await Promise.all(listed.map((c) => (opts.all || named || !COMMAND_SUMMARIES[c] ? COMMANDS[c]() : null)));
  listed.forEach((name, i) => {
    const register = registers[i];
    if (register) register(program, deps);
    else {
      // Listed for help only: with no command named in argv, no command can run.
      const { args, description } = COMMAND_SUMMARIES[name];
      program.command(args ? `${name} ${args}` : name).description(description).option('-o, --output <format>');
    }
  });

  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput({ writeOut: (s) => deps.stdout.write(s), writeErr: (s) => deps.stderr.write(s) });
  }
  return program;
}

/** Runs pipeobs with the given arguments (without node and script) and returns the exit code. */
export async function main(argv: string[], deps: Deps): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    deps.stdout.write(`${VERSION}\n`);
    return ExitCode.ok;
  }
  // chalk only where colour can show.
  if (deps.stdout.isTTY || deps.stderr.isTTY) await loadColors();
  // Whether the command printed its result: in JSON mode, stdout then holds exactly that one document.
  let printed = false;
  // The real stream with write() observed: readline and ora need the rest of it (on, columns…).
  const stdout = new Proxy(deps.stdout, {
    get(target, prop) {
      if (prop === 'write') {
        return (s: string | Uint8Array) => {
          printed ||= s.length > 0;
          return target.write(s);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  try {
    const fast = await fastRun(argv, { ...deps, stdout });
    if (fast) await fast();
    else await (await buildProgram({ ...deps, stdout }, argv)).parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    return reportError(err, argv, deps, printed);
  } finally {
    // Native scanners load when first used, so which one ran is known only afterwards.
    if (debugWanted(argv, deps)) await reportNativeScanners(deps);
  }
}

/**
 * Prints what went wrong and returns the exit code. With --output json and no result printed,
 * stdout gets {"error": {...}} so scripts always read one JSON document.
 */
function reportError(err: unknown, argv: string[], deps: Deps, resultPrinted: boolean): number {
  if (isCommanderError(err)) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
    if (err.code === 'commander.executeSubCommandAsync') return ExitCode.ok;
    return ExitCode.usage; // commander has already printed what was wrong
  }
  const debug = debugWanted(argv, deps);
  const jsonOutput = wantsJson(argv) && !resultPrinted;
  const c = colorFor(deps.stderr, { noColor: Boolean(deps.env.NO_COLOR), ci: false });
  // Messages may quote a URL (a library's error, a value that did not parse): never its credentials.
  if (err instanceof PipeobsError) {
    const message = redactText(err.message);
    const hint = err.hint === undefined ? undefined : redactText(err.hint);
    deps.stderr.write(`${c.red('error:')} ${message}\n`);
    if (hint) deps.stderr.write(`${c.dim('hint:')} ${hint}\n`);
    if (debug && err.stack) deps.stderr.write(`${redactText(err.stack)}\n`);
    if (jsonOutput) deps.stdout.write(renderJson({ error: { kind: err.kind, message, hint: hint ?? null, exit_code: err.exitCode } }));
    return err.exitCode;
  }
  const message = redactText(describeError(err));
  deps.stderr.write(`${c.red('internal error:')} ${message}\n`);
  if (debug && err instanceof Error && err.stack) deps.stderr.write(`${redactText(err.stack)}\n`);
  else deps.stderr.write('rerun with --debug for the stack trace, and report it as a bug\n');
  if (jsonOutput) deps.stdout.write(renderJson({ error: { kind: 'internal', message, hint: null, exit_code: ExitCode.failure } }));
  return ExitCode.failure;
}

function debugWanted(argv: string[], deps: Deps): boolean {
  return argv.includes('--debug') || /^(1|true|yes|on)$/i.test(deps.env.PIPEOBS_DEBUG ?? '');
}

/** Under --debug, one line per native scanner the command loaded (or fell back from). */
async function reportNativeScanners(deps: Deps): Promise<void> {
  const { nativeLoadReport } = await import('./core/native/load.js');
  for (const line of nativeLoadReport()) deps.stderr.write(`debug: ${line}\n`);
}

function isCommanderError(err: unknown): err is { code: string } {
  return err instanceof Error && err.name === 'CommanderError' && typeof (err as { code?: unknown }).code === 'string';
}

function wantsJson(argv: string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    if ((argv[i] === '-o' || argv[i] === '--output') && argv[i + 1] === 'json') return true;
    if (argv[i] === '--output=json' || argv[i] === '-ojson') return true;
  }
  return false;
}

