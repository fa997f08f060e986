/**
 * The tools an LLM may call: read-only by construction (they reach only VictoriaMetrics' query
 * endpoints), every PromQL checked before it runs (each metric name must exist; VictoriaMetrics
 * must parse it), and every result summarised and capped before it goes back to the model.
 * Tool results are data: nothing in a label value or a result can make a tool do anything else.
 */
import { PipeobsError } from '../errors.js';
import { parseDuration, parseTime } from '../time/parse.js';
import { CATALOG, seriesNames } from '../metrics/catalog.js';
import type { QueryData, VmClient } from '../victoria/client.js';
import { metricNames, nearestNames } from './promql.js';

export interface ToolDefinition {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export interface QueryRecord {
  tool: string;
  promql?: string;
  time?: string;
  start?: string;
  end?: string;
  step?: number;
  ok: boolean;
  error?: string;
  series?: number;
}

const MAX_RESULT_CHARS = 6000;
const MAX_SERIES = 20;

const str = (description: string) => ({ type: 'string', description });

export const TOOL_DEFINITIONS: ToolDefinition[] = [
  {
    type: 'function',
    function: {
      name: 'list_metrics',
      description: 'The metric catalog (name, type, unit, labels, help) and the other metric names that exist in VictoriaMetrics. Call this first.',
      parameters: { type: 'object', properties: {}, additionalProperties: false },
    },
  },
  {
    type: 'function',
    function: {
      name: 'label_names',
      description: 'The label names in use in the last 24 hours, optionally only on series matching a selector.',
      parameters: { type: 'object', properties: { match: str('optional series selector, e.g. pipeline_errors_total') }, additionalProperties: false },
    },
  },
  {
    type: 'function',
    function: {
      name: 'label_values',
      description: 'The values a label takes, optionally only on series matching a selector.',
      parameters: { type: 'object', properties: { label: str('label name, e.g. stage or pipeline_name'), match: str('optional series selector, e.g. pipeline_runs_total') }, required: ['label'], additionalProperties: false },
    },
  },
  {
    type: 'function',
    function: {
      name: 'series',
      description: 'The series (label sets) matching a selector in the last 24 hours.',
      parameters: { type: 'object', properties: { match: str('series selector, e.g. pipeline_errors_total{stage="quality"}') }, required: ['match'], additionalProperties: false },
    },
  },
  {
    type: 'function',
    function: {
      name: 'instant_query',
      description: 'Runs a PromQL/MetricsQL query at one time (default now) and returns each series\' value.',
      parameters: { type: 'object', properties: { query: str('PromQL'), time: str('optional: ISO 8601, or relative like -1h') }, required: ['query'], additionalProperties: false },
    },
  },
  {
    type: 'function',
    function: {
      name: 'range_query',
      description: 'Runs a PromQL/MetricsQL query over a time range and returns, per series, first, last, min, max, mean and a few sampled points.',
      parameters: {
        type: 'object',
        properties: { query: str('PromQL'), start: str('ISO 8601 or relative like -6h'), end: str('ISO 8601, relative, or now (default)'), step: str('e.g. 1m, 5m (default: range/60)') },
        required: ['query', 'start'],
        additionalProperties: false,
      },
    },
  },
];

export class AskTools {
  readonly queries: QueryRecord[] = [];
  readonly results: unknown[] = [];
  private known: Promise<string[]> | null = null;

  constructor(
    private readonly client: VmClient,
    private readonly now: () => Date,
  ) {}

  /** Catalog series names and the names VictoriaMetrics has, fetched once. */
  knownNames(): Promise<string[]> {
    this.known ??= this.client
      .labelValues('__name__', [], new Date(this.now().getTime() - 30 * 86_400_000), this.now())
      .catch(() => [] as string[])
      .then((live) => [...new Set([...CATALOG.flatMap(seriesNames), ...live])].sort());
    return this.known;
  }

  /** Runs one tool call; never throws: problems go back to the model as {"error": …}. */
  async call(name: string, rawArgs: string): Promise<string> {
    let args: Record<string, unknown>;
    try {
      args = rawArgs.trim() ? (JSON.parse(rawArgs) as Record<string, unknown>) : {};
      if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new Error('not an object');
    } catch {
      return JSON.stringify({ error: `the arguments of ${name} are not a JSON object: ${rawArgs.slice(0, 200)}` });
    }
    try {
      switch (name) {
        case 'list_metrics':
          // The whole catalog matters more than brevity here: the model picks metrics from it.
          return cap(await this.listMetrics(), 20_000);
        case 'label_names': {
          const match = optionalString(args, 'match');
          const names = await this.client.labels(match ? [match] : [], new Date(this.now().getTime() - 86_400_000), this.now());
          return cap({ count: names.length, labels: names.slice(0, 200) });
        }
        case 'label_values': {
          const label = requireString(args, 'label');
          const match = optionalString(args, 'match');
          const values = await this.client.labelValues(label, match ? [match] : [], new Date(this.now().getTime() - 86_400_000), this.now());
          return cap({ label, count: values.length, values: values.slice(0, 100) });
        }
        case 'series': {
          const match = requireString(args, 'match');
          const problem = await this.checkNames(match);
          if (problem) return JSON.stringify(problem);
          const s = await this.client.series([match], new Date(this.now().getTime() - 86_400_000), this.now());
          return cap({ count: s.length, series: s.slice(0, 50) });
        }
        case 'instant_query':
          return await this.instant(requireString(args, 'query'), optionalString(args, 'time'));
        case 'range_query':
          return await this.range(requireString(args, 'query'), requireString(args, 'start'), optionalString(args, 'end'), optionalString(args, 'step'));
        default:
          return JSON.stringify({ error: `there is no tool named ${JSON.stringify(name)}; the tools are ${TOOL_DEFINITIONS.map((t) => t.function.name).join(', ')}` });
      }
    } catch (err) {
      return JSON.stringify({ error: err instanceof PipeobsError || err instanceof Error ? err.message : String(err) });
    }
  }

  private async listMetrics() {
    const known = await this.knownNames();
    const catalogNames = new Set(CATALOG.flatMap(seriesNames));
    return {
      catalog: CATALOG.map((m) => ({ name: m.name, type: m.type, unit: m.unit, labels: m.labels, help: m.help, ...(m.type === 'histogram' ? { series: seriesNames(m) } : {}) })),
      other_metrics_in_victoriametrics: known.filter((n) => !catalogNames.has(n)).slice(0, 200),
    };
  }

  /** An unknown metric name goes back to the model with the nearest real names. */
  private async checkNames(promql: string): Promise<{ error: string; unknown: string; nearest: string[] } | null> {
    const known = await this.knownNames();
    for (const name of metricNames(promql)) {
      if (!known.includes(name)) {
        return { error: `unknown metric name ${JSON.stringify(name)}; use one of the nearest real names, or call list_metrics`, unknown: name, nearest: nearestNames(name, known) };
      }
    }
    return null;
  }

  private async instant(promql: string, time?: string): Promise<string> {
    const problem = await this.checkNames(promql);
    const at = time ? parseTime(time, 'time', this.now()) : new Date(Math.ceil(this.now().getTime() / 1000) * 1000);
    const record: QueryRecord = { tool: 'instant_query', promql, time: at.toISOString(), ok: false };
    this.queries.push(record);
    if (problem) {
      record.error = problem.error;
      return JSON.stringify(problem);
    }
    try {
      const data = await this.client.query(promql, at);
      record.ok = true;
      record.series = Array.isArray(data.result) && data.resultType !== 'scalar' && data.resultType !== 'string' ? data.result.length : 1;
      this.results.push({ promql, data });
      return cap(summarizeInstant(data, at));
    } catch (err) {
      record.error = (err as Error).message;
      return JSON.stringify({ error: record.error });
    }
  }

  private async range(promql: string, startRaw: string, endRaw?: string, stepRaw?: string): Promise<string> {
    const problem = await this.checkNames(promql);
    const end = endRaw ? parseTime(endRaw, 'end', this.now()) : this.now();
    const start = parseTime(startRaw, 'start', this.now());
    const step = stepRaw ? parseDuration(stepRaw, 'step') : Math.max(15, Math.ceil((end.getTime() - start.getTime()) / 60_000));
    const record: QueryRecord = { tool: 'range_query', promql, start: start.toISOString(), end: end.toISOString(), step, ok: false };
    this.queries.push(record);
    if (problem) {
      record.error = problem.error;
      return JSON.stringify(problem);
    }
    if (start >= end) {
      record.error = 'start is not before end';
      return JSON.stringify({ error: record.error });
    }
    try {
      const data = await this.client.queryRange(promql, start, end, step);
      record.ok = true;
      record.series = data.result.length;
      this.results.push({ promql, data });
      return cap(summarizeRange(data.result, start, end, step));
    } catch (err) {
      record.error = (err as Error).message;
      return JSON.stringify({ error: record.error });
    }
  }
}

function requireString(args: Record<string, unknown>, key: string): string {
  const v = args[key];
  if (typeof v !== 'string' || v.trim() === '') throw new Error(`the argument ${key} must be a non-empty string`);
  return v;
}

function optionalString(args: Record<string, unknown>, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new Error(`the argument ${key} must be a string`);
  return v;
}

const round = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);

export function summarizeInstant(data: QueryData, at: Date) {
  if (data.resultType === 'scalar' || data.resultType === 'string') return { time: at.toISOString(), scalar: data.result[1] };
  if (data.resultType === 'matrix') return summarizeRange(data.result, at, at, 0);
  return {
    time: at.toISOString(),
    series_count: data.result.length,
    series: data.result.slice(0, MAX_SERIES).map((r) => ({ labels: r.metric, value: round(Number(r.value[1])) })),
    ...(data.result.length > MAX_SERIES ? { omitted_series: data.result.length - MAX_SERIES } : {}),
  };
}

export function summarizeRange(result: { metric: Record<string, string>; values: [number, string][] }[], start: Date, end: Date, step: number) {
  return {
    start: start.toISOString(),
    end: end.toISOString(),
    step_seconds: step,
    series_count: result.length,
    series: result.slice(0, MAX_SERIES).map((r) => {
      const v = r.values.map(([, x]) => Number(x)).filter(Number.isFinite);
      const pick = Math.max(1, Math.ceil(r.values.length / 8));
      return {
        labels: r.metric,
        points: r.values.length,
        first: round(v[0]),
        last: round(v[v.length - 1]),
        min: round(Math.min(...v)),
        max: round(Math.max(...v)),
        mean: round(v.reduce((a, b) => a + b, 0) / (v.length || 1)),
        sampled: r.values.filter((_, i) => i % pick === 0 || i === r.values.length - 1).map(([t, x]) => [new Date(t * 1000).toISOString(), round(Number(x))]),
      };
    }),
    ...(result.length > MAX_SERIES ? { omitted_series: result.length - MAX_SERIES } : {}),
  };
}

/** JSON for the model, cut to a bounded size. */
function cap(doc: unknown, max = MAX_RESULT_CHARS): string {
  const s = JSON.stringify(doc);
  return s.length <= max ? s : `${s.slice(0, max)}… (cut at ${max} characters)`;
}
