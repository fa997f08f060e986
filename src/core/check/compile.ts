/**
 * Rules compiled to SQL. Every row-level rule becomes one aggregate of ONE statement
 * (`count(*) FILTER (WHERE <row fails>)`), so the data is scanned once whatever the number of
 * rules (a `unique` rule is a grouped sub-select of that statement, reading only its key
 * columns); failing examples are fetched afterwards, only for the rules that failed.
 * Rules are checked against the dataset's columns and types first: an unknown column or a
 * type the rule cannot apply to is a configuration error naming the rule and its line.
 */
import { quoteIdent, quoteLiteral } from '../analytics/duckdb.js';
import { ruleError, type Literal, type Rule, type RuleSet } from './rules.js';

export interface Column {
  name: string;
  type: string;
}

export type TypeClass = 'numeric' | 'text' | 'temporal' | 'boolean' | 'other';

export function typeClass(type: string): TypeClass {
  const t = type.toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL)/.test(t)) return 'numeric';
  if (/^(VARCHAR|TEXT|STRING|CHAR|BPCHAR)/.test(t)) return 'text';
  if (/^(DATE|TIMESTAMP|TIME\b|TIMESTAMPTZ|DATETIME)/.test(t)) return 'temporal';
  if (t === 'BOOLEAN') return 'boolean';
  return 'other';
}

/** What a relationships rule refers to, resolved by the caller (a file read with DuckDB). */
export interface Reference {
  sql: string;
  columns: Column[];
}

export interface CompiledRule {
  rule: Rule;
  /** Alias of the aggregate in the scan: failing rows, or the dataset-level value (max timestamp). */
  alias: string | null;
  /** The query that lists a few failing rows, run only when the rule failed; null when none is needed. */
  examplesSql: string | null;
  /** The scan's column that already holds the examples (unique). */
  examplesAlias?: string;
}

export interface Plan {
  scanSql: string;
  rules: CompiledRule[];
  /** Literals DuckDB must be able to cast (dates in range bounds): checked before the scan, naming the rule. */
  casts: { rule: Rule; sql: string }[];
}

export const EXAMPLES_LIMIT = 5;
const T = 't';
const col = (name: string) => `${T}.${quoteIdent(name)}`;

function literal(v: Literal): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  return quoteLiteral(v);
}

export function compileRules(set: RuleSet, columns: readonly Column[], refs: ReadonlyMap<string, Reference>, sourceSql: string): Plan {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const err = (rule: Rule, msg: string, hint?: string) => ruleError(set.file, rule.line, `${rule.kind} (${rule.name}): ${msg}`, hint);
  const known = columns.map((c) => c.name).join(', ');
  const need = (rule: Rule, name: string): Column => {
    const c = byName.get(name);
    if (!c) throw err(rule, `column ${JSON.stringify(name)} is not in the dataset`, `its columns: ${known}`);
    return c;
  };
  const key = set.key ?? set.rules.find((r) => r.kind === 'unique')?.columns ?? null;
  if (set.key) for (const k of set.key) if (!byName.has(k)) throw ruleError(set.file, set.keyLine, `key: column ${JSON.stringify(k)} is not in the dataset`, `its columns: ${known}`);

  const aggregates: string[] = ['count(*) AS "rows"'];
  const subSelects: string[] = [];
  const joins: string[] = [];
  const out: CompiledRule[] = [];
  const casts: Plan['casts'] = [];
  const from = `${sourceSql} AS ${T}`;
  /** Columns shown for a failing row: the key, then the checked columns. */
  const shown = (cols: string[]) => [...new Set([...(key ?? []), ...cols])].map((c) => col(c)).join(', ');
  const rowRule = (rule: Rule, fails: string, exampleCols: string[] | null, joinSql = '') => {
    const alias = `f${out.length}`;
    aggregates.push(`count(*) FILTER (WHERE ${fails}) AS ${alias}`);
    const select = exampleCols === null ? `${T}.*` : shown(exampleCols);
    out.push({ rule, alias, examplesSql: `SELECT ${select} FROM ${from}${joinSql} WHERE ${fails} LIMIT ${EXAMPLES_LIMIT}` });
  };

  for (const rule of set.rules) {
    switch (rule.kind) {
      case 'not_null':
        need(rule, rule.column);
        rowRule(rule, `${col(rule.column)} IS NULL`, [rule.column]);
        break;
      case 'unique': {
        for (const c of rule.columns) need(rule, c);
        const alias = `f${out.length}`;
        // A grouped sub-select of the same statement (DuckDB reads only the key columns for it): it
        // counts the rows that repeat a key already seen (every copy after the first) and keeps the
        // five most repeated keys as examples, so no second pass is needed. NULL key parts are not compared.
        const copies = rule.columns.includes('copies') ? '_copies' : 'copies';
        const names = rule.columns.map((c, i) => `${col(c)} AS k${i}`).join(', ');
        const present = rule.columns.map((c) => `${col(c)} IS NOT NULL`).join(' AND ');
        const example = `{${[...rule.columns.map((c, i) => `${quoteLiteral(c)}: k${i}`), `${quoteLiteral(copies)}: n`].join(', ')}}`;
        subSelects.push(
          `(SELECT coalesce(sum(n) - count(*), 0) AS ${alias}, max_by(${example}, n, ${EXAMPLES_LIMIT}) FILTER (WHERE n > 1) AS ${alias}_examples` +
            ` FROM (SELECT ${names}, count(*) AS n FROM ${from} WHERE ${present} GROUP BY ALL)) AS u${out.length}`,
        );
        out.push({ rule, alias, examplesSql: null, examplesAlias: `${alias}_examples` });
        break;
      }
      case 'accepted_values': {
        const c = need(rule, rule.column);
        const cls = typeClass(c.type);
        let target = col(rule.column);
        let values: string[];
        if (cls === 'numeric') {
          const bad = rule.values.find((v) => typeof v !== 'number');
          if (bad !== undefined) throw err(rule, `column ${rule.column} is ${c.type} but the value ${JSON.stringify(bad)} is not a number`, 'compare numbers with numbers, or use an expression');
          values = rule.values.map(literal);
        } else if (cls === 'boolean') {
          const bad = rule.values.find((v) => typeof v !== 'boolean');
          if (bad !== undefined) throw err(rule, `column ${rule.column} is BOOLEAN but the value ${JSON.stringify(bad)} is not true or false`);
          values = rule.values.map(literal);
        } else {
          // Text (and anything else, compared as its text): YAML numbers become their text.
          if (cls !== 'text') target = `CAST(${target} AS VARCHAR)`;
          values = rule.values.map((v) => quoteLiteral(String(v)));
        }
        rowRule(rule, `${col(rule.column)} IS NOT NULL AND ${target} NOT IN (${values.join(', ')})`, [rule.column]);
        break;
      }
      case 'range': {
        const c = need(rule, rule.column);
        const cls = typeClass(c.type);
        const bound = (v: Literal | undefined, which: string): string | null => {
          if (v === undefined) return null;
          if (cls === 'numeric') {
            if (typeof v !== 'number') throw err(rule, `column ${rule.column} is ${c.type} but ${which} ${JSON.stringify(v)} is not a number`);
            return String(v);
          }
          if (cls === 'temporal') {
            if (typeof v !== 'string') throw err(rule, `column ${rule.column} is ${c.type}: give ${which} as a date or time in quotes, e.g. "2026-01-01"`);
            const sql = `CAST(${quoteLiteral(v)} AS ${c.type})`;
            casts.push({ rule, sql });
            return sql;
          }
          throw err(rule, `range needs a numeric, date or time column, but ${rule.column} is ${c.type}`, 'use accepted_values or an expression for text');
        };
        const lo = bound(rule.min, 'min');
        const hi = bound(rule.max, 'max');
        const parts = [lo ? `${col(rule.column)} < ${lo}` : null, hi ? `${col(rule.column)} > ${hi}` : null].filter(Boolean);
        rowRule(rule, `(${parts.join(' OR ')})`, [rule.column]);
        break;
      }
      case 'relationships': {
        const c = need(rule, rule.column);
        const ref = refs.get(rule.name);
        if (!ref) throw new Error(`no reference resolved for ${rule.name}`);
        const f = ref.columns.find((x) => x.name === rule.field);
        if (!f) throw err(rule, `column ${JSON.stringify(rule.field)} is not in ${rule.to}`, `its columns: ${ref.columns.map((x) => x.name).join(', ')}`);
        const a = typeClass(c.type);
        const b = typeClass(f.type);
        if (a !== b || a === 'other') throw err(rule, `${rule.column} is ${c.type} but ${rule.to} ${rule.field} is ${f.type}: they cannot be compared`);
        const r = `r${out.length}`;
        const k = `__pipeobs_key_${out.length}`;
        const join = ` LEFT JOIN (SELECT DISTINCT ${quoteIdent(rule.field)} AS ${k} FROM ${ref.sql}) AS ${r} ON ${col(rule.column)} = ${r}.${k}`;
        joins.push(join);
        rowRule(rule, `${col(rule.column)} IS NOT NULL AND ${r}.${k} IS NULL`, [rule.column], join);
        break;
      }
      case 'expression':
        // As dbt's expression_is_true: a row fails when the condition is false; NULL is not a failure.
        rowRule(rule, `NOT (${rule.sql})`, key ? [] : null);
        break;
      case 'freshness': {
        const c = need(rule, rule.column);
        if (typeClass(c.type) !== 'temporal' || /^TIME\b/i.test(c.type)) {
          throw err(rule, `freshness needs a date or timestamp column, but ${rule.column} is ${c.type}`);
        }
        const alias = `f${out.length}`;
        aggregates.push(`epoch_ms(CAST(max(${col(rule.column)}) AS TIMESTAMP)) AS ${alias}`);
        out.push({ rule, alias, examplesSql: null });
        break;
      }
      case 'row_count':
        out.push({ rule, alias: null, examplesSql: null });
        break;
    }
  }
  const main = `SELECT ${aggregates.join(',\n  ')}\nFROM ${from}${joins.join('')}`;
  const scanSql = subSelects.length === 0 ? main : `SELECT * FROM (${main}) AS m,\n${subSelects.join(',\n')}`;
  return { scanSql, rules: out, casts };
}
