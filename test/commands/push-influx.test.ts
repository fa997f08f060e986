import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { JsonCase } from '../../src/core/output/render.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { startVictoriaMetrics, type VictoriaMetrics } from '../helpers/victoria.js';
import type { PushInfluxResult } from '../../src/commands/push-influx.js';

let vm: VictoriaMetrics;
before(async () => {
  vm = await startVictoriaMetrics();
});
after(async () => {
  await vm?.cleanup();
});

const nowS = () => Math.floor(Date.now() / 1000) - 60;

async function push(args: string[], opts: { stdin?: string | Buffer; cwd?: string; env?: Record<string, string> } = {}) {
  const cwd = opts.cwd ?? tempDir();
  const r = await runCli(['push-influx', ...args], { cwd, stdin: opts.stdin, env: { PIPEOBS_VM_URL: vm.url, ...opts.env } });
  return { ...r, cwd };
}

/** Payload files in the spool, in every target's directory. */
function spooledFiles(cwd: string): string[] {
  const root = path.join(cwd, 'spool');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.txt')).map((n) => path.basename(n));
}

function file(cwd: string, name: string, content: string | Buffer): string {
  const p = path.join(cwd, name);
  writeFileSync(p, content);
  return p;
}

test('invalid lines are reported by file and line and not sent; every valid line is sent; exit 5', async () => {
  const cwd = tempDir();
  const t = nowS();
  const lp = file(cwd, 'mixed.lp', [
    `mixed,host=a v=1 ${t}`,
    'mixed,host=b v="text"',
    `mixed,host=c v=3,w=4i ${t}`,
    'not a line',
    '',
    '# comment',
    `mixed,host=d v=abc ${t}`,
    `mixed,host=e v=5 ${t}`,
  ].join('\n'));
  const r = await push(['--precision', 's', lp, '-o', 'json'], { cwd });
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, new RegExp(`${lp}:2: field "v" is a string; VictoriaMetrics stores it as 0`));
  assert.match(r.stderr, new RegExp(`${lp}:4: field "a" has no "="`)); // measurement "not", field "a", timestamp "line"
  assert.match(r.stderr, new RegExp(`${lp}:7: field "v": "abc" is not a number`));
  assert.match(r.stderr, /error: 3 of 8 lines are invalid and were not sent \(first: .*mixed.lp:2: /);
  const doc = JSON.parse(r.stdout) as JsonCase<PushInfluxResult>;
  assert.equal(doc.lines, 8);
  assert.equal(doc.valid_lines, 3);
  assert.equal(doc.invalid_lines, 3);
  assert.equal(doc.samples, 4);
  assert.deepEqual(doc.invalid.map((i) => i.line), [2, 4, 7]);
  const series = await vm.exportWhen('{__name__=~"mixed_.*"}', (s) => s.length >= 4);
  assert.deepEqual(series.map((s) => `${s.metric.__name__}/${s.metric.host}=${s.values.join()}`).sort(), ['mixed_v/a=1', 'mixed_v/c=3', 'mixed_v/e=5', 'mixed_w/c=4']);

  const skip = await push(['--precision', 's', lp, '--skip-invalid'], { cwd });
  assert.equal(skip.code, 0, skip.stderr);
  assert.match(skip.stdout, /8 lines read: 3 valid \(4 samples\), 3 invalid/);
});

test('empty input is an error naming the input', async () => {
  const cwd = tempDir();
  const empty = file(cwd, 'empty.lp', '');
  const r = await push([empty], { cwd });
  assert.equal(r.code, 5);
  assert.match(r.stderr, new RegExp(`error: no data in the input \\(${empty}\\): it is empty`));
  const comments = await push(['-'], { stdin: '# only a comment\n\n' });
  assert.equal(comments.code, 5);
  assert.match(comments.stderr, /no data in the input \(-\): only blank or comment lines/);
  const missing = await push([path.join(cwd, 'nope.lp')], { cwd });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read .*nope.lp: no such file/);
});

test('binary garbage and a 10 MB line are reported, and the valid lines around them are sent', async () => {
  const cwd = tempDir();
  const t = nowS();
  // Random bytes with their line breaks kept, but no blank lines, spaces or '#': every garbage line is invalid.
  const garbage = randomBytes(64 * 1024);
  for (let i = 0; i < garbage.length; i++) {
    if (garbage[i] === 0x20 || garbage[i] === 0x23 || (garbage[i] === 0x0a && (i === 0 || i === garbage.length - 1 || garbage[i - 1] === 0x0a))) garbage[i] = 0x01;
  }
  const content = Buffer.concat([
    Buffer.from(`garbage_test,pos=first v=1 ${t}\n`),
    garbage,
    Buffer.from(`\ngarbage_test,pos=middle v=2 ${t}\n`),
    Buffer.from('x'.repeat(10 * 1024 * 1024)),
    Buffer.from(`\ngarbage_test,pos=last v=3 ${t}`), // truncated: no final newline
  ]);
  const f = file(cwd, 'garbage.lp', content);
  const r = await push(['--precision', 's', f, '-o', 'json'], { cwd });
  assert.equal(r.code, 5, r.stderr);
  const doc = JSON.parse(r.stdout) as JsonCase<PushInfluxResult>;
  assert.equal(doc.valid_lines, 3);
  assert.ok(doc.invalid_lines >= 2);
  assert.equal(doc.invalid_lines, doc.lines - 3);
  assert.equal(doc.invalid_by_reason["line is N bytes, longer than the N-byte limit (VictoriaMetrics' -influx.maxLineSize)"], 1);
  assert.match(r.stderr, /:2: .*; VictoriaMetrics drops the line\n/); // garbage without a space: VictoriaMetrics finds no fields
  assert.match(r.stderr, new RegExp(`… and ${doc.invalid_lines - 20} more invalid lines`));
  const series = await vm.exportWhen('garbage_test_v', (s) => s.length >= 3);
  assert.deepEqual(series.map((s) => `${s.metric.pos}=${s.values[0]}`).sort(), ['first=1', 'last=3', 'middle=2']);
});

test('--dry-run prints exactly the valid lines (a line without a timestamp gets the time it was read) and sends nothing', async () => {
  const before = Date.now();
  const r = await push(['-', '--dry-run'], { stdin: 'dry_run_only v=1 1795000000000000000\nbad\ndry_run_only w=2i\n' });
  assert.equal(r.code, 5);
  const m = /^dry_run_only v=1 1795000000000000000\ndry_run_only w=2i (\d+)\n$/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.ok(Number(BigInt(m[1]) / 1_000_000n) >= before && Number(BigInt(m[1]) / 1_000_000n) <= Date.now(), m[1]);
  assert.match(r.stderr, /\(stdin\):2: /);
  assert.match(r.stderr, /would send 1 batches/);
  await new Promise((res) => setTimeout(res, 1500));
  assert.deepEqual(await vm.exportSeries('{__name__=~"dry_run_only.*"}'), []);
});

test('a point from flags: hostile tag values survive exactly, as one series', async () => {
  const hostile = 'a b,c=d "q" \\back\\slash ünï 🚀';
  const ts = new Date(Date.now() - 120_000).toISOString();
  const r = await push(['--measurement', 'flag point', '--tag', `pipeline_name=${hostile}`, '--tag', 'k=v=w', '--field', 'rows=1200i', '--field', 'duration=3.25', '--field', 'ok=true', '--timestamp', ts, '--precision', 'ms', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const series = await vm.exportWhen('{__name__=~"flag point_.*"}', (s) => s.length >= 3);
  assert.deepEqual(
    series.map((s) => [s.metric.__name__, s.metric.pipeline_name, s.metric.k, s.values[0], s.timestamps[0]]).sort(),
    [
      ['flag point_duration', hostile, 'v=w', 3.25, Date.parse(ts)],
      ['flag point_ok', hostile, 'v=w', 1, Date.parse(ts)],
      ['flag point_rows', hostile, 'v=w', 1200, Date.parse(ts)],
    ],
  );
  const bad = await push(['--measurement', 'm', '--tag', 'a=x\ny', '--field', 'v=1']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /line break/);
  const str = await push(['--measurement', 'm', '--field', 'v="s"']);
  assert.equal(str.code, 2);
  assert.match(str.stderr, /field v: is a string/);
  const noField = await push(['--measurement', 'm']);
  assert.equal(noField.code, 2);
  assert.match(noField.stderr, /a point needs at least one --field/);
});

test('gzip files and gzip request bodies arrive intact, in several batches', async () => {
  const cwd = tempDir();
  const t = nowS();
  const lines = Array.from({ length: 2500 }, (_, i) => `gz_batch,part=p${i % 5} v=${i} ${t * 1000 + i}`).join('\n') + '\n';
  const f = file(cwd, 'batch.lp.gz', gzipSync(lines));
  const r = await push([f, '--precision', 'ms', '--gzip', '--batch-lines', '1000', '-o', 'json'], { cwd });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as JsonCase<PushInfluxResult>;
  assert.equal(doc.batches, 3);
  assert.equal(doc.sent_batches, 3);
  const series = await vm.exportWhen('gz_batch_v', (s) => s.reduce((n, x) => n + x.values.length, 0) >= 2500);
  assert.equal(series.length, 5);
  assert.equal(series.reduce((n, x) => n + x.values.reduce((a, b) => a + b, 0), 0), (2499 * 2500) / 2);
});

test('with VictoriaMetrics down, batches wait in the spool (exit 75, never "sent"); --flush-spool delivers each exactly once', async () => {
  const cwd = tempDir();
  const env = { PIPEOBS_VM_RETRIES: '0' };
  const t = nowS();
  const f = file(cwd, 'spool.lp', Array.from({ length: 30 }, (_, i) => `spool_influx,n=n${i % 3} v=${i} ${t * 1000 + i}`).join('\n'));
  await vm.stop();
  try {
    const down = await push([f, '--precision', 'ms', '--batch-lines', '10', '-o', 'json'], { cwd, env });
    assert.equal(down.code, 75, down.stderr);
    const doc = JSON.parse(down.stdout) as JsonCase<PushInfluxResult>;
    assert.equal(doc.spooled_batches, 3);
    assert.equal(doc.spooled_samples, 30);
    assert.equal(doc.sent_batches, 0);
    assert.equal(doc.sent_samples, 0);
    assert.match(down.stderr, /error: VictoriaMetrics at http:\/\/127\.0\.0\.1:\d+ is unreachable \(.*\): 30 samples in 3 batches wait in .*spool\/127\.0\.0\.1_\d+-[0-9a-f]{10}\n/);
    assert.match(down.stderr, /hint: .*do not send the same input again/);
    assert.equal(spooledFiles(cwd).filter((n) => n.endsWith('.influx-ms.txt')).length, 3);
    const text = await push([f, '--precision', 'ms', '--batch-lines', '10'], { cwd, env });
    assert.equal(text.code, 75);
    assert.doesNotMatch(text.stdout, /\bsent\b/);
    assert.match(text.stdout, /delivered 0 of 3 batches \(0 samples\)/);
    assert.match(text.stdout, /VictoriaMetrics unreachable: 3 batches \(30 samples\) kept in .*, not delivered yet/);
    const noSpool = await push([f, '--precision', 'ms', '--no-spool'], { cwd, env });
    assert.equal(noSpool.code, 4);
    assert.match(noSpool.stderr, /cannot reach VictoriaMetrics at .*\/write/);
    const stillDown = await push(['--flush-spool'], { cwd, env });
    assert.equal(stillDown.code, 4);
    assert.match(stillDown.stderr, /6 spooled batches still wait in/);
    assert.match(stillDown.stdout, /^waiting in the spool:\n  http:\/\/127\.0\.0\.1:\d+: 6 batches \(60 samples, .*\), oldest from \d{4}-/);
  } finally {
    await vm.start();
  }
  const up = await push(['--flush-spool', '-o', 'json'], { cwd, env });
  assert.equal(up.code, 0, up.stderr);
  const upDoc = JSON.parse(up.stdout) as JsonCase<PushInfluxResult>;
  assert.equal(upDoc.spool_flushed?.sent_files, 6);
  assert.equal(upDoc.spool_flushed?.sent_samples, 60);
  assert.deepEqual(upDoc.spool_waiting, []);
  assert.deepEqual(spooledFiles(cwd), []);
  const again = await push(['--flush-spool'], { cwd, env });
  assert.equal(again.code, 0);
  assert.match(again.stdout, /^nothing waits in the spool \(.*spool\)\n$/);
  // the same 30 lines spooled twice: stored once each, at their own timestamps (VictoriaMetrics keeps
  // both copies without deduplication; with -dedup.minScrapeInterval=1ms it would keep one)
  const series = await vm.exportWhen('spool_influx_v', (s) => s.reduce((n, x) => n + x.values.length, 0) >= 60);
  const all = series.flatMap((s) => s.values).sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 30 }, (_, i) => [i, i]).flat());
  assert.deepEqual([...new Set(series.flatMap((s) => s.timestamps))].sort(), Array.from({ length: 30 }, (_, i) => t * 1000 + i));
});

/** A dry run prints the lines it would send, then the JSON summary. */
function dryRunJson(stdout: string): PushInfluxResult {
  return JSON.parse(stdout.startsWith('{') ? stdout : stdout.slice(stdout.indexOf('\n{') + 1)) as PushInfluxResult;
}

test('--dry-run reads the retention from VictoriaMetrics, names the precision a timestamp looks like, and says when it cannot read the retention', async () => {
  const short = await startVictoriaMetrics(['-retentionPeriod=2d']);
  try {
    const nowMs = Date.now();
    const input = [
      `dry_retention v=1 ${(nowMs - 3600_000) * 1_000_000}`, // an hour ago: kept
      `dry_retention v=2 ${(nowMs - 3 * 86_400_000) * 1_000_000}`, // three days ago: past the 2-day retention
      `dry_retention v=3 ${nowMs - 60_000}`, // milliseconds, read as nanoseconds: 1970
      'dry_retention v=4 -1000000000', // before 1970
    ].join('\n');
    const r = await push(['-', '--dry-run', '-o', 'json'], { stdin: input, env: { PIPEOBS_VM_URL: short.url } });
    assert.equal(r.code, 5, r.stderr);
    const doc = dryRunJson(r.stdout);
    assert.equal(doc.retention_checked, '2d');
    assert.equal(doc.retention_error, null);
    assert.deepEqual(doc.invalid.map((i) => i.line), [2, 3, 4]);
    assert.match(doc.invalid[0].reason, /^timestamp \d+ \(.*\) is older than VictoriaMetrics' retention period; VictoriaMetrics drops the line$/);
    assert.match(doc.invalid[1].reason, /is older than VictoriaMetrics' retention period \(looks like milliseconds: use --precision ms\); VictoriaMetrics drops the line$/);
    assert.match(doc.invalid[2].reason, /^timestamp -1000000000 is before 1970 \(VictoriaMetrics stores no negative times\); VictoriaMetrics drops the line$/);
    assert.doesNotMatch(r.stderr, /retention is unknown/);
  } finally {
    await short.cleanup();
  }
  // Nothing listens there: the dry run still checks what it can, and says what it could not.
  const down = await push(['-', '--dry-run', '-o', 'json'], { stdin: `dry_down v=1 ${Date.now()}000000\ndry_down v=2 -5000000000\n`, env: { PIPEOBS_VM_URL: 'http://127.0.0.1:9', PIPEOBS_VM_RETRIES: '3' } });
  assert.equal(down.code, 5, down.stderr);
  const doc = dryRunJson(down.stdout);
  assert.equal(doc.retention_checked, null);
  assert.match(doc.retention_error ?? '', /cannot reach VictoriaMetrics at http:\/\/127\.0\.0\.1:9/);
  assert.match(down.stderr, /warning: VictoriaMetrics' retention is unknown \(cannot reach .*\): timestamps were checked only for being before 1970 or more than 2 days ahead/);
  assert.deepEqual(doc.invalid.map((i) => i.line), [2]);
});

test('every reason names what VictoriaMetrics does, for the mistakes the issue lists', async () => {
  const t = nowS();
  const input = [
    `reasons,a=1 v=1 0`,
    `reasons,a=2 v=.5 ${t}`,
    `reasons,a=3 v="42" ${t}`,
    `reasons,a=4,a=5 v=1 ${t}`,
    `reasons,a=my host v=1 ${t}`,
    ` reasons,a=6 v=1 ${t}`,
    `reasons,a=7 v=+1i ${t}`,
  ].join('\n');
  const r = await push(['-', '--precision', 's', '--dry-run', '-o', 'json'], { stdin: input });
  assert.equal(r.code, 5, r.stderr);
  const doc = dryRunJson(r.stdout);
  assert.deepEqual(doc.invalid.map((i) => i.reason), [
    'timestamp 0; VictoriaMetrics stores it at the time of arrival',
    'field "v": ".5" is not a number (VictoriaMetrics 1.79 does not read ".5": write 0.5); VictoriaMetrics stores it as 0',
    'field "v" is the string "42"; VictoriaMetrics stores it as the number 42',
    'tag "a" is given twice; VictoriaMetrics keeps the last value, "5"',
    'field "host" has no "=" (the unescaped space at byte 13 ends the measurement and tags: write "\\ " for a space inside a name or value); VictoriaMetrics drops the line',
    'the line starts with a space; VictoriaMetrics drops the line',
    'field "v": "+1i" has a "+" sign, which VictoriaMetrics does not read; VictoriaMetrics drops the line',
  ]);
});
