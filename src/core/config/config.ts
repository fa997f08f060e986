/**
 * The one place that reads configuration. Every PIPEOBS_* variable is declared here once,
 * with its flag (where there is one), default and description; the README's configuration
 * table lists exactly these (a test holds the two together). Flags win over the environment,
 * the environment wins over the default. A bad value names the variable or flag it came from.
 */
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { redactUrl } from '../redact.js';

type Parser<T> = (raw: string, source: string) => T;

interface Setting<T> {
  env: string;
  flag?: string;
  description: string;
  /** Default as written in the README; a function when it depends on the environment. */
  defaultText: string;
  defaultValue: (env: Env) => string | undefined;
  parse: Parser<T>;
}

export type Env = Readonly<Record<string, string | undefined>>;

function setting<T>(s: Setting<T>): Setting<T> {
  return s;
}

export const parseUrl: Parser<string> = (raw, source) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${source}=${redactUrl(raw)} is not a URL`, `use a URL such as http://127.0.0.1:8428`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${source}=${redactUrl(raw)} must be an http:// or https:// URL`);
  }
  return raw.replace(/\/+$/, '');
};

const parseOptionalUrl: Parser<string | undefined> = (raw, source) => (raw === '' ? undefined : parseUrl(raw, source));

function parseNumber(min: number, max: number, unit: string): Parser<number> {
  return (raw, source) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new ConfigError(`${source}=${raw} is not valid: expected ${unit} from ${min} to ${max}`);
    }
    return n;
  };
}

function parseInteger(min: number, max: number, unit: string): Parser<number> {
  const parse = parseNumber(min, max, unit);
  return (raw, source) => {
    const n = parse(raw, source);
    if (!Number.isInteger(n)) throw new ConfigError(`${source}=${raw} is not valid: expected a whole number of ${unit}`);
    return n;
  };
}

const parseBoolean: Parser<boolean> = (raw, source) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`${source}=${raw} is not valid: expected true or false`);
};

/** Prometheus label values may hold anything but must not be empty. */
function parseLabelValue(what: string): Parser<string> {
  return (raw, source) => {
    if (raw === '') throw new ConfigError(`${source} is empty: the ${what} label needs a value`);
    return raw;
  };
}

const parseText: Parser<string> = (raw) => raw;
const parseOptionalText: Parser<string | undefined> = (raw) => (raw === '' ? undefined : raw);

function stateHome(env: Env): string {
  return env.XDG_STATE_HOME || path.join(env.HOME || '.', '.local', 'state');
}

export const SETTINGS = {
  vmUrl: setting({
    env: 'PIPEOBS_VM_URL',
    flag: '--vm-url',
    description: 'VictoriaMetrics base URL (single-node); used for reads and writes unless the two below are set',
    defaultText: 'http://127.0.0.1:8428',
    defaultValue: () => 'http://127.0.0.1:8428',
    parse: parseUrl,
  }),
  vmWriteUrl: setting({
    env: 'PIPEOBS_VM_WRITE_URL',
    flag: '--vm-write-url',
    description: 'Base URL for writes, e.g. a cluster vminsert with tenant: http://vminsert:8480/insert/0',
    defaultText: 'PIPEOBS_VM_URL',
    defaultValue: () => undefined,
    parse: parseOptionalUrl,
  }),
  vmReadUrl: setting({
    env: 'PIPEOBS_VM_READ_URL',
    flag: '--vm-read-url',
    description: 'Base URL for queries, e.g. a cluster vmselect with tenant: http://vmselect:8481/select/0',
    defaultText: 'PIPEOBS_VM_URL',
    defaultValue: () => undefined,
    parse: parseOptionalUrl,
  }),
  vmBearerToken: setting({
    env: 'PIPEOBS_VM_BEARER_TOKEN',
    description: 'Bearer token sent to VictoriaMetrics (vmauth, managed services); never printed. Basic auth goes in the URL',
    defaultText: '(none)',
    defaultValue: () => undefined,
    parse: parseOptionalText,
  }),
  vmTimeoutSeconds: setting({
    env: 'PIPEOBS_VM_TIMEOUT',
    flag: '--vm-timeout',
    description: 'Seconds to wait for one VictoriaMetrics request before retrying',
    defaultText: '10',
    defaultValue: () => '10',
    parse: parseNumber(0.1, 3600, 'seconds'),
  }),
  vmRetries: setting({
    env: 'PIPEOBS_VM_RETRIES',
    description: 'Retries after a connection error or 5xx answer, with exponential backoff',
    defaultText: '3',
    defaultValue: () => '3',
    parse: parseInteger(0, 20, 'retries'),
  }),
  spoolDir: setting({
    env: 'PIPEOBS_SPOOL_DIR',
    flag: '--spool-dir',
    description: 'Where samples wait when VictoriaMetrics is unreachable; sent by the next run or `push-influx --flush-spool`',
    defaultText: '$XDG_STATE_HOME/pipeobs/spool (~/.local/state/pipeobs/spool)',
    defaultValue: (env) => path.join(stateHome(env), 'pipeobs', 'spool'),
    parse: parseText,
  }),
  monitorStateFile: setting({
    env: 'PIPEOBS_MONITOR_STATE_FILE',
    flag: '--state-file',
    description: 'Where monitor-logs --server keeps its read offsets, so a restart neither loses nor re-reads a line',
    defaultText: '$XDG_STATE_HOME/pipeobs/monitor-logs.state.json',
    defaultValue: (env) => path.join(stateHome(env), 'pipeobs', 'monitor-logs.state.json'),
    parse: parseText,
  }),
  outputDir: setting({
    env: 'PIPEOBS_OUTPUT_DIR',
    flag: '--output-dir',
    description: 'Where run-pipeline writes its Parquet output and quarantine files',
    defaultText: './pipeobs-output',
    defaultValue: () => 'pipeobs-output',
    parse: parseText,
  }),
  pipelineName: setting({
    env: 'PIPEOBS_PIPELINE_NAME',
    flag: '--pipeline-name',
    description: 'Value of the pipeline_name label on every pipeline metric',
    defaultText: 'ecommerce_orders',
    defaultValue: () => 'ecommerce_orders',
    parse: parseLabelValue('pipeline_name'),
  }),
  environment: setting({
    env: 'PIPEOBS_ENVIRONMENT',
    flag: '--environment',
    description: 'Value of the environment label on every pipeline metric',
    defaultText: 'dev',
    defaultValue: () => 'dev',
    parse: parseLabelValue('environment'),
  }),
  metricsHost: setting({
    env: 'PIPEOBS_METRICS_HOST',
    flag: '--metrics-host',
    description: 'Address the /metrics endpoint listens on',
    defaultText: '127.0.0.1',
    defaultValue: () => '127.0.0.1',
    parse: parseText,
  }),
  metricsPort: setting({
    env: 'PIPEOBS_METRICS_PORT',
    flag: '--metrics-port',
    description: 'Port of the /metrics endpoint (0 picks a free port)',
    defaultText: '8000',
    defaultValue: () => '8000',
    parse: parseInteger(0, 65535, 'port'),
  }),
  vmagentUrl: setting({
    env: 'PIPEOBS_VMAGENT_URL',
    description: 'vmagent that scrapes pipeobs, for verify (its /health and /api/v1/targets)',
    defaultText: 'http://127.0.0.1:8429',
    defaultValue: () => 'http://127.0.0.1:8429',
    parse: parseUrl,
  }),
  vmalertUrl: setting({
    env: 'PIPEOBS_VMALERT_URL',
    description: 'vmalert with pipeobs\' rules, for verify (its /health and /api/v1/rules)',
    defaultText: 'http://127.0.0.1:8880',
    defaultValue: () => 'http://127.0.0.1:8880',
    parse: parseUrl,
  }),
  grafanaUrl: setting({
    env: 'PIPEOBS_GRAFANA_URL',
    description: 'Grafana for verify to check (datasource and dashboard); credentials in the URL (http://admin:pw@host:3000); unset skips the check',
    defaultText: '(unset)',
    defaultValue: () => undefined,
    parse: parseOptionalUrl,
  }),
  openaiApiKey: setting({
    env: 'OPENAI_API_KEY',
    description: 'API key for the LLM used by ask; without it ask answers offline. Never printed',
    defaultText: '(unset)',
    defaultValue: () => undefined,
    parse: parseOptionalText,
  }),
  openaiBaseUrl: setting({
    env: 'OPENAI_BASE_URL',
    description: 'Any OpenAI-compatible server for ask (Ollama http://127.0.0.1:11434/v1, vLLM, llama.cpp, LM Studio)',
    defaultText: 'https://api.openai.com/v1',
    defaultValue: () => undefined,
    parse: parseOptionalUrl,
  }),
  llmModel: setting({
    env: 'PIPEOBS_LLM_MODEL',
    flag: '--model',
    description: 'Model ask uses',
    defaultText: 'gpt-4o-mini',
    defaultValue: () => 'gpt-4o-mini',
    parse: parseLabelValue('model'),
  }),
  llmTimeoutSeconds: setting({
    env: 'PIPEOBS_LLM_TIMEOUT',
    description: 'Seconds to wait for one LLM request (the SDK retries 429 and 5xx twice with backoff)',
    defaultText: '60',
    defaultValue: () => '60',
    parse: parseNumber(1, 3600, 'seconds'),
  }),
  llmMaxRounds: setting({
    env: 'PIPEOBS_LLM_MAX_ROUNDS',
    flag: '--max-rounds',
    description: 'Rounds of tool calls the model may make for one question before it must answer',
    defaultText: '8',
    defaultValue: () => '8',
    parse: parseInteger(1, 50, 'rounds'),
  }),
  debug: setting({
    env: 'PIPEOBS_DEBUG',
    flag: '--debug',
    description: 'Print stack traces and HTTP retries to stderr',
    defaultText: 'false',
    defaultValue: () => 'false',
    parse: parseBoolean,
  }),
  noColor: setting({
    env: 'NO_COLOR',
    description: 'Any non-empty value turns colour off (https://no-color.org)',
    defaultText: '(unset)',
    defaultValue: () => undefined,
    parse: (raw) => raw !== '',
  }),
  ci: setting({
    env: 'CI',
    description: 'When set (as CI systems do), spinners and progress stay off even on a terminal',
    defaultText: '(unset)',
    defaultValue: () => undefined,
    parse: (raw) => raw !== '' && raw !== 'false' && raw !== '0',
  }),
} as const;

export type SettingKey = keyof typeof SETTINGS;
type ValueOf<K extends SettingKey> = (typeof SETTINGS)[K] extends Setting<infer T> ? T : never;
export type Config = { [K in SettingKey]: ValueOf<K> | (undefined extends ValueOf<K> ? undefined : never) };

/** Flag values as commander hands them over; undefined means "not given". */
export type ConfigOverrides = Partial<Record<SettingKey, string | number | boolean | undefined>>;

export function loadConfig(env: Env, overrides: ConfigOverrides = {}): Config {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const s = SETTINGS[key] as Setting<unknown>;
    const flagValue = overrides[key];
    if (flagValue !== undefined) {
      out[key] = s.parse(String(flagValue), s.flag ?? s.env);
      continue;
    }
    const envValue = env[s.env];
    if (envValue !== undefined) {
      out[key] = s.parse(envValue, s.env);
      continue;
    }
    const d = s.defaultValue(env);
    out[key] = d === undefined ? (key === 'noColor' || key === 'ci' ? false : undefined) : s.parse(d, `default of ${s.env}`);
  }
  return out as Config;
}

/** The rows of the README's configuration table. */
export function describeSettings(): { env: string; flag: string; default: string; description: string }[] {
  return (Object.values(SETTINGS) as Setting<unknown>[]).map((s) => ({
    env: s.env,
    flag: s.flag ?? '',
    default: s.defaultText,
    description: s.description,
  }));
}
