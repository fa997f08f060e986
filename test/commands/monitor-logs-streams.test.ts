/**
 * monitor-logs on inputs that are not regular files, as a user runs it (the built bin/pipeobs,
 * real signals): a FIFO, process substitution (a /dev/fd path), /dev/zero; signals honoured
 * while a read waits; the report covers what was read before the signal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { runCli, tempDir } from '../helpers/cli.js';
import { requireBinary } from '../helpers/victoria.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(root, 'bin', 'pipeobs');
const NOW = '2026-11-21T12:00:00Z';

function kafkaLines(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += `{"timestamp": "2026-11-21T10:${String(i % 60).padStart(2, '0')}:00Z", "consumer_lag": ${i}, "topic": "orders", "partition": ${i % 3}, "consumer_group": "g", "latency_ms": 2}\n`;
  return s;
}

function mkfifo(dir: string): string {
  const fifo = path.join(dir, 'in.fifo');
  const r = spawnSync(requireBinary('mkfifo', 'coreutils'), [fifo]);
  assert.equal(r.status, 0, String(r.stderr));
  return fifo;
}

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }>;
}

function run(command: string, args: string[], cwd: string): Run {
  const started = Date.now();
  const child = spawn(command, args, { cwd, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started })),
  );
  return { child, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a FIFO is read as a stream: every line, plain or gzip', async () => {
  for (const gzip of [false, true]) {
    const dir = tempDir();
    const fifo = mkfifo(dir);
    const data = path.join(dir, 'data');
    writeFileSync(data, gzip ? gzipSync(kafkaLines(1000)) : kafkaLines(1000));
    const reader = run(process.execPath, [bin, 'monitor-logs', fifo, '-o', 'json', '--now', NOW], dir);
    await sleep(300); // the reader waits for a writer
    const writer = run('sh', ['-c', `cat "${data}" > "${fifo}"`], dir);
    const r = await reader.done;
    if (writer.child.exitCode === null) writer.child.kill('SIGKILL'); // no reader came: do not hang
    assert.equal((await writer.done).code, 0);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.summary.lines_read, 1000, `gzip ${gzip}`);
    assert.equal(report.summary.lines_used, 1000);
    assert.deepEqual(report.inputs.map((i: { lines: number }) => i.lines), [1000]);
  }
});

test('process substitution (a /dev/fd path) is read as a stream', async () => {
  const dir = tempDir();
  const data = path.join(dir, 'app.log');
  writeFileSync(data, kafkaLines(2500));
  const r = await run(requireBinary('bash', 'bash'), ['-c', `"${process.execPath}" "${bin}" monitor-logs <(gzip -c "${data}") <(cat "${data}") -o json --now ${NOW}`], dir).done;
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.summary.lines_read, 5000);
  assert.deepEqual(report.inputs.map((i: { lines: number }) => i.lines), [2500, 2500]);
});

test('SIGTERM while waiting on a FIFO without writer: stops at once with the report (exit 130)', async () => {
  const dir = tempDir();
  const fifo = mkfifo(dir);
  const reader = run(process.execPath, [bin, 'monitor-logs', fifo, '-o', 'json', '--now', NOW], dir);
  await sleep(700);
  reader.child.kill('SIGTERM');
  const r = await reader.done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /SIGTERM: stopping; reporting the lines read so far/);
  assert.match(r.stderr, /interrupted: the report covers the 0 lines read before the signal/);
  const report = JSON.parse(r.stdout);
  assert.equal(report.interrupted, true);
  assert.equal(report.summary.lines_read, 0);
});

test('SIGINT while a writer holds the FIFO open but is silent: the lines read so far are reported', async () => {
  const dir = tempDir();
  const fifo = mkfifo(dir);
  const data = path.join(dir, 'data');
  writeFileSync(data, kafkaLines(300));
  const reader = run(process.execPath, [bin, 'monitor-logs', fifo, '-o', 'json', '--now', NOW], dir);
  const writer = spawn('sh', ['-c', `exec 3>"${fifo}"; cat "${data}" >&3; exec sleep 30`], { stdio: 'ignore' });
  try {
    await sleep(1500);
    reader.child.kill('SIGINT');
    const r = await reader.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted: the report covers the 300 lines read before the signal/);
    const report = JSON.parse(r.stdout);
    assert.equal(report.summary.lines_used, 300);
  } finally {
    writer.kill('SIGKILL');
  }
});

test('SIGTERM while reading /dev/zero (one endless line): stops at the first signal', async () => {
  const dir = tempDir();
  const reader = run(process.execPath, [bin, 'monitor-logs', '/dev/zero', '-o', 'json', '--now', NOW, '--max-line-bytes', '1000'], dir);
  await sleep(800);
  reader.child.kill('SIGTERM');
  const r = await reader.done;
  assert.equal(r.code, 130, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.summary.lines_read, 1, 'the endless line, counted once as too long');
  assert.equal(report.summary.lines_used, 0);
});

test('monitor-logs --server says a FIFO cannot be followed, follows the files, and stops on a signal', async () => {
  const dir = tempDir();
  const fifo = mkfifo(dir);
  writeFileSync(path.join(dir, 'app.log'), kafkaLines(40));
  let fire: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
  const server = runCli(['monitor-logs', fifo, 'app.log', '--server', '--port', '0', '--poll', '50ms', '--interval', '1h', '--start-at', 'beginning', '--no-state', '-o', 'json'], {
    cwd: dir,
    onSignalRegistered: (f) => (fire = f),
  });
  await sleep(800);
  fire!('SIGTERM');
  const r = await server;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`${fifo.replace(/[.]/g, '\\.')} is a FIFO: it cannot be followed with --server; read it without --server`));
  assert.match(r.stderr, /following 1 file\(s\)/);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!).summary.lines_used, 40);
});

test('a gzip stream cut short, as a file and through a pipe: the lines before the break are reported, with the error', async () => {
  const dir = tempDir();
  const whole = gzipSync(kafkaLines(20_000));
  const broken = path.join(dir, 'cut.log.gz');
  writeFileSync(broken, whole.subarray(0, Math.floor(whole.length / 2)));
  // Complete lines in what can be decompressed, counted by Python's zlib.
  const py = spawnSync(requireBinary('python3', 'python3'), ['-c', `import zlib,sys\nd=zlib.decompressobj(wbits=31)\nprint(d.decompress(open(sys.argv[1],'rb').read()).count(b'\\n'))`, broken], { encoding: 'utf8' });
  const expected = Number(py.stdout.trim());
  assert.ok(expected > 1000 && expected < 20_000, py.stderr);
  for (const input of [broken, `<(cat "${broken}")`]) {
    const r = await run(requireBinary('bash', 'bash'), ['-c', `"${process.execPath}" "${bin}" monitor-logs ${input} -o json --now ${NOW}`], dir).done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`stopped after ${expected} lines: unexpected end of file`));
    const report = JSON.parse(r.stdout);
    assert.equal(report.summary.lines_used, expected, input);
    assert.equal(report.inputs[0].error, 'unexpected end of file');
  }
});
