/**
 * One JSON casing: every document a command prints with --output json (results and errors) has
 * snake_case keys and a schema_version, except inside maps keyed by data (label names, reasons),
 * which are named in DATA_MAP_PROPERTIES and printed as they are.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from './helpers/cli.js';
import { startVictoriaMetrics, type VictoriaMetrics } from './helpers/victoria.js';
import { DATA_MAP_PROPERTIES, snakeCase, renderJson } from '../src/core/output/render.js';

let vm: VictoriaMetrics;
before(async () => {
  vm = await startVictoriaMetrics();
});
after(async () => {
  await vm?.cleanup();
});

/** Every key of a JSON document that is not snake_case, with its path. */
function badKeys(doc: unknown, at = '$'): string[] {
  if (Array.isArray(doc)) return doc.flatMap((x, i) => badKeys(x, `${at}[${i}]`));
  if (doc === null || typeof doc !== 'object') return [];
  return Object.entries(doc).flatMap(([k, v]) => {
    const here = `${at}.${k}`;
    const own = /^[a-z][a-z0-9_]*$/.test(k) ? [] : [here];
    return [...own, ...(DATA_MAP_PROPERTIES.has(k) ? [] : badKeys(v, here))];
  });
}

test('snakeCase and renderJson: camelCase becomes snake_case, data maps keep their keys', () => {
  assert.equal(snakeCase('validLines'), 'valid_lines');
  assert.equal(snakeCase('rowsPerSecond'), 'rows_per_second');
  assert.equal(snakeCase('schema_version'), 'schema_version');
  assert.equal(snakeCase('p95'), 'p95');
  const doc = JSON.parse(renderJson({ runId: 'a', labels: { myLabel: 'x', job: 'y' }, invalidByReason: { 'field "x": not a number': 2 }, at: new Date(0), n: 3n,
    tables: { myTable: { columns: ['myCol'], rows: [{ myCol: 1 }] } } }));
  assert.deepEqual(doc, { run_id: 'a', labels: { myLabel: 'x', job: 'y' }, invalid_by_reason: { 'field "x": not a number': 2 }, at: '1970-01-01T00:00:00.000Z', n: 3,
    tables: { myTable: { columns: ['myCol'], rows: [{ myCol: 1 }] } } });
});

test('every command\'s --output json, results and errors alike, is snake_case with a schema_version', { timeout: 180_000 }, async () => {
  const dir = tempDir();
  const env = { PIPEOBS_VM_URL: vm.url, PIPEOBS_METRICS_PORT: '0' };
  writeFileSync(path.join(dir, 'in.lp'), 'cpu,host=a usage=1 1700000000000000000\ncpu,host=a usage=x 1700000000000000000\n');
  const gen = await runCli(['gen-logs', '--lines', '300', '--seed', '3', '--out', path.join(dir, 'app.log')], { cwd: dir });
  assert.equal(gen.code, 0, gen.stderr);
  const commands: string[][] = [
    ['run-pipeline', '--once', '--rows', '200', '--seed', '1', '--no-metrics-server', '--push', 'prometheus', '-o', 'json'],
    ['push-influx', 'in.lp', '--skip-invalid', '-o', 'json'],
    // push-influx --dry-run -o json joins this list once dry runs stop writing lines into the JSON.
    ['monitor-logs', 'app.log', '-o', 'json'],
    ['query', 'pipeline_runs_total', '-o', 'json'],
    ['query', 'pipeline_runs_total', '--since', '1h', '-o', 'json'],
    ['query', '--report', 'summary', '--since', '1h', '-o', 'json'],
    ['query', '--report', 'business', '--since', '1h', '-o', 'json'],
    ['export-parquet', '--out', path.join(dir, 'export'), '--since', '2h', '-o', 'json'],
    ['ask', 'how many runs failed in the last hour?', '-o', 'json'],
    ['verify', '--skip', 'vmagent,vmalert,grafana,llm', '-o', 'json'],
    // Errors in JSON mode: a usage error, an unreachable server.
    ['query', 'sum(', '-o', 'json'],
    ['query', 'up', '--vm-url', 'http://127.0.0.1:9', '-o', 'json'],
  ];
  for (const argv of commands) {
    const r = await runCli(argv, { cwd: dir, env });
    const label = argv.join(' ');
    let doc: unknown;
    assert.doesNotThrow(() => { doc = JSON.parse(r.stdout); }, `${label}: stdout is one JSON document (exit ${r.code}): ${r.stdout.slice(0, 200)} ${r.stderr}`);
    assert.deepEqual(badKeys(doc), [], `${label}: keys not in snake_case`);
    const top = doc as Record<string, unknown>;
    if (!('error' in top)) assert.equal(typeof top.schema_version, 'number', `${label}: schema_version`);
  }
});
