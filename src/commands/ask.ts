/**
 * pipeobs ask: questions about the pipeline metrics in plain language, answered with PromQL that
 * was checked and run. With an LLM (OPENAI_API_KEY, any OpenAI-compatible OPENAI_BASE_URL) the
 * model calls read-only tools; without one (or with --offline) a deterministic engine answers the
 * common questions. No question opens a chat; --demo runs the example questions.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import { appendFile, mkdir, readFile, readdir } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { CheckFailedError, UnreachableError } from '../core/errors.js';
import type { Config } from '../core/config/config.js';
import type { Deps } from '../core/deps.js';
import { CATALOG, LLM_ERROR_TYPES } from '../core/metrics/catalog.js';
import { PUSH_FORMATS, type PushFormat } from '../core/metrics/push-formats.js';
import { DEMO_QUESTIONS, EXAMPLE_QUESTIONS, OfflineSession, answerOffline, type Understood } from '../core/ask/offline.js';
import { AskTools, type QueryRecord } from '../core/ask/tools.js';
import { colorFor, startProgress } from '../core/output/terminal.js';
import { renderJson, renderTableCsv, type OutputFormat, type Table } from '../core/output/render.js';
import { addOutputOption, choiceFlag, configFrom, outputFormat, warn } from './shared.js';
import { createVmClient } from './vm-client.js';
import { Spool } from '../core/spool/spool.js';
import { redactText } from '../core/redact.js';

export interface AskOptions {
  question?: string;
  demo: boolean;
  offline: boolean;
  push: PushFormat;
  /** Serve ask's usage metrics at /metrics on this port while it runs (a chat, for scrapers). */
  metricsPort?: number;
  output: OutputFormat;
}

export interface AskResult {
  schema_version: 1;
  question: string;
  mode: 'llm' | 'offline';
  model: string | null;
  answered: boolean;
  queries: QueryRecord[];
  results: unknown[];
  answer: string;
  /** Offline: the parts of the question as the engine understood them. */
  understood?: Understood | null;
  /** Offline, not answered: the closest questions it can answer. */
  readings?: string[];
  /** Why an LLM question was answered offline (the LLM call failed). */
  fallback_reason?: string;
}

/** The shipped alert rules, read when a question asks whether anything is wrong. */
async function loadAlertRules(): Promise<[string, string][]> {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..', 'deploy', 'alerts');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yml')).sort();
  return Promise.all(files.map(async (f) => [`deploy/alerts/${f}`, await readFile(path.join(dir, f), 'utf8')] as [string, string]));
}

export function registerAsk(program: Command, deps: Deps, run = runAsk): void {
  const cmd = program
    .command('ask')
    .description('ask about the pipeline metrics in plain language; answered with checked PromQL (LLM or offline)')
    .argument('[question...]', 'the question; none opens a chat')
    .option('--offline', 'answer without an LLM, even when OPENAI_API_KEY is set')
    .option('--demo', 'answer the example questions')
    .option('--model <name>', 'LLM model (env PIPEOBS_LLM_MODEL, default gpt-4o-mini)')
    .option('--max-rounds <n>', 'rounds of tool calls before the model must answer (env PIPEOBS_LLM_MAX_ROUNDS, default 8)')
    .option('--push <format>', `push ask's own usage metrics to VictoriaMetrics at the end: ${PUSH_FORMATS.join(', ')}`, 'none')
    .option('--metrics-port <port>', 'serve ask\'s usage metrics at /metrics on this port while it runs (0 picks one)')
    .option('--metrics-host <host>', 'address for --metrics-port (env PIPEOBS_METRICS_HOST, default 127.0.0.1)');
  addOutputOption(cmd).addHelpText('after', `
Examples:
  $ pipeobs ask "which stage got slower in the last hour?"
  $ pipeobs ask --offline "What's the current data quality score?"
  $ pipeobs ask --demo
  $ OPENAI_BASE_URL=http://127.0.0.1:11434/v1 OPENAI_API_KEY=ollama pipeobs ask --model llama3.1 "any errors today?"
  $ pipeobs ask                       # chat: /help, /metrics, /promql, /exit
  $ printf 'any errors?\\nhow fresh is the data?\\n' | pipeobs ask

Offline, it answers questions like:
${EXAMPLE_QUESTIONS.map((q) => `  ${q}`).join('\n')}`);
  cmd.action(async (words: string[], raw: Record<string, unknown>, command: Command) => {
    const config = configFrom(deps, command, {
      llmModel: raw.model as string | undefined,
      llmMaxRounds: raw.maxRounds as string | undefined,
      metricsHost: raw.metricsHost as string | undefined,
      metricsPort: raw.metricsPort as string | undefined,
    });
    await run({
      question: words.length ? words.join(' ') : undefined,
      demo: Boolean(raw.demo),
      offline: Boolean(raw.offline),
      push: choiceFlag(raw.push, '--push', PUSH_FORMATS),
      metricsPort: raw.metricsPort === undefined ? undefined : config.metricsPort,
      output: outputFormat(raw.output),
    }, config, deps);
  });
}

/** Usage metrics that go nowhere: with --push none, prom-client (~70 ms of start-up) is not loaded. */
const noUsage = {
  reg: null,
  recorder: { request() {}, error() {} },
  init() {},
  question() {},
};

/** ask's own metrics, from the catalog: LLM requests, tokens, latency, errors, questions. */
async function usageMetrics() {
  const { createCatalogRegistry } = await import('../core/metrics/registry.js');
  const reg = createCatalogRegistry(CATALOG.filter((m) => m.source === 'ask'));
  return {
    reg,
    recorder: {
      request(model: string, seconds: number, outcome: 'ok' | 'error', tokens?: { prompt: number; completion: number }) {
        reg.counter('pipeobs_llm_requests_total').inc({ model, outcome });
        reg.histogram('pipeobs_llm_request_duration_seconds').observe({ model }, seconds);
        if (tokens) {
          reg.counter('pipeobs_llm_tokens_total').inc({ model, type: 'prompt' }, tokens.prompt);
          reg.counter('pipeobs_llm_tokens_total').inc({ model, type: 'completion' }, tokens.completion);
        }
      },
      error(model: string, type: (typeof LLM_ERROR_TYPES)[number]) {
        reg.counter('pipeobs_llm_errors_total').inc({ model, error_type: type });
      },
    },
    init(model: string | null) {
      for (const mode of ['llm', 'offline']) for (const outcome of ['answered', 'unanswered', 'failed']) reg.counter('pipeobs_ask_questions_total').inc({ mode, outcome }, 0);
      if (model) {
        for (const outcome of ['ok', 'error']) reg.counter('pipeobs_llm_requests_total').inc({ model, outcome }, 0);
        for (const type of ['prompt', 'completion']) reg.counter('pipeobs_llm_tokens_total').inc({ model, type }, 0);
        for (const t of LLM_ERROR_TYPES) reg.counter('pipeobs_llm_errors_total').inc({ model, error_type: t }, 0);
        reg.histogram('pipeobs_llm_request_duration_seconds').zero({ model });
      }
    },
    question(mode: 'llm' | 'offline', outcome: 'answered' | 'unanswered' | 'failed') {
      reg.counter('pipeobs_ask_questions_total').inc({ mode, outcome });
    },
  };
}

export async function runAsk(opts: AskOptions, config: Config, deps: Deps): Promise<void> {
  const client = createVmClient(config, deps);
  const mode: 'llm' | 'offline' = opts.offline || !config.openaiApiKey ? 'offline' : 'llm';
  if (mode === 'offline' && !opts.offline) warn(deps, config, 'no OPENAI_API_KEY: answering offline (set it, and OPENAI_BASE_URL for a compatible server, to ask an LLM)');
  const usage = opts.push === 'none' && opts.metricsPort === undefined ? noUsage : await usageMetrics();
  usage.init(mode === 'llm' ? config.llmModel : null);
  const history: ChatCompletionMessageParam[] = [];
  const c = colorFor(deps.stdout, config);
  let lastQueries: QueryRecord[] = [];
  const session = new OfflineSession();
  const offline = async (question: string, fallbackReason?: string): Promise<AskResult> => {
    const a = await answerOffline(question, { client, now: deps.now(), loadRules: loadAlertRules }, session);
    usage.question('offline', a.answered ? 'answered' : 'unanswered');
    const queries: QueryRecord[] = a.queries.map((q) => ({ tool: 'instant_query', promql: q.promql, time: q.time, ok: true }));
    return {
      schema_version: 1, question, mode: 'offline', model: null, answered: a.answered, queries, results: a.results, answer: a.answer, understood: a.understood, readings: a.readings,
      ...(fallbackReason ? { fallback_reason: redactText(fallbackReason) } : {}),
    };
  };

  const answer = async (question: string): Promise<AskResult> => {
    const progress = startProgress(deps.stderr, config, 'thinking');
    try {
      if (mode === 'offline') return await offline(question);
      const { askLlm } = await import('../core/ask/llm.js');
      const tools = new AskTools(client, deps.now);
      let a;
      try {
        a = await askLlm(question, history, tools, {
        apiKey: config.openaiApiKey!,
        baseURL: config.openaiBaseUrl,
        model: config.llmModel,
        timeoutMs: config.llmTimeoutSeconds * 1000,
        maxRetries: 2,
        maxToolRounds: config.llmMaxRounds,
        deadlineMs: Math.max(30_000, 3 * config.llmTimeoutSeconds * 1000),
        }, usage.recorder);
      } catch (err) {
        // The LLM could not be reached (down, rate limited, failing): the offline engine answers instead.
        // A refused key or an unknown model is the user's configuration to fix, and stays an error.
        if (!(err instanceof UnreachableError)) throw err;
        usage.question('llm', 'failed');
        warn(deps, config, `${err.message}: answering offline`);
        return await offline(question, err.message);
      }
      usage.question('llm', a.stopped === 'answered' ? 'answered' : 'unanswered');
      return { schema_version: 1, question, mode, model: config.llmModel, answered: a.stopped === 'answered', queries: tools.queries, results: tools.results, answer: a.answer };
    } catch (err) {
      usage.question(mode, 'failed');
      throw err;
    } finally {
      progress.stop();
    }
  };

  const show = (r: AskResult) => {
    lastQueries = r.queries;
    if (opts.output !== 'text') return;
    deps.stdout.write(`${r.answer}\n`);
    const ran = r.queries.filter((q) => q.promql);
    if (ran.length) deps.stdout.write(c.dim(ran.map((q) => `  PromQL: ${q.promql}${q.error ? `  (${q.error})` : ''}`).join('\n')) + '\n');
  };

  // As run-pipeline does: every series at 0 first, so increase() and rate() count this process's whole work.
  if (opts.push !== 'none' && usage.reg) await pushUsage(usage.reg.registry, opts.push, config, deps, client);
  let server: import('../core/http/metrics-server.js').MetricsServer | null = null;
  if (opts.metricsPort !== undefined && usage.reg) {
    const { startMetricsServer } = await import('../core/http/metrics-server.js');
    server = await startMetricsServer(usage.reg.registry, config.metricsHost, opts.metricsPort);
    deps.stderr.write(`serving ask's usage metrics at ${server.url}\n`);
  }
  try {
    if (opts.demo || opts.question) {
      const questions = opts.demo ? [...DEMO_QUESTIONS] : [opts.question!];
      const results: AskResult[] = [];
      for (const q of questions) {
        if (opts.demo && opts.output === 'text') deps.stdout.write(`${c.bold(`? ${q}`)}\n`);
        const r = await answer(q);
        results.push(r);
        show(r);
        if (opts.demo && opts.output === 'text') deps.stdout.write('\n');
      }
      if (opts.output === 'json') deps.stdout.write(renderJson(opts.demo ? results : results[0]));
      if (opts.output === 'csv') deps.stdout.write(renderTableCsv(answersTable(results)));
      const unanswered = results.filter((r) => !r.answered);
      if (unanswered.length) throw new CheckFailedError(`could not answer: ${unanswered.map((r) => JSON.stringify(r.question)).join(', ')}`, mode === 'offline' ? 'rephrase it like one of the examples in `pipeobs ask --help`, or set OPENAI_API_KEY' : undefined);
      return;
    }
    await chat(deps, config, c, mode, answer, show, () => lastQueries, opts.output);
  } finally {
    await server?.close();
    if (opts.push !== 'none' && usage.reg) await pushUsage(usage.reg.registry, opts.push, config, deps, client);
  }
}

async function pushUsage(registry: import('prom-client').Registry, format: Exclude<PushFormat, 'none'>, config: Config, deps: Deps, client: ReturnType<typeof createVmClient>) {
  const [{ snapshotSamples }, { pushSamples }] = await Promise.all([import('../core/metrics/registry.js'), import('../core/metrics/push.js')]);
  const outcome = await pushSamples(client, new Spool(path.resolve(deps.cwd, config.spoolDir)), format, await snapshotSamples(registry), deps.now().getTime());
  if (outcome.message) warn(deps, config, `usage metrics: ${outcome.message}`);
}

const HELP = `Ask about the pipelines in plain language. Commands:
  /help     this help
  /metrics  the metric catalog
  /promql   the PromQL behind the last answer
  /exit     leave (also exit, quit, Ctrl-D)`;

async function chat(
  deps: Deps,
  config: Config,
  c: ChalkInstance,
  mode: 'llm' | 'offline',
  answer: (q: string) => Promise<AskResult>,
  show: (r: AskResult) => void,
  lastQueries: () => QueryRecord[],
  output: OutputFormat,
): Promise<void> {
  const tty = Boolean(deps.stdout.isTTY && (deps.stdin as { isTTY?: boolean }).isTTY);
  const historyFile = path.join(path.dirname(path.resolve(deps.cwd, config.spoolDir)), 'ask_history');
  const history = tty ? (await readFile(historyFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).reverse().slice(0, 500) : [];
  const rl = readline.createInterface({ input: deps.stdin, output: tty ? (deps.stdout as NodeJS.WritableStream) : undefined, terminal: tty, history, historySize: 500 });
  if (tty) {
    deps.stdout.write(`${c.bold('pipeobs ask')} (${mode === 'llm' ? `LLM ${config.llmModel}` : 'offline'}): ask about your pipelines; /help for commands\n`);
    rl.setPrompt('ask> ');
    rl.prompt();
  }
  const results: AskResult[] = [];
  for await (const raw of rl) {
    const line = raw.trim();
    if (!line) {
      if (tty) rl.prompt();
      continue;
    }
    if (['/exit', 'exit', 'quit', '/quit'].includes(line)) break;
    if (tty) await mkdir(path.dirname(historyFile), { recursive: true }).then(() => appendFile(historyFile, `${line}\n`)).catch(() => {});
    if (line === '/help') deps.stdout.write(`${HELP}\n`);
    else if (line === '/metrics') deps.stdout.write(CATALOG.map((m) => `  ${m.name} (${m.type}, ${m.unit}): ${m.help}`).join('\n') + '\n');
    else if (line === '/promql') {
      const q = lastQueries().filter((x) => x.promql);
      deps.stdout.write(q.length ? q.map((x) => `  ${x.promql}`).join('\n') + '\n' : '  no query yet\n');
    } else if (line.startsWith('/')) deps.stdout.write(`unknown command ${line}; /help lists them\n`);
    else {
      try {
        const r = await answer(line);
        results.push(r);
        show(r);
      } catch (err) {
        // One failed question does not end the chat.
        deps.stderr.write(`${c.red('error:')} ${redactText((err as Error).message)}\n`);
      }
    }
    if (tty) rl.prompt();
  }
  rl.close();
  if (output === 'json') deps.stdout.write(renderJson(results));
  if (output === 'csv') deps.stdout.write(renderTableCsv(answersTable(results)));
}

/** One row per question, for -o csv: the answer and the PromQL it ran. */
function answersTable(results: AskResult[]): Table {
  return {
    columns: ['question', 'mode', 'answered', 'answer', 'promql'],
    rows: results.map((r) => [r.question, r.mode, r.answered, r.answer, r.queries.filter((q) => q.promql).map((q) => q.promql).join(' ; ')]),
  };
}
