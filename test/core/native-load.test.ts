/** The native loader takes a binary only when it was built from the C source beside it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNative, nativeLoadReport } from '../../src/core/native/load.js';
import { tempDir } from '../helpers/cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

test('a binary whose source stamp does not match the C source is refused with the reason; a matching one loads', () => {
  const pkg = tempDir('pipeobs-native-');
  mkdirSync(path.join(pkg, 'native'));
  mkdirSync(path.join(pkg, 'build', 'Release'), { recursive: true });
  const source = readFileSync(path.join(root, 'native', 'lpscan.c'));
  writeFileSync(path.join(pkg, 'native', 'lpscan.c'), source);
  const binary = path.join(pkg, 'build', 'Release', 'lpscan.node');
  copyFileSync(path.join(root, 'build', 'Release', 'lpscan.node'), binary);

  writeFileSync(`${binary}.source`, 'not-the-hash\n');
  assert.equal(loadNative('lpscan', pkg), null);
  assert.match(nativeLoadReport().at(-1)!, /lpscan not loaded \(build\/Release\/lpscan\.node was built from another version of native\/lpscan\.c .*\): using the TypeScript scanner/);

  writeFileSync(`${binary}.source`, `${createHash('sha256').update(source).digest('hex')}\n`);
  const addon = loadNative<{ scanChunk: unknown }>('lpscan', pkg);
  assert.equal(typeof addon?.scanChunk, 'function');
  assert.match(nativeLoadReport().at(-1)!, /native scanner lpscan: .*build\/Release\/lpscan\.node$/);
});
