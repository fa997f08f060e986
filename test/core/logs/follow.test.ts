/**
 * Following files with exact line counts: appends, partial lines, rename and copytruncate
 * rotation, new files, restarts from the state file, over-long lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../../helpers/cli.js';
import { LogFollower, loadFollowState, mayBeCopyOf, saveFollowState } from '../../../src/core/logs/follow.js';
import { LogReader } from '../../../src/core/logs/reader.js';
import { logrotateCopytruncate, pythonLogWrite } from '../../helpers/log-writers.js';

function kafka(i: number, topic = 'orders'): string {
  return `{"timestamp": "2026-11-21T10:${String(i % 60).padStart(2, '0')}:00Z", "consumer_lag": ${i}, "topic": "${topic}", "partition": 0, "consumer_group": "g", "latency_ms": 1}\n`;
}
function lines(n: number, from = 0, topic?: string): string {
  let s = '';
  for (let i = 0; i < n; i++) s += kafka(from + i, topic);
  return s;
}

function setup(inputs: string[], dir: string, startAtEnd = false, maxLineBytes = 1 << 20) {
  const reader = new LogReader({ mappings: [], window: { sinceMs: -Infinity, untilMs: Infinity }, components: null, maxGroups: 100, lowConfidence: 0.7, maxLineBytes, totals: true });
  const follower = new LogFollower(reader, { inputs, cwd: dir, startAtEnd, maxLineBytes });
  return { reader, follower, used: () => reader.aggregator.linesUsed };
}

test('appended lines are read once; a partial last line waits for its end', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'app.log');
  writeFileSync(file, lines(100));
  const { follower, used } = setup(['app.log'], dir);
  await follower.start(null);
  assert.equal(await follower.poll(true), 100);
  const next = kafka(100);
  appendFileSync(file, lines(50, 101) + next.slice(0, 30));
  assert.equal(await follower.poll(false), 50);
  appendFileSync(file, next.slice(30));
  assert.equal(await follower.poll(false), 1);
  assert.equal(await follower.poll(true), 0);
  assert.equal(used(), 151);
  await follower.close();
});

test('rename rotation: the old file is read to its end, the new one from its start, a matched rotated name is not read twice', async () => {
  for (const glob of ['app.log', 'app.log*']) {
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    writeFileSync(file, lines(200));
    const { follower, used } = setup([glob], dir);
    await follower.start(null);
    await follower.poll(true);
    appendFileSync(file, lines(30, 200)); // written just before the rotation, not yet read
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, lines(5, 230)); // the writer still holds the old file
    writeFileSync(file, lines(70, 300, 'payments'));
    await follower.poll(false);
    await follower.poll(true);
    appendFileSync(file, lines(10, 400, 'payments'));
    await follower.poll(true);
    await follower.poll(true);
    assert.equal(used(), 200 + 30 + 5 + 70 + 10, glob);
    await follower.close();
  }
});

test('copytruncate rotation: a file that shrank is read again from its start', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'app.log');
  writeFileSync(file, lines(120));
  const { follower, used } = setup(['app.log'], dir);
  await follower.start(null);
  await follower.poll(true);
  copyFileSync(file, `${file}.1`);
  truncateSync(file, 0);
  appendFileSync(file, lines(40, 500));
  await follower.poll(true);
  assert.equal(used(), 160);
  assert.equal(follower.state().files[0].line, 40, 'line numbers start again');
  await follower.close();
});

test('new files matching a glob are picked up; files there at the start can be skipped to their end', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'a.log'), lines(10));
  const { follower, used } = setup(['*.log'], dir, true);
  await follower.start(null);
  assert.equal(await follower.poll(true), 0, 'tail -F: the existing lines are not read');
  appendFileSync(path.join(dir, 'a.log'), lines(3, 10));
  writeFileSync(path.join(dir, 'b.log'), lines(7));
  writeFileSync(path.join(dir, 'c.log.gz'), 'not followed');
  await follower.poll(true);
  assert.equal(used(), 10);
  assert.equal(follower.count, 2);
  assert.equal(follower.state().files.find((f) => f.path.endsWith('a.log'))!.line, 13, 'line numbers count the skipped lines');
  await follower.close();
});

test('a restart from the state file neither loses nor re-reads a line, even across a rotation while stopped', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'app.log');
  const stateFile = path.join(dir, 'state', 'offsets.json');
  writeFileSync(file, lines(100));
  const first = setup(['app.log'], dir);
  await first.follower.start(await loadFollowState(stateFile));
  await first.follower.poll(true);
  appendFileSync(file, lines(20, 100).slice(0, -10)); // the last of these lines is still being written
  await first.follower.poll(true);
  await saveFollowState(stateFile, first.follower.state());
  await first.follower.close();
  assert.equal(first.used(), 119);
  // While stopped: the line is finished, more lines, then a rename rotation and a new file.
  appendFileSync(file, kafka(119).slice(-10) + lines(25, 120));
  renameSync(file, `${file}.1`);
  writeFileSync(file, lines(8, 900));
  const second = setup(['app.log'], dir);
  await second.follower.start(await loadFollowState(stateFile));
  await second.follower.poll(true);
  await second.follower.poll(true);
  assert.equal(second.used(), 1 + 25 + 8);
  assert.equal(first.used() + second.used(), 100 + 20 + 25 + 8);
  await second.follower.close();
  writeFileSync(stateFile, '{"version": 7, "files": []}');
  await assert.rejects(loadFollowState(stateFile), (err: Error & { hint?: string }) => /has version 7, not 2/.test(err.message) && /move it away/.test(err.hint ?? ''));
});

test('an over-long line is skipped once and reported with its number; a deleted file is let go', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'app.log');
  writeFileSync(file, lines(2));
  const { follower, used, reader } = setup(['app.log'], dir, false, 1000);
  await follower.start(null);
  await follower.poll(true);
  appendFileSync(file, 'x'.repeat(3000));
  await follower.poll(false);
  appendFileSync(file, 'y'.repeat(2000) + '\n' + lines(2, 2));
  await follower.poll(false);
  assert.equal(used(), 4);
  assert.deepEqual(reader.skips.examples.get('too_long')!.map((e) => [e.line, e.detail]), [[3, '5000 bytes, over --max-line-bytes 1000']]);
  rmSync(file);
  await follower.poll(true);
  assert.equal(follower.count, 0);
  await follower.close();
});

test('beyond maxOpen the quietest files are closed, and still read exactly when they grow, rotate or vanish', async () => {
  const dir = tempDir();
  const files = Array.from({ length: 6 }, (_, i) => path.join(dir, `task-${i}.log`));
  files.forEach((f, i) => writeFileSync(f, lines(10 + i, 0, `t${i}`)));
  const reader = new LogReader({ mappings: [], window: { sinceMs: -Infinity, untilMs: Infinity }, components: null, maxGroups: 100, lowConfidence: 0.7, maxLineBytes: 1 << 20 });
  const follower = new LogFollower(reader, { inputs: ['*.log'], cwd: dir, startAtEnd: false, maxLineBytes: 1 << 20, maxOpen: 2 });
  await follower.start(null);
  await follower.poll(true);
  assert.equal(reader.aggregator.linesUsed, 10 + 11 + 12 + 13 + 14 + 15);
  assert.ok(follower.openCount <= 2, `${follower.openCount} files open`);
  assert.equal(follower.count, 6);
  // Every file grows: the parked ones are opened again at a rescan and read from where they stopped.
  files.forEach((f, i) => appendFileSync(f, lines(3, 100, `t${i}`)));
  await follower.poll(false);
  await follower.poll(true);
  assert.equal(reader.aggregator.linesUsed, 75 + 18);
  assert.ok(follower.openCount <= 2);
  // A parked file renamed away and replaced, and one deleted.
  renameSync(files[0], `${files[0]}.1`);
  writeFileSync(files[0], lines(4, 200, 't0'));
  rmSync(files[1]);
  await follower.poll(true);
  await follower.poll(true);
  assert.equal(reader.aggregator.linesUsed, 75 + 18 + 4);
  assert.equal(follower.count, 5);
  await follower.close();
});

// --- Rotation by real writers: Python's RotatingFileHandler (rename) and logrotate (copytruncate) ---

class Writer {
  next = 0;
  constructor(
    readonly file: string,
    readonly maxBytes: number,
  ) {}
  write(n: number): void {
    pythonLogWrite(this.file, this.next, n, this.maxBytes);
    this.next += n;
  }
}

const INPUTS = { directory: (dir: string) => [dir], glob: (dir: string) => [path.join(dir, 'app.log*')], 'single file': (dir: string) => [path.join(dir, 'app.log')] };

/** Polls until a pass reads nothing (a rotation may need a rescan to be seen). */
async function settle(follower: LogFollower): Promise<void> {
  for (let i = 0; i < 10; i++) if ((await follower.poll(true)) === 0 && i > 0) return;
}

for (const [kind, inputs] of Object.entries(INPUTS)) {
  test(`logrotate copytruncate while running, ${kind} input: every line read once, the lines written before the truncate from the copy`, async () => {
    const dir = tempDir();
    const w = new Writer(path.join(dir, 'app.log'), 0);
    const { follower, used } = setup(inputs(dir), dir);
    w.write(100);
    await follower.start(null);
    await settle(follower);
    assert.equal(used(), 100);
    for (let round = 1; round <= 3; round++) {
      w.write(40); // not read before the rotation: only in the copy after it
      logrotateCopytruncate(w.file);
      w.write(30);
      await settle(follower);
      assert.equal(used(), w.next, `round ${round}`);
      assert.equal(readFileSync(`${w.file}.1`, 'utf8').split('\n').length - 1, round === 1 ? 140 : 70);
    }
    assert.deepEqual(follower.takeProblems(), []);
    await follower.close();
  });

  test(`logrotate copytruncate while stopped, ${kind} input: the restart reads the copy from the saved offset and the file from 0`, async () => {
    const dir = tempDir();
    const stateFile = path.join(tempDir(), 'state.json'); // not in the directory read
    const w = new Writer(path.join(dir, 'app.log'), 0);
    w.write(120);
    let total = 0;
    for (let run = 1; run <= 3; run++) {
      const { follower, used } = setup(inputs(dir), dir);
      await follower.start(await loadFollowState(stateFile));
      await settle(follower);
      total += used();
      assert.equal(total, w.next, `run ${run}`);
      assert.deepEqual(follower.takeProblems(), []);
      await saveFollowState(stateFile, follower.state());
      await follower.close();
      // Stopped: more lines, a rotation, more lines (longer than before, so the offset alone would be trusted).
      w.write(35);
      logrotateCopytruncate(w.file);
      w.write(200);
    }
    const { follower, used } = setup(inputs(dir), dir);
    await follower.start(await loadFollowState(stateFile));
    await settle(follower);
    assert.equal(total + used(), w.next);
    await follower.close();
  });

  test(`Python RotatingFileHandler (rename) while running and while stopped, ${kind} input: every line read once`, async () => {
    const dir = tempDir();
    const stateFile = path.join(tempDir(), 'state.json');
    // About 40 lines a file: each write below rotates once at most (a single-file input cannot see a file that came and went between two passes).
    const w = new Writer(path.join(dir, 'app.log'), 6000);
    w.write(30);
    let total = 0;
    for (let run = 1; run <= 3; run++) {
      const { follower, used } = setup(inputs(dir), dir);
      await follower.start(await loadFollowState(stateFile));
      await settle(follower);
      for (let step = 0; step < 6; step++) {
        w.write(25);
        await settle(follower);
        assert.equal(total + used(), w.next, `run ${run}, step ${step}`);
      }
      total += used();
      await saveFollowState(stateFile, follower.state());
      await follower.close();
      w.write(20); // while stopped: at most one rotation
    }
    assert.ok(readdirSync(dir).filter((n) => n.startsWith('app.log.')).length >= 8, 'the files were rotated');
  });
}

test('a copytruncate copy seen before the truncate is not read while the original holds its lines, then read from where the original was', async () => {
  for (const inputs of [['app.log*'], ['app.log']]) {
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    writeFileSync(file, lines(50));
    const { follower, used } = setup(inputs, dir);
    await follower.start(null);
    await follower.poll(true);
    appendFileSync(file, lines(10, 50));
    copyFileSync(file, `${file}.1`); // the copy, seen by a rescan before the truncate
    await follower.poll(true);
    assert.equal(used(), 60);
    appendFileSync(file, lines(5, 60)); // after the copy, before the truncate: only in the original
    await follower.poll(false);
    truncateSync(file, 0);
    appendFileSync(file, lines(7, 65));
    await settle(follower);
    assert.equal(used(), 72, inputs[0]);
    await follower.close();
  }
});

test('a copy that is not read yet: the lines between the last read and the truncate come from it, exactly', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'app.log');
  writeFileSync(file, lines(50));
  const { follower, used } = setup(['app.log'], dir);
  await follower.start(null);
  await follower.poll(true);
  appendFileSync(file, lines(10, 50) + kafka(60).slice(0, 20)); // and half a line
  copyFileSync(file, `${file}-20261202`);
  truncateSync(file, 0);
  appendFileSync(file, lines(3, 100));
  await follower.poll(false);
  assert.equal(used(), 63, 'the half line at the end of the copy is never finished: not counted');
  await follower.close();
});

test('a truncate without a copy is re-read from 0 and says that lines may be missing; two logs that start alike are both read', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'app.log');
  writeFileSync(file, lines(20));
  writeFileSync(path.join(dir, 'other.log'), lines(20)); // the same first bytes, another file
  const { follower, used } = setup([dir], dir);
  await follower.start(null);
  await follower.poll(true);
  assert.equal(used(), 40);
  truncateSync(file, 0);
  appendFileSync(file, lines(4, 200));
  await follower.poll(true);
  assert.equal(used(), 44);
  assert.deepEqual(follower.takeProblems(), [`${file} was truncated or replaced and no copy of it was found beside it: lines written after byte ${Buffer.byteLength(lines(20))} and before the truncate, if any, were not read`]);
  await follower.close();
});

test('an inode reused while stopped is not resumed: the saved offset is trusted only with the saved fingerprint', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'app.log');
  const stateFile = path.join(dir, 'state.json');
  writeFileSync(file, lines(30));
  const first = setup(['app.log'], dir);
  await first.follower.start(null);
  await first.follower.poll(true);
  await saveFollowState(stateFile, first.follower.state());
  await first.follower.close();
  // Rewritten in place (same inode), longer than the saved offset: only the fingerprint tells.
  writeFileSync(file, lines(80, 1000, 'payments'));
  const second = setup(['app.log'], dir);
  await second.follower.start(await loadFollowState(stateFile));
  await second.follower.poll(true);
  assert.equal(second.used(), 80);
  await second.follower.close();
});

test('a corrupt state file is a configuration error naming the field, never a crash', async () => {
  const dir = tempDir();
  const stateFile = path.join(dir, 'state.json');
  const entry = { path: path.join(dir, 'app.log'), dev: 1, ino: 2, offset: 10, line: 1, fp: 'a'.repeat(32), fp_bytes: 10 };
  const cases: Array<[unknown, RegExp]> = [
    [null, /is not valid: it holds null, not an object/],
    [[], /is not valid: it holds a list/],
    [{ version: 2, files: {} }, /"files" is not a list/],
    [{ version: 2, files: [{ ...entry, offset: 12.5 }] }, /files\[0\]\.offset is 12\.5, not a whole number ≥ 0/],
    [{ version: 2, files: [{ ...entry, offset: '100' }] }, /files\[0\]\.offset is "100", not a whole number ≥ 0/],
    [{ version: 2, files: [{ ...entry, line: -1 }] }, /files\[0\]\.line is -1/],
    [{ version: 2, files: [entry, { ...entry, ino: 1e300 }] }, /files\[1\]\.ino is 1e\+300/],
    [{ version: 2, files: [{ ...entry, path: 'relative.log' }] }, /files\[0\]\.path is "relative\.log", not an absolute path/],
    [{ version: 2, files: [{ ...entry, fp: 'xyz' }] }, /files\[0\]\.fp is "xyz", not a fingerprint/],
    [{ version: 2, files: [{ ...entry, fp_bytes: 9999 }] }, /fp_bytes is 9999, more than 256/],
    [{ version: 2, files: [{ ...entry, copy_of: 3 }] }, /copy_of is 3, not "device:inode"/],
    [{ version: 7, files: [] }, /has version 7, not 2/],
  ];
  for (const [doc, message] of cases) {
    writeFileSync(stateFile, JSON.stringify(doc));
    await assert.rejects(loadFollowState(stateFile), (err: Error & { hint?: string }) => err.name === 'ConfigError' && message.test(err.message) && /move it away/.test(err.hint ?? ''), message.source);
  }
  writeFileSync(stateFile, '{"version": 2, "files": [');
  await assert.rejects(loadFollowState(stateFile), /is not JSON/);
  // Version 1 files (no fingerprints) still load.
  writeFileSync(stateFile, JSON.stringify({ version: 1, files: [{ path: entry.path, dev: 1, ino: 2, offset: 10, line: 1 }] }));
  assert.deepEqual((await loadFollowState(stateFile))!.files, [{ path: entry.path, dev: 1, ino: 2, offset: 10, line: 1 }]);
});

test('the state file is replaced atomically, owner-only, and leaves no temporary file', async () => {
  const dir = tempDir();
  const stateFile = path.join(dir, 'state', 'offsets.json');
  await saveFollowState(stateFile, { version: 2, files: [] });
  await saveFollowState(stateFile, { version: 2, files: [{ path: '/x.log', dev: 1, ino: 2, offset: 3, line: 4, fp: 'b'.repeat(32), fp_bytes: 3 }] });
  assert.deepEqual(readdirSync(path.dirname(stateFile)), ['offsets.json']);
  assert.equal(statSync(stateFile).mode & 0o777, 0o600);
  assert.equal((await loadFollowState(stateFile))!.files[0].offset, 3);
});

test('copytruncate of parked files (more files than maxOpen): every line once', async () => {
  const dir = tempDir();
  const writers = ['a', 'b', 'c'].map((n) => new Writer(path.join(dir, `${n}.log`), 0));
  const reader = new LogReader({ mappings: [], window: { sinceMs: -Infinity, untilMs: Infinity }, components: null, maxGroups: 100, lowConfidence: 0.7, maxLineBytes: 1 << 20 });
  const follower = new LogFollower(reader, { inputs: [dir], cwd: dir, startAtEnd: false, maxLineBytes: 1 << 20, maxOpen: 1 });
  for (const w of writers) w.write(60);
  await follower.start(null);
  await settle(follower);
  for (let round = 0; round < 2; round++) {
    for (const w of writers) {
      w.write(25);
      logrotateCopytruncate(w.file);
      w.write(15);
    }
    await settle(follower);
    assert.equal(reader.aggregator.linesUsed, writers.reduce((a, w) => a + w.next, 0), `round ${round}`);
    assert.ok(follower.openCount <= 1);
  }
  assert.deepEqual(follower.takeProblems(), []);
  await follower.close();
});

test('which names may be rotated copies of a file', () => {
  const yes = ['app.log.1', 'app.log-20261202', 'app.1.log', 'app-20261202.log', 'app.log.bak'];
  const no = ['other.log', 'application.log', 'sub/app.log.1', 'app.log'];
  for (const n of yes) assert.equal(mayBeCopyOf(`/var/log/${n}`, '/var/log/app.log'), true, n);
  for (const n of no) assert.equal(mayBeCopyOf(`/var/log/${n}`, '/var/log/app.log'), false, n);
  assert.equal(mayBeCopyOf('/t/attempt=10.log', '/t/attempt=1.log'), false);
  assert.equal(mayBeCopyOf('/t/attempt=1.log.1', '/t/attempt=1.log'), true);
});

test('a new log that starts like a rotated one (a banner) is read once it grows, from its start', async () => {
  const dir = tempDir();
  const banner = '=== payments service starting: config loaded, 4 workers, no timestamps on this line ===\n'.repeat(4);
  const file = path.join(dir, 'app.log');
  writeFileSync(file, banner + lines(30));
  const { follower, used } = setup([dir], dir);
  await follower.start(null);
  await follower.poll(true);
  assert.equal(used(), 30);
  renameSync(file, `${file}.1`); // rename rotation: the new file starts with the same banner
  writeFileSync(file, banner);
  await follower.poll(false); // sees the rename: the new file, banner only so far, looks like a copy of app.log.1
  appendFileSync(file, lines(12, 500));
  await settle(follower);
  assert.equal(used(), 42);
  await follower.close();
});

test('a finished log that starts like another but differs later is read, not taken for a copy', async () => {
  const dir = tempDir();
  const banner = '=== payments service starting: config loaded, 4 workers, no timestamps on this line ===\n'.repeat(4);
  const file = path.join(dir, 'app.log');
  writeFileSync(file, banner + lines(30));
  const { follower, used } = setup([dir], dir);
  await follower.start(null);
  await follower.poll(true);
  writeFileSync(path.join(dir, 'app-old.log'), banner + lines(9, 700)); // written whole, never grows
  await settle(follower);
  assert.equal(used(), 39);
  await follower.close();
});
