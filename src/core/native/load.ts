/**
 * Loads pipeobs' native scanners (native/*.c, Node-API). They are an optimisation only: every
 * caller has a TypeScript twin that gives the same results, and runs it when this returns null.
 *
 * Where a binary comes from, in order:
 *  1. build/Release/<name>.node: compiled on this machine at install (scripts/build-native.mjs),
 *     or by a developer; it was built against this Node, so it is tried first;
 *  2. prebuilds/<platform>-<arch>-<libc>/<name>.node: built when the npm package was packed, so an
 *     install needs no compiler. Node-API binaries work on every Node release with the Node-API
 *     version they were built for, so the check is platform, architecture, C library and that.
 *
 * What happened is kept for `--debug` (nativeLoadReport), never printed here.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Node-API version the C sources are written against (NAPI_VERSION in scripts/build-native.mjs). */
export const NATIVE_NAPI_VERSION = 8;

export interface NativeLoadResult {
  name: string;
  /** The file loaded, or null when the TypeScript scanner is used. */
  file: string | null;
  /** Why no binary was loaded (or why a candidate was passed over). */
  reasons: string[];
}

const report: NativeLoadResult[] = [];

/** The package root: dist/src/core/native → four levels up. */
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** "linux-x64-glibc", "linux-x64-musl", "darwin-arm64"…: the directory name of a prebuild. */
export function platformTag(): string {
  let libc = '';
  if (process.platform === 'linux') {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    libc = header?.glibcVersionRuntime ? '-glibc' : '-musl';
  }
  return `${process.platform}-${process.arch}${libc}`;
}

/** Loads one native scanner, or returns null (and records why) so the caller uses TypeScript. */
export function loadNative<T>(name: string, root = packageRoot): T | null {
  const result: NativeLoadResult = { name, file: null, reasons: [] };
  report.push(result);
  const napi = Number(process.versions.napi ?? 0);
  if (napi < NATIVE_NAPI_VERSION) {
    result.reasons.push(`this Node offers Node-API ${napi}, the scanner needs ${NATIVE_NAPI_VERSION}`);
    return null;
  }
  const candidates = [
    path.join(root, 'build', 'Release', `${name}.node`),
    path.join(root, 'prebuilds', platformTag(), `${name}.node`),
  ];
  const require = createRequire(import.meta.url);
  const source = path.join(root, 'native', `${name}.c`);
  for (const file of candidates) {
    if (!existsSync(file)) {
      result.reasons.push(`no ${path.relative(root, file)}`);
      continue;
    }
    // A binary built from another version of the C source would read records the TypeScript side lays out differently.
    if (existsSync(source) && !stampMatches(file, source)) {
      result.reasons.push(`${path.relative(root, file)} was built from another version of native/${name}.c (run npm run build:native)`);
      continue;
    }
    try {
      const addon = require(file) as T;
      result.file = file;
      return addon;
    } catch (err) {
      result.reasons.push(`${path.relative(root, file)} does not load: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return null;
}

/** Whether <binary>.source holds the hash of the C source as it is now (scripts/build-native.mjs writes it). */
function stampMatches(binary: string, source: string): boolean {
  let stamp: string;
  try {
    stamp = readFileSync(`${binary}.source`, 'utf8').trim();
  } catch {
    return false;
  }
  const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return stamp === createHash('sha256').update(readFileSync(source)).digest('hex');
}

/** One line per scanner a command tried to load, for --debug. */
export function nativeLoadReport(): string[] {
  return report.map((r) => r.file
    ? `native scanner ${r.name}: ${r.file}`
    : `native scanner ${r.name} not loaded (${r.reasons.join('; ')}): using the TypeScript scanner`);
}
