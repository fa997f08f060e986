import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers/cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('npm pack gives a package that installs globally and runs as pipeobs from any directory', { timeout: 300_000 }, () => {
  const packDir = tempDir('pipeobs-pack-');
  const prefix = tempDir('pipeobs-prefix-');
  const elsewhere = tempDir('pipeobs-elsewhere-');
  const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  npm(['pack', '--pack-destination', packDir], root);
  const tgz = readdirSync(packDir).filter((f) => /^pipeobs-.*\.tgz$/.test(f));
  assert.equal(tgz.length, 1);
  const listing = npm(['pack', '--dry-run', '--json'], root);
  const files = (JSON.parse(listing) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
  assert.ok(files.includes('bin/pipeobs'));
  assert.ok(files.includes('dist/src/cli.js'));
  assert.ok(!files.some((f) => f.startsWith('dist/test/') || f.startsWith('src/')), 'tests and sources stay out of the package');

  npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(packDir, tgz[0])], elsewhere);
  // npm built the native line scanner during the install.
  assert.ok(existsSync(path.join(prefix, 'lib', 'node_modules', 'pipeobs', 'build', 'Release', 'lpscan.node')), 'the native scanner was built on install');
  const env = { ...process.env, PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}`, HOME: elsewhere };
  const version = spawnSync('pipeobs', ['--version'], { cwd: elsewhere, env, encoding: 'utf8' });
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  // The installed package's native DuckDB binding and faker work: a whole run, from another directory.
  const run = spawnSync('pipeobs', ['run-pipeline', '--once', '--rows', '50', '--seed', '1', '--no-metrics-server', '-o', 'json'], { cwd: elsewhere, env, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const doc = JSON.parse(run.stdout) as { runs: { status: string; output: { path: string; rows: number } }[] };
  assert.equal(doc.runs[0].status, 'success');
  assert.equal(doc.runs[0].output.rows, 50);
  assert.ok(doc.runs[0].output.path.startsWith(path.join(elsewhere, 'pipeobs-output', 'orders')));
});
