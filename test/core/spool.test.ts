import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Spool, SpoolWriteError, UNKNOWN_TARGET } from '../../src/core/spool/spool.js';
import { tempDir } from '../helpers/cli.js';

/** A pid no process has: above the kernel's pid_max. */
const DEAD = 4_194_305;

test('one directory per target: spellings and credentials of one URL share it, other URLs do not', () => {
  const spool = new Spool(path.join(tempDir(), 'spool'));
  const dir = spool.forTarget('http://127.0.0.1:8428').dir;
  for (const same of ['http://127.0.0.1:8428/', 'http://u:pw@127.0.0.1:8428', 'HTTP://127.0.0.1:8428//']) assert.equal(spool.forTarget(same).dir, dir, same);
  for (const other of ['http://127.0.0.1:8429', 'http://127.0.0.1:8428/insert/0', 'https://127.0.0.1:8428']) assert.notEqual(spool.forTarget(other).dir, dir, other);
  assert.match(path.basename(spool.forTarget('http://vm:8480/insert/0').dir), /^vm_8480_insert_0-[0-9a-f]{10}$/);
  assert.equal(spool.find(UNKNOWN_TARGET).dir, spool.root);
});

test('files 0600 in 0700 directories, a directory left 0755 by an older version is tightened, the target file names the URL without credentials', async () => {
  const root = path.join(tempDir(), 'spool');
  mkdirSync(root, { mode: 0o755 });
  chmodSync(root, 0o755);
  const s = new Spool(root).forTarget('http://user:pw@vm:8428');
  const file = await s.write('prom', 'm 1 1000\n', 1_700_000_000_000, 1);
  assert.equal(statSync(root).mode & 0o777, 0o700);
  assert.equal(statSync(s.dir).mode & 0o777, 0o700);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(readFileSync(path.join(s.dir, 'target'), 'utf8'), 'http://vm:8428\n');
  assert.match(path.basename(file), /^1700000000000-000000-[0-9a-f]{8}-1s\.prom\.txt$/);
  assert.deepEqual(await new Spool(root).waiting(), [{ target: 'http://vm:8428', dir: s.dir, files: 1, bytes: 9, samples: 1, oldest_ms: 1_700_000_000_000 }]);
});

test('partial files and claims of processes that died are cleaned up and released', async () => {
  const root = path.join(tempDir(), 'spool');
  const s = new Spool(root).forTarget('http://vm:8428');
  const kept = await s.write('influx-ms', 'm v=1 1\n', 1_700_000_000_000, 1);
  writeFileSync(path.join(s.dir, `.1700000000001-000001-aaaaaaaa-1s.prom.txt.tmp-${DEAD}`), 'half');
  writeFileSync(path.join(s.dir, `1700000000002-000002-bbbbbbbb-2s.prom.txt.sending-${DEAD}`), 'm 1 1\nm 2 2\n');
  writeFileSync(path.join(s.dir, `.1700000000003-000003-cccccccc-1s.prom.txt.tmp-${process.pid}`), 'being written by a live process');
  const pending = await s.pending();
  assert.deepEqual(pending.map((p) => path.basename(p.file)), [path.basename(kept), '1700000000002-000002-bbbbbbbb-2s.prom.txt']);
  assert.deepEqual(pending.map((p) => p.samples), [1, 2]);
  assert.deepEqual(readdirSync(s.dir).sort(), [`.1700000000003-000003-cccccccc-1s.prom.txt.tmp-${process.pid}`, '1700000000000', '1700000000002-000002-bbbbbbbb-2s.prom.txt', 'target'].map((n) => (n === '1700000000000' ? path.basename(kept) : n)).sort());
});

test('a payload that cannot be written is a SpoolWriteError naming the directory and why, with nothing left behind', async () => {
  const root = path.join(tempDir(), 'spool');
  mkdirSync(root);
  const s = new Spool(root).forTarget('http://vm:8428');
  writeFileSync(s.dir, 'a file where the directory should be');
  await assert.rejects(s.write('prom', 'm 1 1\n', 1, 1), (err: unknown) => {
    assert.ok(err instanceof SpoolWriteError);
    assert.equal(err.message, `cannot write to the spool ${s.dir} (EEXIST)`);
    return true;
  });
  assert.deepEqual(readdirSync(root), [path.basename(s.dir)]);
});
