/**
 * monitor-logs, batch and server (issue 3), side by side with mtail (one-shot mode, the
 * equivalent programs in bench/mtail/) and `wc -l` as the floor, in one run:
 * - 1,000,000 Kafka-format JSON lines (~270 MB) and 1,000,000 lines of all formats mixed;
 * - 1,000,000 lines of Python logging's stock layouts, read as a built-in format and through a
 *   user's regular expression (--format-file), pipeobs only (mtail has no such program here);
 * - peak memory on 10,000,000 lines;
 * - server mode: how fast it takes in lines appended to a followed file.
 * Targets: ≥ 1,000,000 lines/s batch (Python's layout too), ≥ 300,000 lines/s through a user
 * regex format, < 300 MB peak, server ≥ 200,000 appended lines/s.
 */
import { createWriteStream, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { generateLogLines, type GenFormat } from '../src/core/logs/generate.js';
import { freePort, waitFor } from '../test/helpers/victoria.js';
import { BIN, ROOT, median, requireTool, round, saveResult, timed } from './common.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BIG_LINES = Number(process.env.BENCH_BIG_LINES ?? 10_000_000);
/** A day of logs, reported with --hours 24 (the month case spreads lines over 30 days). */
const END = Date.UTC(2026, 10, 22);
const NOW = new Date(END).toISOString();

async function writeLogs(file: string, formats: GenFormat[], lines: number, seed: number, days = 1): Promise<void> {
  const out = createWriteStream(file);
  for (const block of generateLogLines({ formats, lines, startMs: END - days * 86_400_000, endMs: END - 1, errorRate: 0.02, lag: 'growing', confidenceDrift: 0.2, seed }, 20_000)) {
    if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await new Promise<void>((r) => out.once('finish', () => r()));
}

const report = (file: string, extra: string[] = [], hours = 24) => [BIN, 'monitor-logs', file, '--hours', String(hours), '--now', NOW, '-o', 'json', ...extra];

/** What a report costs apart from reading lines: Node.js starting and pipeobs loading, on a 400-line file. */
async function startup(): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = await timed(process.execPath, [BIN, 'monitor-logs', path.join(ROOT, 'examples', 'logs', 'ml', 'predictions.log'), '--now', '2026-11-21T12:00:00Z', '-o', 'json'], { ...process.env, CI: 'true' });
    if (t.code !== 0) throw new Error(`pipeobs failed: ${t.stderr}`);
    runs.push(t.wallSeconds);
  }
  return median(runs);
}

async function batch(name: string, file: string, program: string, lines: number, startSeconds: number) {
  const mtail = requireTool('mtail', 'mtail');
  const runs: Record<string, number[]> = { wc: [], pipeobs: [], pipeobs_one_thread: [] };
  let rss = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const wc = await timed('wc', ['-l', file]);
    if (Number(wc.stdout.trim().split(/\s+/)[0]) !== lines) throw new Error(`wc counted ${wc.stdout}`);
    runs.wc.push(wc.wallSeconds);
    for (const [key, extra] of [['pipeobs', []], ['pipeobs_one_thread', ['--workers', '1']]] as const) {
      const p = await timed(process.execPath, report(file, [...extra]), { ...process.env, CI: 'true' });
      if (p.code !== 0) throw new Error(`pipeobs failed: ${p.stderr}`);
      const doc = JSON.parse(p.stdout);
      if (doc.summary.lines_used !== lines) throw new Error(`pipeobs used ${doc.summary.lines_used} of ${lines} lines`);
      runs[key].push(p.wallSeconds);
      if (key === 'pipeobs') rss = Math.max(rss, p.maxRssMb);
    }
    process.stderr.write(`monitor-logs ${name} round ${r + 1}: wc ${round(runs.wc[r], 3)} s, pipeobs ${round(runs.pipeobs[r], 3)} s, one thread ${round(runs.pipeobs_one_thread[r], 3)} s\n`);
  }
  // mtail once: it takes tens of seconds. Its count of Kafka lines (or all lines) is checked.
  const m = await timed(mtail, ['--one_shot', '--one_shot_format', 'prometheus', '--progs', path.join(ROOT, 'bench', 'mtail', program), '--logs', file, '--logtostderr']);
  if (m.code !== 0) throw new Error(`mtail failed: ${m.stderr.slice(-500)}`);
  const counted = m.stdout.split('\n').filter((l) => /^(kafka_lines|ml_predictions|airflow_lines)\{/.test(l)).reduce((a, l) => a + Number(l.split(' ').pop()), 0);
  if (counted !== lines) throw new Error(`mtail counted ${counted} of ${lines} lines`);
  process.stderr.write(`monitor-logs ${name}: mtail ${round(m.wallSeconds, 2)} s\n`);
  const pipeobs = median(runs.pipeobs);
  return {
    lines,
    bytes: (await import('node:fs')).statSync(file).size,
    wc_seconds: round(median(runs.wc), 3),
    pipeobs_seconds: round(pipeobs, 3),
    pipeobs_one_thread_seconds: round(median(runs.pipeobs_one_thread), 3),
    mtail_seconds: round(m.wallSeconds, 2),
    pipeobs_lines_per_second: Math.round(lines / pipeobs),
    pipeobs_lines_per_second_after_startup: Math.round(lines / (pipeobs - startSeconds)),
    pipeobs_vs_wc: round(pipeobs / median(runs.wc), 1),
    mtail_vs_pipeobs: round(m.wallSeconds / pipeobs, 1),
    pipeobs_peak_rss_mb: round(rss, 1),
    runs,
  };
}

/** pipeobs alone on a file (default threads and one thread), with wc -l as the floor. */
async function pipeobsOnly(name: string, file: string, lines: number, extra: string[]) {
  const runs: Record<string, number[]> = { wc: [], pipeobs: [], pipeobs_one_thread: [] };
  let rss = 0;
  for (let r = 0; r < ROUNDS; r++) {
    runs.wc.push((await timed('wc', ['-l', file])).wallSeconds);
    for (const [key, threads] of [['pipeobs', []], ['pipeobs_one_thread', ['--workers', '1']]] as const) {
      const p = await timed(process.execPath, report(file, [...extra, ...threads]), { ...process.env, CI: 'true' });
      if (p.code !== 0) throw new Error(`pipeobs failed: ${p.stderr}`);
      const doc = JSON.parse(p.stdout);
      if (doc.summary.lines_used !== lines) throw new Error(`pipeobs used ${doc.summary.lines_used} of ${lines} lines`);
      runs[key].push(p.wallSeconds);
      if (key === 'pipeobs') rss = Math.max(rss, p.maxRssMb);
    }
    process.stderr.write(`monitor-logs ${name} round ${r + 1}: wc ${round(runs.wc[r], 3)} s, pipeobs ${round(runs.pipeobs[r], 3)} s, one thread ${round(runs.pipeobs_one_thread[r], 3)} s\n`);
  }
  const pipeobs = median(runs.pipeobs);
  return {
    lines,
    wc_seconds: round(median(runs.wc), 3),
    pipeobs_seconds: round(pipeobs, 3),
    pipeobs_one_thread_seconds: round(median(runs.pipeobs_one_thread), 3),
    pipeobs_lines_per_second: Math.round(lines / pipeobs),
    pipeobs_one_thread_lines_per_second: Math.round(lines / median(runs.pipeobs_one_thread)),
    pipeobs_peak_rss_mb: round(rss, 1),
    runs,
  };
}

/** The example: Python's stock layouts through the user's regular expressions, phrases by regex. */
const FIELDS = `    group: [logger]
    fields:
      records: 'Records ingested: (?<value>\\d+)'
      latency_ms: 'took (?<value>[\\d.]+) ?ms'
`;
const PYTHON_FORMAT_FILE = `formats:
  - name: dashes
    component: ingest
    regex: '^(?<time>\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3}) - (?<logger>\\S+) - (?<level>[A-Z]+) - (?<message>.*)$'
${FIELDS}  - name: colon
    component: ingest
    regex: '^(?<time>\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3}) (?<level>[A-Z]+) (?<logger>\\S+): (?<message>.*)$'
${FIELDS}`;

/** Lines appended to a followed file as fast as the writer can, until /metrics has counted them all. */
async function server(dir: string) {
  const lines = 2_000_000;
  const file = path.join(dir, 'live.log');
  writeFileSync(file, '');
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'monitor-logs', file, '--server', '--port', String(port), '--no-state', '--poll', '50ms', '--interval', '1h', '-o', 'json'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CI: 'true' } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const counted = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    const text = await res.text();
    return [...text.matchAll(/^pipeobs_logs_lines_total\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
  };
  try {
    await waitFor('monitor-logs --server to serve /metrics', async () => (await counted()) === 0, 15_000);
    const blocks = [...generateLogLines({ formats: ['kafka'], lines, startMs: Date.now() - 3_600_000, endMs: Date.now(), errorRate: 0.02, lag: 'steady', confidenceDrift: 0, seed: 4 }, 50_000)];
    const t0 = performance.now();
    let writtenAt = 0;
    for (const b of blocks) appendFileSync(file, b);
    writtenAt = (performance.now() - t0) / 1000;
    await waitFor('all appended lines counted', async () => (await counted()) === lines, 120_000);
    const seconds = (performance.now() - t0) / 1000;
    return { appended_lines: lines, writer_seconds: round(writtenAt, 3), all_counted_after_seconds: round(seconds, 3), lines_per_second: Math.round(lines / seconds) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    if (stderr.includes('error')) process.stderr.write(stderr);
  }
}

export async function benchMonitorLogs() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeobs-bench-logs-'));
  try {
    const kafkaFile = path.join(dir, 'kafka.log');
    const mixedFile = path.join(dir, 'mixed.log');
    await writeLogs(kafkaFile, ['kafka'], 1_000_000, 1);
    await writeLogs(mixedFile, ['kafka', 'ml', 'airflow', 'airflow-text'], 1_000_000, 2);
    const startSeconds = await startup();
    process.stderr.write(`monitor-logs start-up (a 400-line report): ${round(startSeconds, 3)} s\n`);
    const kafka = await batch('kafka', kafkaFile, 'kafka.mtail', 1_000_000, startSeconds);
    const mixed = await batch('mixed', mixedFile, 'mixed.mtail', 1_000_000, startSeconds);
    rmSync(kafkaFile);
    rmSync(mixedFile);
    const pythonFile = path.join(dir, 'python.log');
    await writeLogs(pythonFile, ['python'], 1_000_000, 6);
    const python = await pipeobsOnly('python', pythonFile, 1_000_000, []);
    const formatFile = path.join(dir, 'formats.yaml');
    writeFileSync(formatFile, PYTHON_FORMAT_FILE);
    const userRegex = await pipeobsOnly('user regex', pythonFile, 1_000_000, ['--format-file', formatFile]);
    rmSync(pythonFile);
    // A month of logs: 30 × 24 hours for each of 58 groups, the most rows a report holds here.
    const monthFile = path.join(dir, 'month.log');
    await writeLogs(monthFile, ['kafka', 'ml', 'airflow', 'airflow-text'], 1_000_000, 5, 30);
    const month = await timed(process.execPath, report(monthFile, [], 720), { ...process.env, CI: 'true' });
    if (month.code !== 0 || JSON.parse(month.stdout).summary.lines_used !== 1_000_000) throw new Error(`the month report failed: ${month.stderr}`);
    rmSync(monthFile);
    process.stderr.write(`monitor-logs month: ${round(month.wallSeconds, 2)} s, ${round(month.maxRssMb, 1)} MB\n`);
    const bigFile = path.join(dir, 'big.log');
    await writeLogs(bigFile, ['kafka', 'ml', 'airflow', 'airflow-text'], BIG_LINES, 3);
    const big = await timed(process.execPath, report(bigFile), { ...process.env, CI: 'true' });
    if (big.code !== 0 || JSON.parse(big.stdout).summary.lines_used !== BIG_LINES) throw new Error(`the ${BIG_LINES}-line report failed: ${big.stderr}`);
    rmSync(bigFile);
    process.stderr.write(`monitor-logs ${BIG_LINES} lines: ${round(big.wallSeconds, 2)} s, ${round(big.maxRssMb, 1)} MB\n`);
    const live = await server(dir);
    process.stderr.write(`monitor-logs --server: ${live.lines_per_second} lines/s\n`);
    const result = {
      machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model}`,
      rounds: ROUNDS,
      startup_seconds: round(startSeconds, 3),
      kafka_1m: kafka,
      mixed_1m: mixed,
      python_1m: python,
      user_regex_1m: userRegex,
      month_1m: { lines: 1_000_000, hours: 720, seconds: round(month.wallSeconds, 2), peak_rss_mb: round(month.maxRssMb, 1), rows: 'every component × group × hour: ~40,000' },
      big: { lines: BIG_LINES, seconds: round(big.wallSeconds, 2), lines_per_second: Math.round(BIG_LINES / big.wallSeconds), peak_rss_mb: round(big.maxRssMb, 1) },
      server: live,
      targets: { lines_per_second: 1_000_000, user_regex_lines_per_second: 300_000, peak_rss_mb: 300, server_lines_per_second: 200_000 },
    };
    saveResult('monitor-logs', result);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchMonitorLogs(), null, 2));
}
