/**
 * Installing pipeobs the ways a user does, on a machine whose npm has no settings of its own (a
 * fresh HOME) and, where it matters, no C compiler (CC=/bin/false): the native scanners are an
 * optimisation, never a requirement. npm's download cache is shared with the test run's own, so
 * these tests fetch nothing new; the settings in HOME are what they leave out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers/cli.js';
import { platformTag } from '../src/core/native/load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** npm's download cache of the environment running the tests (not its settings). */
const npmCache = process.env.npm_config_cache ?? path.join(os.homedir(), '.npm');

/** An environment like a new user's: an empty HOME, no npm settings, no compiler. */
function freshEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, HOME: tempDir('pipeobs-home-'), npm_config_cache: npmCache, npm_config_update_notifier: 'false', CC: '/bin/false', ...extra };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
}

const LINES = 'cpu,host=a usage=1 1700000000000000000\ncpu,host=a usage=x 1700000000000000000\n';

/** The checkout's files as git sees them (tracked, and new files not ignored), copied elsewhere. */
function copyCheckout(): string {
  const dir = tempDir('pipeobs-checkout-');
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const f of files) {
    const from = path.join(root, f);
    if (!existsSync(from)) continue; // deleted in the work tree
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    copyFileSync(from, path.join(dir, f));
  }
  return dir;
}

test('npm pack ships prebuilt native scanners; a global install with a fresh HOME and no compiler uses them, from any directory', { timeout: 300_000 }, () => {
  const packDir = tempDir('pipeobs-pack-');
  const pack = run('npm', ['pack', '--pack-destination', packDir, '--json'], root, { ...process.env });
  assert.equal(pack.status, 0, pack.stderr);
  const files = (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
  for (const name of ['lpscan', 'logscan']) assert.ok(files.includes(`prebuilds/${platformTag()}/${name}.node`), `the package has the prebuilt ${name} for ${platformTag()}`);
  assert.ok(files.includes('bin/pipeobs') && files.includes('dist/src/cli.js'));
  assert.ok(!files.some((f) => f.startsWith('dist/test/') || f.startsWith('src/') || f.startsWith('build/')), 'tests, sources and local builds stay out of the package');
  const tgz = readdirSync(packDir).filter((f) => /^pipeobs-.*\.tgz$/.test(f));
  assert.equal(tgz.length, 1);

  const env = freshEnv();
  const prefix = tempDir('pipeobs-prefix-');
  const elsewhere = env.HOME as string;
  const install = run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(packDir, tgz[0])], elsewhere, env);
  assert.equal(install.status, 0, install.stderr);
  const pathEnv = { ...env, PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}` };

  const version = run('pipeobs', ['--version'], elsewhere, pathEnv);
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  // The prebuilt scanner is the one that ran, without a compiler on the machine.
  writeFileSync(path.join(elsewhere, 'in.lp'), LINES);
  const dry = run('pipeobs', ['--debug', 'push-influx', '--dry-run', 'in.lp', '-o', 'json'], elsewhere, pathEnv);
  assert.match(dry.stderr, new RegExp(`debug: native scanner lpscan: .*prebuilds/${platformTag()}/lpscan\\.node`));
  assert.equal(dry.status, 5, dry.stderr);
  // The installed package's native DuckDB binding and faker work: a whole run, from another directory.
  const runPipeline = run('pipeobs', ['run-pipeline', '--once', '--rows', '50', '--seed', '1', '--no-metrics-server', '-o', 'json'], elsewhere, pathEnv);
  assert.equal(runPipeline.status, 0, runPipeline.stderr);
  const doc = JSON.parse(runPipeline.stdout) as { runs: { status: string; output: { path: string; rows: number } }[] };
  assert.equal(doc.runs[0].status, 'success');
  assert.equal(doc.runs[0].output.rows, 50);
});

test('npm ci in a checkout with a fresh HOME and no compiler succeeds, says so once, and pipeobs runs on its TypeScript scanners; npx pipeobs works there too', { timeout: 300_000 }, () => {
  const checkout = copyCheckout();
  const env = freshEnv();
  const ci = run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], checkout, env);
  assert.equal(ci.status, 0, `${ci.stdout}\n${ci.stderr}`);
  assert.match(ci.stdout + ci.stderr, /native scanners not built .*TypeScript scanners/);
  assert.ok(!existsSync(path.join(checkout, 'build', 'Release', 'lpscan.node')));

  writeFileSync(path.join(checkout, 'in.lp'), LINES);
  const debug = run('./bin/pipeobs', ['--debug', 'push-influx', '--dry-run', 'in.lp'], checkout, env);
  assert.match(debug.stderr, /debug: native scanner lpscan not loaded \(.*\): using the TypeScript scanner/);
  // The same verdicts, line for line, as the native scanner gives in this run's own checkout.
  const dry = run('./bin/pipeobs', ['push-influx', '--dry-run', 'in.lp'], checkout, env);
  const reference = run(path.join(root, 'bin', 'pipeobs'), ['push-influx', '--dry-run', 'in.lp'], checkout, { ...process.env });
  assert.equal(dry.status, 5, dry.stderr);
  assert.equal(dry.status, reference.status);
  const untimed = (text: string) => text.replace(/ in [\d.]+ ?m?s\b/g, ' in T');
  assert.equal(untimed(dry.stderr), untimed(reference.stderr));
  assert.equal(untimed(dry.stdout), untimed(reference.stdout));

  const npx = run('npx', ['pipeobs', '--version'], checkout, { ...env, npm_config_cache: path.join(env.HOME as string, 'npm-cache') });
  assert.equal(npx.status, 0, npx.stderr);
  assert.match(npx.stdout, /^\d+\.\d+\.\d+\n$/);
});
