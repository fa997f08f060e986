import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runCli, tempDir } from './helpers/cli.js';
import { freePort, waitFor } from './helpers/victoria.js';
import { ExitCode } from '../src/core/errors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin', 'pipeobs');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };

test('--help lists the subcommands with a description; each subcommand has examples', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, ExitCode.ok);
  assert.match(r.stdout, /run-pipeline \[options\]\s+run the instrumented e-commerce ETL/);
  assert.match(r.stdout, /push-influx \[options\] \[files\.\.\.\]\s+push InfluxDB line protocol/);
  assert.match(r.stdout, /Exit codes: 0 ok, 1 failed, 2 usage error, 3 configuration error, 4 dependency unreachable, 5 check failed, 130 interrupted/);
  for (const cmd of ['run-pipeline', 'push-influx']) {
    const h = await runCli([cmd, '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /Examples:\n  \$ pipeobs /, cmd);
    assert.match(h.stdout, /-o, --output <format>/, cmd);
  }
});

test('--version prints the package version', async () => {
  const r = await runCli(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `${pkg.version}\n`);
});

test('exit code 2: usage errors name the flag', async () => {
  const unknown = await runCli(['run-pipeline', '--no-such-flag']);
  assert.equal(unknown.code, ExitCode.usage);
  assert.match(unknown.stderr, /unknown option '--no-such-flag'/);
  const rows = await runCli(['run-pipeline', '--rows', 'many']);
  assert.equal(rows.code, ExitCode.usage);
  assert.match(rows.stderr, /error: --rows many is not valid: expected a whole number from 1 to 100000000/);
  const rate = await runCli(['run-pipeline', '--inject-errors', '1.5']);
  assert.equal(rate.code, ExitCode.usage);
  assert.match(rate.stderr, /--inject-errors 1.5 is not valid: expected a number from 0 to 1/);
  const output = await runCli(['run-pipeline', '-o', 'yaml']);
  assert.equal(output.code, ExitCode.usage);
  assert.match(output.stderr, /--output yaml is not supported\nhint: use one of: text, json, csv/);
  const cmd = await runCli(['no-such-command']);
  assert.equal(cmd.code, ExitCode.usage);
  assert.match(cmd.stderr, /unknown command 'no-such-command'/);
});

test('exit code 3: a bad environment variable is named, and JSON mode gets a JSON error', async () => {
  const url = await runCli(['run-pipeline', '--once', '-o', 'json'], { env: { PIPEOBS_VM_URL: 'not a url' } });
  assert.equal(url.code, ExitCode.config);
  assert.match(url.stderr, /error: PIPEOBS_VM_URL=not a url is not a URL\nhint: use a URL such as http:\/\/127.0.0.1:8428/);
  assert.deepEqual(JSON.parse(url.stdout), { error: { kind: 'config', message: 'PIPEOBS_VM_URL=not a url is not a URL', hint: 'use a URL such as http://127.0.0.1:8428', exit_code: 3 } });
  const port = await runCli(['run-pipeline', '--once'], { env: { PIPEOBS_METRICS_PORT: '99999' } });
  assert.equal(port.code, ExitCode.config);
  assert.match(port.stderr, /PIPEOBS_METRICS_PORT=99999 is not valid: expected port from 0 to 65535/);
  const flag = await runCli(['--vm-timeout', '0', 'push-influx', '--flush-spool']);
  assert.equal(flag.code, ExitCode.config);
  assert.match(flag.stderr, /--vm-timeout=0 is not valid: expected seconds from 0.1 to 3600/);
});

test('exit code 3: a /metrics port already in use says how to choose another', async () => {
  const port = await freePort();
  const http = await import('node:http');
  const blocker = http.createServer().listen(port, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  try {
    const r = await runCli(['run-pipeline', '--once', '--rows', '10', '--metrics-port', String(port)]);
    assert.equal(r.code, ExitCode.config);
    assert.match(r.stderr, new RegExp(`cannot serve /metrics on 127.0.0.1:${port}: the port is in use\\nhint: choose another with --metrics-port`));
  } finally {
    blocker.close();
  }
});

test('exit code 4: VictoriaMetrics unreachable, with spooling turned off', async () => {
  const port = await freePort();
  const cwd = tempDir();
  const r = await runCli(['push-influx', '-', '--no-spool'], { cwd, stdin: 'm v=1\n', env: { PIPEOBS_VM_URL: `http://127.0.0.1:${port}`, PIPEOBS_VM_RETRIES: '0' } });
  assert.equal(r.code, ExitCode.unreachable);
  assert.match(r.stderr, new RegExp(`error: cannot reach VictoriaMetrics at http://127.0.0.1:${port}/write\\?precision=ns for line-protocol write \\(request failed: ECONNREFUSED\\)\\nhint: start it`));
});

test('exit code 5: a quality gate that fails, after the run completed and printed its summary', async () => {
  const r = await runCli(['run-pipeline', '--once', '--rows', '500', '--seed', '2', '--inject-errors', '0.2', '--fail-under', '99.5', '--no-metrics-server']);
  assert.equal(r.code, ExitCode.checkFailed);
  assert.match(r.stdout, /quality    9\d\.\d+\/100/);
  assert.match(r.stderr, /error: quality score 9\d\.\d+ is below --fail-under 99.5 \(failing checks: /);
});

test('exit code 130: SIGINT abandons the run in progress, saves metrics and prints the summary', async () => {
  const cwd = tempDir();
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'run-pipeline', '--interval', '60', '--rows', '200', '--seed', '1', '--metrics-port', String(port), '-o', 'json'], {
    cwd,
    env: { ...process.env, PIPEOBS_SPOOL_DIR: path.join(cwd, 'spool'), CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  // Wait until the first run finished (the process then sleeps until the next one), then interrupt.
  await waitFor('the first run', async () => /pipeline_runs_total\{[^}]*status="success"\} 1/.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()), 20_000);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  assert.equal(code, ExitCode.interrupted, stderr);
  const doc = JSON.parse(stdout) as { runs: { status: string }[]; interrupted: boolean };
  assert.equal(doc.interrupted, true);
  assert.deepEqual(doc.runs.map((r) => r.status), ['success']);
  assert.match(stderr, /SIGINT: abandoning the current run and saving metrics/);
  assert.match(stderr, /error: interrupted: the current run was abandoned; completed runs and metrics were saved/);
});

test('the built binary runs as a user would, and output in a pipe has no colour codes', () => {
  const r = spawnSync(process.execPath, [bin, 'push-influx', '--dry-run', '-'], { input: 'm,t=a v=1 1\n', encoding: 'utf8', env: { ...process.env, FORCE_COLOR: undefined } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'm,t=a v=1 1\n');
  assert.doesNotMatch(r.stderr, /\u001b\[/);
});

test('the top-level help lists every command from COMMAND_SUMMARIES exactly as the command modules register it', async () => {
  const { buildProgram, COMMAND_SUMMARIES } = await import('../src/cli.js');
  const deps = { now: () => new Date(), env: {}, cwd: tempDir(), stdout: { write: () => true }, stderr: { write: () => true }, stdin: process.stdin, sleep: async () => {}, onSignal: () => () => {} };
  const real = await buildProgram(deps, [], { all: true });
  const summarized = await buildProgram(deps, []);
  assert.deepEqual(Object.keys(COMMAND_SUMMARIES).sort(), real.commands.map((c) => c.name()).sort());
  for (const cmd of real.commands) {
    const s = COMMAND_SUMMARIES[cmd.name()];
    assert.equal(s.description, cmd.description(), cmd.name());
    assert.equal(s.args, cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`)).join(' '), cmd.name());
  }
  assert.equal(summarized.helpInformation(), real.helpInformation());
});

/** The modules a run of the built binary loads, as URLs relative to the package. */
function modulesLoaded(args: string[]): string[] {
  const dir = tempDir();
  const hooks = path.join(dir, 'hooks.mjs');
  writeFileSync(hooks, `export async function load(url, context, next) { process._rawDebug('LOADED ' + url); return next(url, context); }\n`);
  const register = path.join(dir, 'register.mjs');
  // Built-in modules are listed at exit, however they were loaded (import or require).
  writeFileSync(
    register,
    `import { register, createRequire } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n` +
      `const cache = createRequire(import.meta.url).cache;\n` +
      // CommonJS packages (commander) are required, which the load hook does not see: require's cache does.
      `process.on('exit', () => { for (const m of process.moduleLoadList) if (m.startsWith('NativeModule ')) process._rawDebug('LOADED node:' + m.slice(13)); for (const f of Object.keys(cache)) if (f.includes('/node_modules/')) process._rawDebug('LOADED ' + pathToFileURL(f).href); });\n` +
      `import { pathToFileURL } from 'node:url';\n`,
  );
  const r = spawnSync(process.execPath, ['--import', register, bin, ...args], { encoding: 'utf8', env: { ...process.env, PIPEOBS_VM_URL: 'http://127.0.0.1:1', PIPEOBS_VM_RETRIES: '0' } });
  const base = pathToFileURL(root).href + '/';
  return r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7).replace(base, ''));
}

test('start-up loads only what the command needs: nothing for --version, no command module for --help, no colour library in a pipe', () => {
  assert.deepEqual(modulesLoaded(['--version']).filter((m) => !m.startsWith('node:')), ['bin/pipeobs', 'dist/src/version.js']);
  const help = modulesLoaded(['--help']);
  assert.deepEqual(help.filter((m) => m.startsWith('dist/src/commands/')), []);
  const query = modulesLoaded(['query', 'up']);
  assert.deepEqual(query.filter((m) => m.startsWith('dist/src/commands/')).sort(), ['dist/src/commands/query.js', 'dist/src/commands/shared.js', 'dist/src/commands/vm-client.js']);
  assert.ok(query.includes('node:http'), 'built-in modules are seen');
  for (const m of [...help, ...query]) assert.doesNotMatch(m, /node_modules\/(chalk|ora|@duckdb|openai|prom-client|@faker-js)\/|^node:(https|tls|zlib)$/, m);
  assert.ok(query.some((m) => m.includes('node_modules/commander/')), 'commander is seen when it is loaded');
});

test('exec starts lean: no commander, no HTTP client without --push, no metrics-file parser when the job wrote nothing', () => {
  const none = modulesLoaded(['exec', '--pipeline', 'lean', '--push', 'none', '--', 'true']);
  assert.ok(none.includes('dist/src/commands/exec.js'), none.join(' '));
  for (const m of none) assert.doesNotMatch(m, /node_modules\/|^node:(http|https|tls|zlib)$|exec\/(metrics-file|dbt|push-run)\.js|influx\/line-protocol\.js/, m);
  // Anything the fast reading is not sure of goes to commander, which says what is wrong.
  const unknown = modulesLoaded(['exec', '--pipeline', 'lean', '--push', 'none', '--bogus', '--', 'true']);
  assert.ok(unknown.some((m) => m.includes('node_modules/commander/')));
});
