/**
 * The rules file of `pipeobs check`, in the shape dbt tests and Soda checks have taught data
 * engineers: a dataset name, an optional key, and a list of checks, each one kind with its
 * arguments and an optional severity and name. Parsing is pure (text in, rules out); every
 * rule keeps its line in the file, so later errors (unknown column, type mismatch) can name it.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { ConfigError } from '../errors.js';
import { parseDuration } from '../time/parse.js';

export const RULE_KINDS = ['not_null', 'unique', 'accepted_values', 'range', 'relationships', 'freshness', 'row_count', 'expression'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export const SEVERITIES = ['warn', 'error'] as const;
export type Severity = (typeof SEVERITIES)[number];

export type Literal = string | number | boolean;

interface RuleBase {
  /** Unique within the file: the check_type label and the key in the results. */
  name: string;
  line: number;
  severity: Severity;
}

export type Rule = RuleBase &
  (
    | { kind: 'not_null'; column: string }
    | { kind: 'unique'; columns: string[] }
    | { kind: 'accepted_values'; column: string; values: Literal[] }
    | { kind: 'range'; column: string; min?: Literal; max?: Literal }
    | { kind: 'relationships'; column: string; to: string; field: string }
    | { kind: 'freshness'; column: string; maxAgeSeconds: number }
    | { kind: 'row_count'; min?: number; max?: number }
    | { kind: 'expression'; sql: string }
  );

export interface RuleSet {
  file: string;
  dataset: string | null;
  /** Columns that identify a row in the failing examples. */
  key: string[] | null;
  keyLine: number | null;
  rules: Rule[];
}

/** A mistake in the rules file: exit code 3, with the file and line. */
export function ruleError(file: string, line: number | null, message: string, hint?: string): ConfigError {
  return new ConfigError(`${file}${line ? `:${line}` : ''}: ${message}`, hint);
}

const TOP_KEYS = ['dataset', 'key', 'checks'];
const KIND_ARGS: Record<RuleKind, readonly string[]> = {
  not_null: ['columns', 'column'],
  unique: ['columns', 'column'],
  accepted_values: ['column', 'values'],
  range: ['column', 'min', 'max'],
  relationships: ['column', 'to', 'field'],
  freshness: ['column', 'max_age'],
  row_count: ['min', 'max'],
  expression: ['sql'],
};

export function parseRules(text: string, file: string): RuleSet {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw ruleError(file, e.linePos?.[0].line ?? null, `not valid YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const lineOf = (n: Node | null | undefined) => (n?.range ? lc.linePos(n.range[0]).line : 1);
  const root = doc.contents;
  if (!isMap(root)) throw ruleError(file, lineOf(root), 'expected a mapping with dataset, key and checks', 'see `pipeobs check --help` for an example');
  for (const pair of root.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!TOP_KEYS.includes(k)) throw ruleError(file, lineOf(pair.key as Node), `unknown top-level key ${JSON.stringify(k)}; expected ${TOP_KEYS.join(', ')}`);
  }
  const json = root.toJSON() as Record<string, unknown>;
  const dataset = json.dataset === undefined ? null : String(json.dataset);
  const keyLine = json.key === undefined ? null : lineOf(root.get('key', true) as Node);
  const key = json.key === undefined ? null : stringList(json.key, file, keyLine ?? 1, 'key');
  const checksNode = root.get('checks', true) as Node | undefined;
  if (checksNode === undefined) throw ruleError(file, null, 'no checks: add a list under `checks:`');
  if (!isSeq(checksNode)) throw ruleError(file, lineOf(checksNode), '`checks` must be a list');

  const rules: Rule[] = [];
  const kindCount = new Map<RuleKind, number>();
  for (const item of checksNode.items as Node[]) {
    const line = lineOf(item);
    const where = (msg: string, hint?: string) => ruleError(file, line, msg, hint);
    let entry: Record<string, unknown>;
    if (isScalar(item) && typeof item.value === 'string') entry = { [item.value]: null };
    else if (isMap(item)) entry = item.toJSON() as Record<string, unknown>;
    else throw where(`a check must be a mapping such as \`- not_null: [customer_id]\`, not ${JSON.stringify(isScalar(item) ? item.value : item.toJSON())}`);
    const kinds = Object.keys(entry).filter((k) => k !== 'severity' && k !== 'name');
    if (kinds.length !== 1) throw where(`a check holds exactly one kind (one of ${RULE_KINDS.join(', ')}), found ${kinds.length ? kinds.join(', ') : 'none'}`);
    const kind = kinds[0];
    if (!(RULE_KINDS as readonly string[]).includes(kind)) throw where(`unknown check kind ${JSON.stringify(kind)}`, `use one of ${RULE_KINDS.join(', ')}`);
    const k = kind as RuleKind;
    let args = entry[k];
    // Arguments may sit in the kind's own mapping or beside it; severity and name likewise.
    let severityRaw = entry.severity;
    let nameRaw = entry.name;
    if (args !== null && typeof args === 'object' && !Array.isArray(args)) {
      const a = { ...(args as Record<string, unknown>) };
      severityRaw ??= a.severity;
      nameRaw ??= a.name;
      delete a.severity;
      delete a.name;
      for (const arg of Object.keys(a)) if (!KIND_ARGS[k].includes(arg)) throw where(`${k}: unknown argument ${JSON.stringify(arg)}; expected ${KIND_ARGS[k].join(', ')}`);
      args = a;
    }
    const severity = (severityRaw ?? 'error') as Severity;
    if (!SEVERITIES.includes(severity)) throw where(`${k}: severity ${JSON.stringify(severityRaw)} is not valid; expected warn or error`);
    const obj = (args ?? {}) as Record<string, unknown>;
    const isObj = args !== null && typeof args === 'object' && !Array.isArray(args);
    const need = (arg: string): unknown => {
      if (!isObj || obj[arg] === undefined || obj[arg] === null) throw where(`${k} needs \`${arg}\``, `e.g. ${EXAMPLES[k]}`);
      return obj[arg];
    };
    const column = (arg = 'column'): string => {
      const v = need(arg);
      if (typeof v !== 'string' || v === '') throw where(`${k}: \`${arg}\` must be a column name`);
      return v;
    };
    const columnsArg = (): string[] => {
      const v = isObj ? (obj.columns ?? obj.column) : args;
      if (v === undefined || v === null) throw where(`${k} needs the column(s)`, `e.g. ${EXAMPLES[k]}`);
      return stringList(v, file, line, k);
    };
    const named = (base: string): string => (nameRaw === undefined ? base : String(nameRaw));
    const n = (kindCount.get(k) ?? 0) + 1;
    kindCount.set(k, n);
    const base = { line, severity };
    switch (k) {
      case 'not_null': {
        const cols = columnsArg();
        if (nameRaw !== undefined && cols.length > 1) throw where('not_null: a name can only be given to a check of one column');
        for (const c of cols) rules.push({ ...base, kind: k, column: c, name: named(`not_null_${c}`) });
        break;
      }
      case 'unique': {
        const cols = columnsArg();
        rules.push({ ...base, kind: k, columns: cols, name: named(`unique_${cols.join('_')}`) });
        break;
      }
      case 'accepted_values': {
        const c = column();
        const values = need('values');
        if (!Array.isArray(values) || values.length === 0 || !values.every(isLiteral)) throw where('accepted_values: `values` must be a non-empty list of strings, numbers or booleans');
        rules.push({ ...base, kind: k, column: c, values: values as Literal[], name: named(`accepted_values_${c}`) });
        break;
      }
      case 'range': {
        const c = column();
        if (obj.min === undefined && obj.max === undefined) throw where('range needs `min`, `max` or both', `e.g. ${EXAMPLES.range}`);
        for (const b of ['min', 'max'] as const) {
          if (obj[b] !== undefined && typeof obj[b] !== 'number' && typeof obj[b] !== 'string') throw where(`range: \`${b}\` must be a number, or a date or time in quotes`);
        }
        rules.push({ ...base, kind: k, column: c, min: obj.min as Literal | undefined, max: obj.max as Literal | undefined, name: named(`range_${c}`) });
        break;
      }
      case 'relationships': {
        const c = column();
        const to = need('to');
        if (typeof to !== 'string' || to === '') throw where('relationships: `to` must be the path of the referenced file');
        rules.push({ ...base, kind: k, column: c, to, field: column('field'), name: named(`relationships_${c}`) });
        break;
      }
      case 'freshness': {
        const c = column();
        const raw = need('max_age');
        let seconds: number;
        try {
          seconds = parseDuration(String(raw), 'max_age');
        } catch (err) {
          throw where(`freshness: ${(err as Error).message}`, 'use e.g. 90s, 30m, 1h or 2d');
        }
        rules.push({ ...base, kind: k, column: c, maxAgeSeconds: seconds, name: named(`freshness_${c}`) });
        break;
      }
      case 'row_count': {
        for (const b of ['min', 'max'] as const) {
          if (obj[b] !== undefined && (typeof obj[b] !== 'number' || !Number.isInteger(obj[b]) || (obj[b] as number) < 0)) throw where(`row_count: \`${b}\` must be a whole number`);
        }
        if (obj.min === undefined && obj.max === undefined) throw where('row_count needs `min`, `max` or both', `e.g. ${EXAMPLES.row_count}`);
        rules.push({ ...base, kind: k, min: obj.min as number | undefined, max: obj.max as number | undefined, name: named('row_count') });
        break;
      }
      case 'expression': {
        const sql = isObj ? obj.sql : args;
        if (typeof sql !== 'string' || sql.trim() === '') throw where('expression: give a SQL condition every row must meet', `e.g. ${EXAMPLES.expression}`);
        if (sql.includes(';')) throw where('expression: one SQL condition, without ";"');
        rules.push({ ...base, kind: k, sql, name: named(`expression_${n}`) });
        break;
      }
    }
  }
  const seen = new Map<string, number>();
  for (const r of rules) {
    const first = seen.get(r.name);
    if (first !== undefined) throw ruleError(file, r.line, `two checks are named ${r.name} (lines ${first} and ${r.line})`, 'give one of them another `name:`');
    seen.set(r.name, r.line);
  }
  if (rules.length === 0) throw ruleError(file, lineOf(checksNode), 'the list of checks is empty');
  return { file, dataset, key, keyLine, rules };
}

const EXAMPLES: Record<RuleKind, string> = {
  not_null: '- not_null: [customer_id, price]',
  unique: '- unique: order_id',
  accepted_values: '- accepted_values: {column: status, values: [new, paid, shipped]}',
  range: '- range: {column: price, min: 0, max: 100000}',
  relationships: '- relationships: {column: customer_id, to: customers.parquet, field: id}',
  freshness: '- freshness: {column: created_at, max_age: 1h}',
  row_count: '- row_count: {min: 1000, max: 5000000}',
  expression: '- expression: "quantity * unit_price = revenue"',
};

function isLiteral(v: unknown): v is Literal {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function stringList(v: unknown, file: string, line: number, what: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0 || !list.every((x) => typeof x === 'string' && x !== '')) throw ruleError(file, line, `${what}: expected a column name or a list of column names`);
  return list as string[];
}
