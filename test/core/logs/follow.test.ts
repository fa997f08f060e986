/**
 * Following files with exact line counts: appends, partial lines, rename and copytruncate
 * rotation, new files, restarts from the state file, over-long lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../../helpers/cli.js';
import { LogFollower, loadFollowState, saveFollowState } from '../../../src/core/logs/follow.js';
import { LogReader } from '../../../src/core/logs/reader.js';

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
