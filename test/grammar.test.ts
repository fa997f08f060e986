/**
 * One grammar across commands: every time flag of every command takes the same forms, and the
 * same input mistake gives the same exit code in every command that reads input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Command } from 'commander';
import type { Deps } from '../src/core/deps.js';
import { registerQuery, type QueryOptions } from '../src/commands/query.js';
import { registerExportParquet, type ExportParquetOptions } from '../src/commands/export-parquet.js';
import { registerMonitorLogs, type MonitorLogsOptions } from '../src/commands/monitor-logs.js';
import { parseTime } from '../src/core/time/parse.js';
import { UsageError } from '../src/core/errors.js';
import { Capture, runCli, tempDir } from './helpers/cli.js';

const NOW = new Date('2026-11-21T12:00:00Z');
const SIX_HOURS_AGO = '2026-11-21T06:00:00.000Z';

/** Every accepted way to write "six hours before NOW". */
const SIX_HOURS_AGO_FORMS = ['6h', '-6h', 'now-6h', '360m', '21600s', '0.25d', '2026-11-21T06:00:00Z', '2026-11-21T07:00:00+01:00',
  '2026-11-21T06:00:00', '2026-11-21 06:00:00', '2026-11-21T06:00:00.000Z', '1795240800', '1795240800000'];

test('parseTime reads every accepted form as the same moment, and names the flag when it cannot', () => {
  for (const form of SIX_HOURS_AGO_FORMS) assert.equal(parseTime(form, '--since', NOW).toISOString(), SIX_HOURS_AGO, form);
  assert.equal(parseTime('now', '--until', NOW).toISOString(), NOW.toISOString());
  assert.equal(parseTime('2026-11-21', '--since', NOW).toISOString(), '2026-11-21T00:00:00.000Z');
  for (const bad of ['yesterday', '6 hours', '-6x', '2026-13-45', 'now+1h', '', '12:00']) {
    assert.throws(() => parseTime(bad, '--since', NOW), (err: unknown) => err instanceof UsageError && err.message.startsWith(`--since ${bad}`) && /6h/.test(err.hint ?? ''), bad);
  }
});

function fakeDeps(cwd: string): Deps {
  return {
    now: () => NOW, env: {}, cwd, stdout: new Capture(), stderr: new Capture(), stdin: Readable.from([]),
    onSignal: () => () => {}, sleep: async () => {},
  };
}

/** Parses argv through a command's real flags and validation, and returns the options its run would get. */
async function optionsOf<T>(register: (p: Command, d: Deps, run: (o: T) => Promise<void>) => void, argv: string[], cwd = tempDir()): Promise<T> {
  let captured: T | undefined;
  const program = new Command().exitOverride();
  register(program, fakeDeps(cwd), async (o: T) => {
    captured = o;
  });
  await program.parseAsync(argv, { from: 'user' });
  assert.ok(captured, argv.join(' '));
  return captured;
}

test('every time flag of every command takes every form', async () => {
  const logs = tempDir();
  writeFileSync(path.join(logs, 'a.log'), '{}\n');
  for (const form of SIX_HOURS_AGO_FORMS) {
    for (const flag of ['--since', '--start']) {
      // The window as typed (a range query then runs on whole steps around it).
      const q = await optionsOf<QueryOptions>(registerQuery as never, ['query', 'up', flag, form]);
      assert.equal(q.window.start.toISOString(), SIX_HOURS_AGO, `query ${flag} ${form}`);
      assert.equal(q.window.end.toISOString(), NOW.toISOString());
      const e = await optionsOf<ExportParquetOptions>(registerExportParquet as never, ['export-parquet', '--out', 'x', flag, form]);
      assert.equal(e.start.toISOString(), SIX_HOURS_AGO, `export-parquet ${flag} ${form}`);
      const m = await optionsOf<MonitorLogsOptions>(registerMonitorLogs as never, ['monitor-logs', 'a.log', flag, form], logs);
      assert.equal(new Date(m.window.sinceMs).toISOString(), SIX_HOURS_AGO, `monitor-logs ${flag} ${form}`);
    }
    for (const flag of ['--until', '--end']) {
      const q = await optionsOf<QueryOptions>(registerQuery as never, ['query', 'up', '--since', '1d', flag, form]);
      assert.equal(q.window.end.toISOString(), SIX_HOURS_AGO, `query ${flag} ${form}`);
      const e = await optionsOf<ExportParquetOptions>(registerExportParquet as never, ['export-parquet', '--out', 'x', '--since', '1d', flag, form]);
      assert.equal(e.end.toISOString(), SIX_HOURS_AGO, `export-parquet ${flag} ${form}`);
      const m = await optionsOf<MonitorLogsOptions>(registerMonitorLogs as never, ['monitor-logs', 'a.log', '--since', '1d', flag, form], logs);
      assert.equal(new Date(m.window.untilMs).toISOString(), SIX_HOURS_AGO, `monitor-logs ${flag} ${form}`);
    }
    const t = await optionsOf<QueryOptions>(registerQuery as never, ['query', 'up', '--time', form]);
    assert.equal(t.time?.toISOString(), SIX_HOURS_AGO, `query --time ${form}`);
    const n = await optionsOf<MonitorLogsOptions>(registerMonitorLogs as never, ['monitor-logs', 'a.log', '--now', form], logs);
    assert.equal(n.now.toISOString(), SIX_HOURS_AGO, `monitor-logs --now ${form}`);
  }
  // gen-logs: the first line is written at --since.
  for (const form of ['6h', '-6h', '2026-11-21T06:00:00Z', '1795240800']) {
    const r = await runCli(['gen-logs', '--format', 'kafka', '--lines', '1', '--seed', '1', '--since', form, '--until', form], { now: () => NOW });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2026-11-21T06:00:00/, `gen-logs --since ${form}`);
  }
});

test('a time flag given under both of its names is a usage error, and errors name the flag the user typed', async () => {
  for (const argv of [['query', 'up'], ['export-parquet', '--out', 'x'], ['monitor-logs', 'a.log'], ['gen-logs', '--lines', '1']]) {
    const both = await runCli([...argv, '--since', '6h', '--start', '2h'], { now: () => NOW });
    assert.equal(both.code, 2, `${argv[0]}: ${both.stderr}`);
    assert.match(both.stderr, /give --since or --start, not both/);
    const ends = await runCli([...argv, '--until', '1h', '--end', '2h'], { now: () => NOW });
    assert.equal(ends.code, 2, `${argv[0]}: ${ends.stderr}`);
    assert.match(ends.stderr, /give --until or --end, not both/);
    for (const flag of ['--since', '--start', '--until', '--end']) {
      const bad = await runCli([...argv, flag, 'yesterday'], { now: () => NOW });
      assert.equal(bad.code, 2, `${argv[0]} ${flag}`);
      assert.match(bad.stderr, new RegExp(`error: ${flag} yesterday is not a time\nhint: use a duration ago \\(6h, -6h`), `${argv[0]} ${flag}`);
    }
  }
});

test('the same input mistake exits with the same code in every command that reads input', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'empty.log'), '');
  writeFileSync(path.join(dir, 'secret.log'), 'x\n');
  chmodSync(path.join(dir, 'secret.log'), 0o000);
  mkdirSync(path.join(dir, 'sub'));
  const asRoot = process.getuid?.() === 0; // root reads any file, so "permission denied" cannot happen to it
  const cases: Array<{ mistake: string; input: string; code: number; message: RegExp }> = [
    { mistake: 'missing input', input: 'nope.log', code: 2, message: /cannot read (.*\/)?nope\.log: no such file or directory/ },
    { mistake: 'empty input', input: 'empty.log', code: 5, message: /no data in the input \(.*empty\.log\): it is empty/ },
    ...(asRoot ? [] : [{ mistake: 'unreadable input', input: 'secret.log', code: 2, message: /cannot read (.*\/)?secret\.log: permission denied/ }]),
  ];
  const commands: Array<(input: string) => string[]> = [
    (input) => ['push-influx', '--dry-run', input],
    (input) => ['monitor-logs', input],
  ];
  for (const argv of commands) {
    for (const c of cases) {
      const r = await runCli(argv(c.input), { cwd: dir, now: () => NOW });
      assert.equal(r.code, c.code, `${argv(c.input).join(' ')} (${c.mistake}): ${r.stderr}`);
      assert.match(r.stderr, c.message, `${argv(c.input).join(' ')} (${c.mistake})`);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, 'no crash, no stack trace');
    }
  }
  // check reads datasets: a missing or unreadable one is the same usage error (an empty file is a
  // dataset with no rows, which its row_count rule judges).
  writeFileSync(path.join(dir, 'rules.yml'), 'checks:\n  - row_count: {min: 1}\n');
  for (const c of cases.filter((x) => x.code === 2)) {
    const r = await runCli(['check', c.input, '--rules', 'rules.yml'], { cwd: dir, now: () => NOW });
    assert.equal(r.code, 2, `check ${c.input} (${c.mistake}): ${r.stderr}`);
    assert.match(r.stderr, c.message, `check ${c.input} (${c.mistake})`);
  }
  // A directory is an input to monitor-logs (the logs in it) and a mistake for push-influx.
  const pushDir = await runCli(['push-influx', '--dry-run', 'sub'], { cwd: dir });
  assert.equal(pushDir.code, 2);
  assert.match(pushDir.stderr, /cannot read (.*\/)?sub: it is a directory/);
});
