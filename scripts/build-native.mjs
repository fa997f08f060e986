#!/usr/bin/env node
// Builds pipeobs' native scanners (native/*.c). They only make pipeobs faster: every one has a
// TypeScript twin that gives the same results, so this script never fails an install.
//
//   node scripts/build-native.mjs             npm's install step: keep a prebuilt binary that
//                                             loads here, else compile into build/Release if a
//                                             C compiler and Node's headers are at hand, else say
//                                             so in one line and exit 0
//   node scripts/build-native.mjs --prebuild  npm's prepack step: compile into
//                                             prebuilds/<platform>-<arch>-<libc>/ for the package;
//                                             this one fails loudly, a package must not ship
//                                             without the binaries it promises
//
// It calls the C compiler directly (CC, default cc) with the Node-API headers of the running Node
// (or of npm's nodedir), so nothing is downloaded. node-gyp (binding.gyp) is tried last, only when
// no headers are found, and may fail without failing the install.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ADDONS = [
  { name: 'lpscan', libs: [] },
  { name: 'logscan', libs: ['-lm'] },
];
// Keep in step with NATIVE_NAPI_VERSION in src/core/native/load.ts.
const NAPI_VERSION = 8;
const prebuild = process.argv.includes('--prebuild');

// The same tag, Node-API version and source stamp as src/core/native/load.ts reads: this script runs
// at install, before dist/ is built, so it cannot import that module.
function platformTag() {
  let libc = '';
  if (process.platform === 'linux') libc = process.report?.getReport()?.header?.glibcVersionRuntime ? '-glibc' : '-musl';
  return `${process.platform}-${process.arch}${libc}`;
}

function say(message) {
  process.stderr.write(`pipeobs: ${message}\n`);
}

/**
 * What a binary was built from: the hash of its C source, kept beside it as <binary>.source. The
 * loader (src/core/native/load.ts) refuses a binary whose stamp does not match the source next to
 * it, so a stale build can never pair new TypeScript with an old record layout.
 */
function sourceStamp(addon) {
  return createHash('sha256').update(readFileSync(path.join(root, 'native', `${addon.name}.c`))).digest('hex');
}

function stampMatches(addon, file) {
  try {
    return readFileSync(`${file}.source`, 'utf8').trim() === sourceStamp(addon);
  } catch {
    return false;
  }
}

/** Whether a binary loads in this Node (in a child, so a crash cannot take the install down). */
function loads(file) {
  if (!existsSync(file)) return false;
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

function headerDir() {
  const candidates = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.resolve(path.dirname(process.execPath), '..', 'include', 'node'),
    path.join(os.homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ].filter(Boolean);
  return candidates.find((dir) => existsSync(path.join(dir, 'node_api.h')));
}

/** Compiles one addon to `out` (atomically); returns null or the reason it could not. */
function compile(addon, includeDir, out) {
  const cc = process.env.CC || 'cc';
  const tmp = `${out}.${process.pid}.tmp`;
  mkdirSync(path.dirname(out), { recursive: true });
  const args = ['-O3', '-std=c11', '-fPIC', '-shared', `-DNAPI_VERSION=${NAPI_VERSION}`, `-DNODE_GYP_MODULE_NAME=${addon.name}`,
    `-I${includeDir}`, path.join(root, 'native', `${addon.name}.c`), '-o', tmp, ...addon.libs];
  const r = spawnSync(cc, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    const detail = r.error ? r.error.message : (r.stderr || '').trim().split('\n').slice(0, 3).join(' / ') || `exit ${r.status}`;
    return `${cc} failed: ${detail}`;
  }
  renameSync(tmp, out);
  writeFileSync(`${out}.source`, `${sourceStamp(addon)}\n`);
  return loads(out) ? null : `${path.relative(root, out)} was built but does not load`;
}

function nodeGyp() {
  const gyp = process.env.npm_config_node_gyp;
  if (!gyp || !existsSync(path.join(root, 'binding.gyp'))) return 'no Node headers here and no node-gyp to fetch them';
  try {
    execFileSync(process.execPath, [gyp, 'rebuild'], { cwd: root, stdio: 'ignore', timeout: 180_000 });
    return null;
  } catch {
    return 'node-gyp could not build them (it needs Node\'s headers, which it downloads)';
  }
}

const includeDir = headerDir();
if (prebuild) {
  if (!includeDir) {
    say('cannot prebuild the native scanners: Node\'s headers (include/node/node_api.h) were not found');
    process.exit(1);
  }
  for (const addon of ADDONS) {
    const why = compile(addon, includeDir, path.join(root, 'prebuilds', platformTag(), `${addon.name}.node`));
    if (why) {
      say(`cannot prebuild ${addon.name}: ${why}`);
      process.exit(1);
    }
  }
  process.exit(0);
}

// A binary built from this very source that loads here (the package's prebuilt one, or an earlier build) is kept.
const fits = (addon, file) => stampMatches(addon, file) && loads(file);
const missing = ADDONS.filter((addon) => !fits(addon, path.join(root, 'prebuilds', platformTag(), `${addon.name}.node`)) && !fits(addon, path.join(root, 'build', 'Release', `${addon.name}.node`)));
if (missing.length === 0) process.exit(0);
const problems = [];
if (includeDir) {
  for (const addon of missing) {
    const why = compile(addon, includeDir, path.join(root, 'build', 'Release', `${addon.name}.node`));
    if (why) problems.push(`${addon.name}: ${why}`);
  }
} else {
  const why = nodeGyp();
  if (why) problems.push(why);
}
if (problems.length > 0) {
  say(`native scanners not built (${problems.join('; ')}); pipeobs will use its TypeScript scanners, which give the same results more slowly`);
}
process.exit(0);
