/**
 * export-parquet and query against curl on the same server, in the same run (issues 4 and 17).
 * - export of 2,000,000 samples (a million-line push of two fields): wall time against curl
 *   fetching the same /api/v1/export to a file (median of BENCH_ROUNDS, default 3; target 4x);
 *   Parquet size against the JSON export's size (target a quarter).
 * - export of 10,000,000 samples: peak memory (target under 400 MB).
 * - start-up, medians of 10 runs taken side by side (each round runs every command once):
 *   `node -e 0`, curl of an instant query, `pipeobs query` of the same instant vector (target:
 *   within 40 ms of node -e 0 plus curl), `pipeobs --version` (target: within 30 ms of node -e 0),
 *   and every command's --help. With BENCH_BEFORE_BIN=<path to another checkout's bin/pipeobs>
 *   (built), the same is timed for that build in the same rounds, so "no --help got slower" is
 *   read side by side.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startVictoriaMetrics, type VictoriaMetrics } from '../test/helpers/victoria.js';
import { COMMAND_NAMES } from '../src/cli.js';
import { BIN, median, requireTool, round, saveResult, timed } from './common.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BIG = Number(process.env.BENCH_BIG_SAMPLES ?? 10_000_000);
/** Lines of two fields pushed for the export race (2 samples each); smaller only to try the benchmark. */
const EXPORT_LINES = Number(process.env.BENCH_EXPORT_LINES ?? 1_000_000);
const STARTUP_ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 10);
const BEFORE_BIN = process.env.BENCH_BEFORE_BIN;

/**
 * Medians of commands run round-robin (one of each per round, so load on a shared machine falls
 * on all of them alike), in milliseconds.
 */
async function sideBySide(commands: Record<string, [string, string[]]>, rounds: number): Promise<Record<string, number>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  const env = { ...process.env, CI: 'true' };
  for (let r = 0; r < rounds; r++) {
    for (const [name, [cmd, args]] of Object.entries(commands)) {
      const t = await timed(cmd, args, env);
      // The other build may not have a command this one has (exec, check): no figure for it.
      if (t.code !== 0 && name.startsWith('before ')) continue;
      if (t.code !== 0) throw new Error(`${name} failed (${t.code}): ${t.stderr}`);
      times[name].push(t.wallSeconds * 1000);
    }
  }
  return Object.fromEntries(Object.entries(times).filter(([, v]) => v.length > 0).map(([k, v]) => [k, round(median(v), 1)]));
}

/** Pushes `lines` lines of two fields each (2 x lines samples) over `series` series, ending an hour ago. */
async function load(vm: VictoriaMetrics, lines: number, name: string, series = 200): Promise<void> {
  const end = Date.now() - 3_600_000;
  const perSeries = Math.ceil(lines / series);
  const batch = 200_000;
  for (let from = 0; from < lines; from += batch) {
    let body = '';
    for (let i = from; i < Math.min(lines, from + batch); i++) {
      body += `${name},host=h${i % series},dc=d${i % 4} value=${((i * 0.37) % 1000).toFixed(3)},count=${i}i ${end - (perSeries - Math.floor(i / series)) * 1000}\n`;
    }
    const res = await fetch(`${vm.url}/write?precision=ms`, { method: 'POST', body });
    if (res.status !== 204) throw new Error(`push failed: ${res.status}`);
  }
  await vm.queryWhen(`sum(count_over_time({__name__=~"${name}_.*"}[30d]))`, (r) => r.length === 1 && Number(r[0].value[1]) === 2 * lines, 120_000);
}

export async function benchExportQuery() {
  const curl = requireTool('curl', 'curl');
  const vm = await startVictoriaMetrics();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeobs-bench-'));
  try {
    await load(vm, EXPORT_LINES, 'exp');
    const match = '{__name__=~"exp_.*"}';
    const start = String(Math.floor(Date.now() / 1000) - 30 * 86_400);
    const exportRuns: { curl: number; pipeobs: number; rss: number; parquet: number; json: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const jsonFile = path.join(dir, `export-${r}.jsonl`);
      const c = await timed(curl, ['-sf', '-o', jsonFile, '--data-urlencode', `match[]=${match}`, '-d', `start=${start}`, `${vm.url}/api/v1/export`]);
      const out = path.join(dir, `pq-${r}`);
      const p = await timed(process.execPath, [BIN, '--vm-url', vm.url, 'export-parquet', '--out', out, '--match', match, '--start', start, '-o', 'json'], { ...process.env, CI: 'true' });
      if (p.code !== 0) throw new Error(p.stderr);
      const doc = JSON.parse(p.stdout) as { samples: number; bytes: number };
      if (doc.samples !== 2 * EXPORT_LINES) throw new Error(`exported ${doc.samples} samples`);
      exportRuns.push({ curl: c.wallSeconds, pipeobs: p.wallSeconds, rss: p.maxRssMb, parquet: doc.bytes, json: statSync(jsonFile).size });
      process.stderr.write(`export round ${r + 1}: curl ${round(c.wallSeconds, 3)} s, pipeobs ${round(p.wallSeconds, 3)} s, ${round(p.maxRssMb, 0)} MB\n`);
    }
    // Start-up: an instant query next to node -e 0 and curl; --version; every command's --help.
    const q = 'sum by (dc) (exp_value)';
    const t = String(Math.floor(Date.now() / 1000) - 3_600_000 / 1000);
    const pipeobs = (bin: string, args: string[]): [string, string[]] => [process.execPath, [bin, ...args]];
    const startupCommands: Record<string, [string, string[]]> = {
      node: [process.execPath, ['-e', '0']],
      curl: [curl, ['-sf', '-o', '/dev/null', '--data-urlencode', `query=${q}`, '-d', `time=${t}`, `${vm.url}/api/v1/query`]],
      query: pipeobs(BIN, ['--vm-url', vm.url, 'query', q, '--time', t, '-o', 'json']),
      version: pipeobs(BIN, ['--version']),
      help: pipeobs(BIN, ['--help']),
      ...Object.fromEntries(COMMAND_NAMES.map((c) => [`help ${c}`, pipeobs(BIN, [c, '--help'])])),
    };
    if (BEFORE_BIN) {
      Object.assign(startupCommands, {
        'before query': pipeobs(BEFORE_BIN, ['--vm-url', vm.url, 'query', q, '--time', t, '-o', 'json']),
        'before version': pipeobs(BEFORE_BIN, ['--version']),
        'before help': pipeobs(BEFORE_BIN, ['--help']),
        ...Object.fromEntries(COMMAND_NAMES.map((c) => [`before help ${c}`, pipeobs(BEFORE_BIN, [c, '--help'])])),
      });
    }
    const startup = await sideBySide(startupCommands, STARTUP_ROUNDS);
    process.stderr.write(`start-up medians (ms): ${JSON.stringify(startup)}\n`);
    const helpTimes = Object.fromEntries(['help', ...COMMAND_NAMES.map((c) => `help ${c}`)].map((k) => [k, { ms: startup[k], before_ms: startup[`before ${k}`] ?? null }]));
    // Memory on a big export.
    await load(vm, BIG / 2, 'big', 1000);
    const bigOut = path.join(dir, 'big');
    const big = await timed(process.execPath, [BIN, '--vm-url', vm.url, 'export-parquet', '--out', bigOut, '--match', '{__name__=~"big_.*"}', '--start', start, '-o', 'json'], { ...process.env, CI: 'true' });
    if (big.code !== 0) throw new Error(big.stderr);
    const bigDoc = JSON.parse(big.stdout) as { samples: number; bytes: number; json_bytes: number };
    const diskUsage = spawnSync('du', ['-sb', bigOut], { encoding: 'utf8' }).stdout.split('\t')[0];
    process.stderr.write(`export of ${bigDoc.samples} samples: ${round(big.wallSeconds, 1)} s, ${round(big.maxRssMb, 0)} MB\n`);
    const result = {
      export_2m: {
        samples: 2 * EXPORT_LINES,
        curl_seconds: round(median(exportRuns.map((x) => x.curl)), 3),
        pipeobs_seconds: round(median(exportRuns.map((x) => x.pipeobs)), 3),
        ratio: round(median(exportRuns.map((x) => x.pipeobs)) / median(exportRuns.map((x) => x.curl)), 1),
        parquet_bytes: exportRuns[0].parquet,
        json_bytes: exportRuns[0].json,
        size_ratio: round(exportRuns[0].parquet / exportRuns[0].json, 3),
        peak_rss_mb: round(Math.max(...exportRuns.map((x) => x.rss)), 0),
        targets: { ratio: 4, size_ratio: 0.25 },
      },
      export_big: { samples: bigDoc.samples, seconds: round(big.wallSeconds, 1), peak_rss_mb: round(big.maxRssMb, 0), parquet_bytes: Number(diskUsage), json_bytes: bigDoc.json_bytes, target_rss_mb: 400 },
      query_instant: {
        node_ms: startup.node,
        curl_ms: startup.curl,
        pipeobs_ms: startup.query,
        before_pipeobs_ms: startup['before query'] ?? null,
        difference_ms: round(startup.query - startup.node - startup.curl, 1),
        target_difference_ms: 40,
      },
      version: { pipeobs_ms: startup.version, before_pipeobs_ms: startup['before version'] ?? null, node_ms: startup.node, difference_ms: round(startup.version - startup.node, 1), target_difference_ms: 30 },
      help: helpTimes,
      rounds: { export: ROUNDS, startup: STARTUP_ROUNDS },
    };
    saveResult('export-query', result);
    return result;
  } finally {
    await vm.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchExportQuery(), null, 2));
}
