/**
 * exec reads its usual argument forms without commander (src/flags.ts); this holds that reading
 * equal to commander's, flag by flag, and checks that every form it is not sure of is left to
 * commander.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readFastArgv } from '../../src/cli.js';
import { fastExecWith, registerExec, type ExecCommandOptions } from '../../src/commands/exec.js';
import { parsedRun } from '../helpers/run-seam.js';
import type { Config } from '../../src/core/config/config.js';
import type { Deps } from '../../src/core/deps.js';

const deps: Deps = {
  now: () => new Date('2026-12-02T00:00:00Z'),
  env: { PIPEOBS_ENVIRONMENT: 'staging' },
  cwd: '/work',
  stdout: new PassThrough() as unknown as Deps['stdout'],
  stderr: new PassThrough() as unknown as Deps['stderr'],
  stdin: new PassThrough(),
  onSignal: () => () => {},
  sleep: async () => {},
};

type Seen = { opts: ExecCommandOptions; config: Config } | { error: string };

async function viaCommander(argv: string[]): Promise<Seen> {
  const r = await parsedRun(registerExec, argv, deps);
  return typeof r === 'string' ? { error: r } : r;
}

/** What the fast reading runs, or null when it leaves argv to commander. */
async function viaFast(argv: string[]): Promise<Seen | null> {
  const read = readFastArgv(argv);
  if (!read) return null;
  let seen: Seen | undefined;
  const run = fastExecWith(async (opts, config) => {
    seen = { opts, config };
  })(read.globals, read.args, deps);
  if (!run) return null;
  try {
    await run();
  } catch (err) {
    return { error: (err as Error).message };
  }
  return seen!;
}

const SAME: string[][] = [
  ['exec', '--pipeline', 'p', '--', 'true'],
  ['--vm-url', 'http://vm.example:8428', 'exec', '--pipeline', 'p', '--push', 'none', '--', 'sh', '-c', 'echo hi'],
  ['--vm-write-url', 'http://vminsert:8480/insert/0', '--vm-timeout', '3', '--debug', 'exec', '--pipeline', 'p', '--', 'x'],
  ['exec', '--pipeline=p', '-o', 'json', '--stage', 'load', '--timeout', '5m', '--', 'true'],
  ['exec', '--output=csv', '--pipeline', 'p', '--', 'true'],
  ['exec', 'true', '--pipeline', 'p'],
  ['exec', '--pipeline', 'p', 'ls', 'a', 'b'],
  ['exec', '--pipeline', 'p', '--kill-after', '3', '--metrics-port', '0', '--metrics-host', '0.0.0.0', '--', 'x'],
  ['exec', '--pipeline', 'p', '--environment', 'prod', '--spool-dir', '/tmp/s', '--dbt-results', 'target/run_results.json', '--', 'dbt', 'run'],
  ['exec', '--pipeline', 'p', '--', '--weird-command', '--its-flag', '-x'],
  ['exec', '--pipeline', 'p', '--stage', '', '--', 'true'],
  ['exec', '--pipeline', 'p', '--push', 'bogus', '--', 'true'],
  ['exec', '--pipeline', 'p', '--timeout', 'soon', '--', 'true'],
  ['exec', '--push', 'influx', '--', 'true'],
];

test('the fast reading of exec gives what commander gives, for every usual form', async () => {
  for (const argv of SAME) {
    const fast = await viaFast(argv);
    assert.ok(fast, `the fast reading left ${JSON.stringify(argv)} to commander`);
    assert.deepEqual(fast, await viaCommander(argv), JSON.stringify(argv));
  }
});

test('forms the fast reading is not sure of are left to commander', async () => {
  for (const argv of [
    ['exec', '--help'],
    ['exec', '-h'],
    ['exec', '--pipeline', 'p', '--bogus', '--', 'true'],
    ['exec', '--pipeline', 'p', '--pipeline', 'q', '--', 'true'],
    ['exec', '--pipeline', 'p', '--stage', '-x', '--', 'true'],
    ['exec', '--pipeline', 'p', '--kill-after', '-', '--', 'true'],
    ['exec', '--pipeline', 'p', '-ojson', '--', 'true'],
    ['exec', '--pipeline', 'p'],
    ['exec', '--pipeline', 'p', 'sh', '-c', 'echo'],
    ['--vm-url', 'exec', 'exec', '--', 'true'],
    ['--bogus', 'exec', '--', 'true'],
    ['query', 'exec'],
    ['exec', '--debug', '--pipeline', 'p', '--', 'true'],
  ]) {
    assert.equal(await viaFast(argv), null, JSON.stringify(argv));
  }
});
