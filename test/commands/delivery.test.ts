/**
 * Delivery under faults: one spool per target, owner-only files, points stamped when built,
 * credentials never shown by any command, in text or JSON, nor written to any file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from '../helpers/cli.js';
import { freePort, startVictoriaMetrics, type VictoriaMetrics } from '../helpers/victoria.js';
import type { PushInfluxResult } from '../../src/commands/push-influx.js';
import type { JsonCase } from '../../src/core/output/render.js';

let a: VictoriaMetrics;
let b: VictoriaMetrics;
before(async () => {
  [a, b] = await Promise.all([startVictoriaMetrics(['-dedup.minScrapeInterval=1ms']), startVictoriaMetrics(['-dedup.minScrapeInterval=1ms'])]);
});
after(async () => {
  await Promise.all([a?.cleanup(), b?.cleanup()]);
});

const env0 = { PIPEOBS_VM_RETRIES: '0', PIPEOBS_VM_TIMEOUT: '2' };
const nowS = () => Math.floor(Date.now() / 1000) - 60;

/** Every file under dir, recursively, with its path relative to dir. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((n) => statSync(path.join(dir, n)).isFile());
}

test('payloads spooled for one VictoriaMetrics are never delivered to another; re-targeting is explicit', async () => {
  const cwd = tempDir();
  const t = nowS() * 1000;
  const lp = path.join(cwd, 'a.lp');
  writeFileSync(lp, Array.from({ length: 20 }, (_, i) => `for_a,i=${i % 2} v=${i} ${t + i}`).join('\n') + '\n');
  await a.stop();
  try {
    const down = await runCli(['push-influx', lp, '--precision', 'ms', '--batch-lines', '5', '-o', 'json'], { cwd, env: { ...env0, PIPEOBS_VM_URL: a.url } });
    assert.equal(down.code, 75, down.stderr);
    assert.equal((JSON.parse(down.stdout) as JsonCase<PushInfluxResult>).spooled_samples, 20);

    // a push to B delivers B's own point, and nothing of A's
    const other = await runCli(['push-influx', '--measurement', 'for_b', '--field', 'v=1', '-o', 'json'], { cwd, env: { ...env0, PIPEOBS_VM_URL: b.url } });
    assert.equal(other.code, 0, other.stderr);
    const doc = JSON.parse(other.stdout) as JsonCase<PushInfluxResult>;
    assert.equal(doc.spool_flushed?.sent_files, 0);
    assert.equal(doc.sent_samples, 1);
    assert.deepEqual(await b.exportSeries('{__name__=~"for_a.*"}'), []);

    // --flush-spool --dry-run only says what waits
    const dry = await runCli(['push-influx', '--flush-spool', '--dry-run', '-o', 'json'], { cwd, env: { ...env0, PIPEOBS_VM_URL: b.url } });
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual((JSON.parse(dry.stdout) as PushInfluxResult).spool_waiting?.map((w) => [w.target, w.files, w.samples]), [[a.url, 4, 20]]);
    // --flush-spool against B shows what waits for A, and where
    const shown = await runCli(['push-influx', '--flush-spool'], { cwd, env: { ...env0, PIPEOBS_VM_URL: b.url } });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^waiting in the spool:\\n  ${a.url.replace(/\./g, '\\.')}: 4 batches \\(20 samples, [^)]+\\), oldest from \\d{4}-\\d\\d-\\d\\dT[^,]+, in ${cwd}/spool/127\\.0\\.0\\.1_${a.port}-[0-9a-f]{10}\\n`));
    assert.match(shown.stdout, /--flush-spool --retarget-from <target>/);
    const json = JSON.parse((await runCli(['push-influx', '--flush-spool', '-o', 'json'], { cwd, env: { ...env0, PIPEOBS_VM_URL: b.url } })).stdout) as JsonCase<PushInfluxResult>;
    assert.deepEqual(json.spool_waiting?.map((w) => [w.target, w.files, w.samples]), [[a.url, 4, 20]]);
    assert.deepEqual(await b.exportSeries('{__name__=~"for_a.*"}'), []);

    // owner-only: the directories 0700, every file 0600
    const root = path.join(cwd, 'spool');
    assert.equal(statSync(root).mode & 0o777, 0o700);
    for (const d of readdirSync(root)) assert.equal(statSync(path.join(root, d)).mode & 0o777, 0o700, d);
    const files = filesUnder(root);
    assert.equal(files.filter((f) => f.endsWith('-5s.influx-ms.txt')).length, 4);
    for (const f of files) assert.equal(statSync(path.join(root, f)).mode & 0o777, 0o600, f);

    // explicitly re-targeted: A's samples go to B, at their own timestamps, once
    const moved = await runCli(['push-influx', '--flush-spool', '--retarget-from', `${a.url}/`, '-o', 'json'], { cwd, env: { ...env0, PIPEOBS_VM_URL: b.url } });
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal((JSON.parse(moved.stdout) as JsonCase<PushInfluxResult>).spool_flushed?.sent_samples, 20);
    const series = await b.exportWhen('for_a_v', (r) => r.reduce((n, s) => n + s.values.length, 0) >= 20);
    assert.deepEqual(series.flatMap((s) => s.timestamps).sort(), Array.from({ length: 20 }, (_, i) => t + i));
    assert.deepEqual(series.flatMap((s) => s.values).sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i));
  } finally {
    await a.start();
  }
  const usage = await runCli(['push-influx', lp, '--retarget-from', a.url], { cwd, env: { PIPEOBS_VM_URL: b.url } });
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--retarget-from goes with --flush-spool/);
});

test('a point built from flags is stamped when it is built: spooled, it is stored at that time, not at delivery', async () => {
  const cwd = tempDir();
  const built = new Date(Math.floor(Date.now() / 1000) * 1000 - 120_000); // two minutes ago, on the clock of the run
  await a.stop();
  try {
    const r = await runCli(['push-influx', '--measurement', 'stamped', '--field', 'rows=1200i', '--tag', 'job=cron', '--precision', 'ms'], { cwd, env: { ...env0, PIPEOBS_VM_URL: a.url }, now: () => built });
    assert.equal(r.code, 75, r.stderr);
    const spooled = filesUnder(path.join(cwd, 'spool')).filter((f) => f.endsWith('.txt'));
    assert.equal(spooled.length, 1);
    assert.equal(readFileSync(path.join(cwd, 'spool', spooled[0]), 'utf8'), `stamped,job=cron rows=1200i ${built.getTime()}\n`);
  } finally {
    await a.start();
  }
  const flushed = await runCli(['push-influx', '--flush-spool', '-o', 'json'], { cwd, env: { ...env0, PIPEOBS_VM_URL: a.url } });
  assert.equal(flushed.code, 0, flushed.stderr);
  const series = await a.exportWhen('stamped_rows', (s) => s.length === 1);
  assert.deepEqual(series[0].timestamps, [built.getTime()]);
  assert.deepEqual(series[0].values, [1200]);
});

test('--dry-run -o json prints one JSON document and nothing else', async () => {
  const cwd = tempDir();
  const lp = path.join(cwd, 'x.lp');
  writeFileSync(lp, `dry,a=1 v=1 ${nowS()}\ndry,a=2 v=2 ${nowS()}\n`);
  const r = await runCli(['push-influx', lp, '--precision', 's', '--dry-run', '-o', 'json'], { cwd });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as JsonCase<PushInfluxResult>;
  assert.equal(doc.dry_run, true);
  assert.equal(doc.samples, 2);
  assert.equal(doc.sent_samples, 0);
  const text = await runCli(['push-influx', lp, '--precision', 's', '--dry-run'], { cwd });
  assert.equal(text.stdout, readFileSync(lp, 'utf8'));
  assert.match(text.stderr, /would send 1 batches/);
});

test('credentials in URLs are never shown by any command, in text or JSON, nor written to a file', async () => {
  const secrets = ['vm-pw-s3cret', 'vmuser', 'llm-s3cret', 'llmuser', 'key-s3cret', 'cfg-s3cret', 'cfguser'];
  const downPort = await freePort();
  const withCreds = (vm: string) => vm.replace('http://', 'http://vmuser:vm-pw-s3cret@');
  const up = { PIPEOBS_VM_URL: withCreds(a.url) };
  const down = { PIPEOBS_VM_URL: withCreds(`http://127.0.0.1:${downPort}`) };
  const badConfig = { PIPEOBS_VM_URL: 'http://cfguser:cfg-s3cret@bad host:1' };
  const llm = { OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: `http://llmuser:llm-s3cret@127.0.0.1:${downPort}/v1?api_key=key-s3cret`, PIPEOBS_LLM_TIMEOUT: '2' };
  const cwd = tempDir();
  const lp = path.join(cwd, 'c.lp');
  writeFileSync(lp, `creds v=1 ${nowS()}\n`);
  const logs = path.join(cwd, 'app.log');
  assert.equal((await runCli(['gen-logs', '--lines', '50', '--since', '-10m', '--out', logs], { cwd })).code, 0);

  const cases: { name: string; argv: string[]; env: Record<string, string>; code: number; shows: RegExp }[] = [
    { name: 'push-influx, delivered', argv: ['push-influx', lp, '--precision', 's'], env: up, code: 0, shows: /http:\/\/\*\*\*@127\.0\.0\.1:\d+/ },
    { name: 'push-influx, spooled', argv: ['push-influx', lp, '--precision', 's'], env: down, code: 75, shows: /http:\/\/\*\*\*@127\.0\.0\.1:\d+/ },
    { name: 'push-influx --flush-spool', argv: ['push-influx', '--flush-spool'], env: down, code: 4, shows: /http:\/\/\*\*\*@127\.0\.0\.1:\d+/ },
    { name: 'run-pipeline, VictoriaMetrics down', argv: ['run-pipeline', '--once', '--rows', '50', '--push', 'prometheus', '--metrics-port', '0'], env: down, code: 0, shows: /http:\/\/\*\*\*@127\.0\.0\.1:\d+/ },
    { name: 'run-pipeline, delivered', argv: ['run-pipeline', '--once', '--rows', '50', '--push', 'prometheus', '--metrics-port', '0'], env: up, code: 0, shows: /http:\/\/\*\*\*@127\.0\.0\.1:\d+/ },
    { name: 'query, down', argv: ['query', 'up'], env: down, code: 4, shows: /http:\/\/\*\*\*@127\.0\.0\.1:\d+\/api\/v1\/query/ },
    { name: 'query --debug, down: retries and the stack trace', argv: ['query', 'up', '--debug'], env: { ...down, PIPEOBS_VM_RETRIES: '1' }, code: 4, shows: /debug: retrying query up at http:\/\/\*\*\*@127\.0\.0\.1:\d+\/api\/v1\/query in \d+ ms[^]*\n    at / },
    { name: 'export-parquet, down', argv: ['export-parquet', '--out', path.join(cwd, 'export')], env: down, code: 4, shows: /http:\/\/\*\*\*@127\.0\.0\.1:\d+/ },
    { name: 'export-parquet, exported', argv: ['export-parquet', '--out', path.join(cwd, 'exported'), '--incremental', '--safety-lag', '1s'], env: up, code: 0, shows: /./ },
    { name: 'ask, LLM unusable: answered offline with a warning', argv: ['ask', 'how many rows?'], env: { ...up, ...llm }, code: 0, shows: /http:\/\/\*\*\*@127\.0\.0\.1:\d+\/v1\?api_key=\*\*\*/ },
    { name: 'monitor-logs, bad configuration', argv: ['monitor-logs', logs], env: badConfig, code: 3, shows: /PIPEOBS_VM_URL=http:\/\/\*\*\*@bad host:1 is not a URL/ },
    { name: 'verify, bad configuration', argv: ['verify'], env: badConfig, code: 3, shows: /PIPEOBS_VM_URL=http:\/\/\*\*\*@bad host:1 is not a URL/ },
    { name: 'query, bad configuration', argv: ['query', 'up'], env: badConfig, code: 3, shows: /PIPEOBS_VM_URL=http:\/\/\*\*\*@bad host:1 is not a URL/ },
  ];
  for (const c of cases) {
    for (const output of ['text', 'json']) {
      const r = await runCli([...c.argv, '-o', output], { cwd, env: { ...env0, ...c.env } });
      const all = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.code, c.code, `${c.name} (${output}): ${all}`);
      for (const s of secrets) assert.ok(!all.includes(s), `${c.name} (${output}) shows ${s}:\n${all}`);
      assert.match(all, c.shows, `${c.name} (${output})`);
      if (output === 'json') JSON.parse(r.stdout); // one document, even on error
    }
  }
  // a chat goes on after a failed question; its error is redacted too
  const chat = await runCli(['ask'], { cwd, env: { ...env0, ...up, ...llm }, stdin: 'how many rows?\n' });
  assert.match(chat.stderr, /(error|warning): cannot reach the LLM server at http:\/\/\*\*\*@127\.0\.0\.1:\d+\/v1\?api_key=\*\*\*/);
  for (const secret of secrets) assert.ok(!chat.stderr.includes(secret) && !chat.stdout.includes(secret), `ask chat shows ${secret}:\n${chat.stderr}`);
  // and monitor-logs --server pushing to an unreachable VictoriaMetrics says so without the password
  let stop: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
  const server = runCli(['monitor-logs', logs, '--server', '--port', '0', '--no-state', '--start-at', 'beginning', '--interval', '1s', '--push', 'prometheus'], {
    cwd, env: { ...env0, ...down }, onSignalRegistered: (f) => (stop = f),
  });
  await new Promise((r) => setTimeout(r, 2500));
  stop!('SIGTERM');
  const s = await server;
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stderr, /warning: cannot reach VictoriaMetrics at http:\/\/\*\*\*@127\.0\.0\.1:\d+\/.*; (\d+) samples kept in .*-\1s\.prom\.txt/);
  for (const secret of secrets) assert.ok(!s.stderr.includes(secret) && !s.stdout.includes(secret), `monitor-logs --server shows ${secret}`);

  // nothing written under the working directory (spool, outputs, state) holds a credential
  for (const f of filesUnder(cwd)) {
    const content = readFileSync(path.join(cwd, f), 'latin1');
    for (const secret of secrets) assert.ok(!content.includes(secret), `${f} holds ${secret}`);
  }
});

test('a spool that cannot be read: push-influx says so (exit 3); run-pipeline still delivers, with a warning', async () => {
  const { Spool } = await import('../../src/core/spool/spool.js');
  const cwd = tempDir();
  const dir = new Spool(path.join(cwd, 'spool')).forTarget(a.url).dir;
  mkdirSync(path.dirname(dir), { recursive: true });
  writeFileSync(dir, 'not a directory');
  const lp = path.join(cwd, 'x.lp');
  writeFileSync(lp, `unreadable v=1 ${nowS()}\n`);
  const r = await runCli(['push-influx', lp, '--precision', 's'], { cwd, env: { ...env0, PIPEOBS_VM_URL: a.url } });
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stderr, `error: cannot read the spool ${dir} (ENOTDIR)\nhint: fix its owner and permissions (it should be yours, mode 0700), or point PIPEOBS_SPOOL_DIR elsewhere\n`);
  const run = await runCli(['run-pipeline', '--once', '--rows', '50', '--push', 'prometheus', '--metrics-port', '0', '--pipeline-name', 'unreadable', '-o', 'json'], { cwd, env: { ...env0, PIPEOBS_VM_URL: a.url } });
  assert.equal(run.code, 0, run.stderr);
  const doc = JSON.parse(run.stdout) as { metrics: { push: { pushes: { sent: boolean }[] } } };
  assert.deepEqual(doc.metrics.push.pushes.map((p) => p.sent), [true, true]);
  assert.match(run.stderr, /warning: delivered, but what waits in the spool stays there: cannot read the spool .* \(ENOTDIR\)/);
});

test('files spooled by a version with one spool for all targets wait as "unknown" until re-targeted on purpose', async () => {
  const cwd = tempDir();
  const t = nowS() * 1000;
  mkdirSync(path.join(cwd, 'spool'), { mode: 0o755 });
  writeFileSync(path.join(cwd, 'spool', '1700000000000-000000-abcd1234.influx-ms.txt'), `legacy v=7 ${t}\nlegacy v=8 ${t + 1}\n`);
  const env = { ...env0, PIPEOBS_VM_URL: a.url };
  const shown = await runCli(['push-influx', '--flush-spool'], { cwd, env });
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`^waiting in the spool:\\n  unknown: 1 batches \\(\\d+ B\\), oldest from 2023-11-14T22:13:20\\.000Z, in ${cwd}/spool\\n`));
  assert.deepEqual(await a.exportSeries('legacy_v'), []);
  const moved = await runCli(['push-influx', '--flush-spool', '--retarget-from', 'unknown', '-o', 'json'], { cwd, env });
  assert.equal(moved.code, 0, moved.stderr);
  const doc = JSON.parse(moved.stdout) as JsonCase<PushInfluxResult>;
  assert.equal(doc.spool_flushed?.sent_files, 1);
  assert.deepEqual(doc.spool_waiting, []);
  const series = await a.exportWhen('legacy_v', (s) => s.length === 1 && s[0].values.length === 2);
  assert.deepEqual(series[0].timestamps, [t, t + 1]);
});

test('a .gz input that breaks off midway: exit 2 naming the file, after a summary of what was read and sent', async () => {
  const { gzipSync } = await import('node:zlib');
  const cwd = tempDir();
  const t = nowS();
  const whole = gzipSync(Array.from({ length: 5000 }, (_, i) => `broken_gz,i=i${i % 7} v=${i} ${t}`).join('\n') + '\n');
  const gz = path.join(cwd, 'cut.lp.gz');
  writeFileSync(gz, whole.subarray(0, Math.floor(whole.length / 2)));
  const r = await runCli(['push-influx', gz, '--precision', 's', '-o', 'json'], { cwd, env: { ...env0, PIPEOBS_VM_URL: a.url } });
  assert.equal(r.code, 2, r.stderr);
  const doc = JSON.parse(r.stdout) as JsonCase<PushInfluxResult>;
  assert.ok(doc.lines > 0 && doc.lines < 5000, String(doc.lines));
  assert.equal(doc.sent_samples, doc.samples);
  assert.match(r.stderr, new RegExp(`^error: cannot read ${gz.replace(/\./g, '\\.')} to its end after ${doc.lines.toLocaleString('en')} lines: .*unexpected end of file`, 'm'));
  assert.doesNotMatch(r.stderr, /internal error/);
});
