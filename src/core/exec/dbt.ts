/**
 * dbt's target/run_results.json read into the catalog's metrics, for `exec --dbt-results`:
 * rows each model affected, models that errored, and the share of tests that passed. Pure:
 * text in, summary out; the caller checks that this run wrote the file.
 */
import type { Sample } from '../metrics/registry.js';
import { sample, type Labels } from './one-shot.js';

export interface DbtSummary {
  file: string;
  models: number;
  models_failed: number;
  /** rows_affected summed over the models that report it (not every adapter does). */
  rows_affected: number;
  tests: number;
  tests_passed: number;
  tests_failed: number;
  tests_warned: number;
  failing_tests: string[];
  /** Per model with rows_affected: name → rows. */
  model_rows: Record<string, number>;
}

interface DbtResult {
  unique_id?: unknown;
  status?: unknown;
  adapter_response?: { rows_affected?: unknown };
}

const NODE_KINDS = ['model.', 'seed.', 'snapshot.'];

/** The node's name: the last part of model.project.name (tests keep their full generated name). */
function nodeName(uniqueId: string): string {
  const parts = uniqueId.split('.');
  return parts.length >= 3 ? parts.slice(2).join('.') : uniqueId;
}

/** Parses run_results.json; returns the summary or the reason it cannot be read. */
export function parseDbtRunResults(text: string, file: string): DbtSummary | string {
  let doc: { results?: unknown };
  try {
    doc = JSON.parse(text) as { results?: unknown };
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  if (!doc || !Array.isArray(doc.results)) return 'no "results" list: is this dbt\'s run_results.json?';
  const s: DbtSummary = { file, models: 0, models_failed: 0, rows_affected: 0, tests: 0, tests_passed: 0, tests_failed: 0, tests_warned: 0, failing_tests: [], model_rows: {} };
  for (const r of doc.results as DbtResult[]) {
    const id = typeof r.unique_id === 'string' ? r.unique_id : '';
    const status = String(r.status ?? '');
    if (id.startsWith('test.')) {
      if (status === 'skipped') continue;
      s.tests++;
      if (status === 'pass') s.tests_passed++;
      else if (status === 'warn') s.tests_warned++;
      else {
        s.tests_failed++;
        s.failing_tests.push(nodeName(id));
      }
    } else if (NODE_KINDS.some((k) => id.startsWith(k))) {
      if (status === 'skipped') continue;
      s.models++;
      if (status === 'error' || status === 'fail') s.models_failed++;
      const rows = r.adapter_response?.rows_affected;
      if (typeof rows === 'number' && Number.isFinite(rows) && rows >= 0) {
        s.model_rows[nodeName(id)] = rows;
        s.rows_affected += rows;
      }
    }
  }
  return s;
}

/**
 * The summary as catalog samples: rows per model (pipeline_rows_processed_total, data_source = the
 * model), models that errored and tests that failed (pipeline_errors_total), and the share of tests
 * that passed or only warned (pipeline_data_quality_score{check_type="dbt_tests"}).
 */
export function dbtSamples(s: DbtSummary, staged: Labels, base: Labels): Sample[] {
  const out: Sample[] = [];
  for (const [model, rows] of Object.entries(s.model_rows)) out.push(sample('pipeline_rows_processed_total', { ...staged, data_source: model }, rows));
  out.push(sample('pipeline_errors_total', { ...staged, error_type: 'dbt_model_error' }, s.models_failed));
  out.push(sample('pipeline_errors_total', { ...staged, error_type: 'dbt_test_failed' }, s.tests_failed));
  if (s.tests > 0) {
    const ok = s.tests_passed + s.tests_warned;
    const score = ok === s.tests ? 100 : Math.min(99.99, Math.round((10_000 * ok) / s.tests) / 100);
    out.push(sample('pipeline_data_quality_score', { ...base, check_type: 'dbt_tests' }, score));
  }
  return out;
}
