/**
 * Following log files like `tail -F`, each line read once across rotations and restarts.
 *
 * A file is known by its identity: device, inode, and a fingerprint of its first bytes (as
 * fluent-bit and Vector do), so that
 * - rename rotation (app.log → app.log.1) keeps following the same file under its new name, and a
 *   rotated name matched by a directory or glob input is not read again;
 * - copytruncate rotation (app.log copied to app.log.1, then emptied) is recognised from both
 *   sides: the copy has the original's fingerprint, so it is not read as a new file; the
 *   original shrank or starts differently, so it is read again from 0; and the lines written
 *   between the last read and the truncate are read from the copy, from the offset already read;
 * - a restart trusts a saved offset only when the file there still has the saved fingerprint and
 *   is at least that long (a copytruncate or a reused inode while stopped is detected, not
 *   resumed inside new content).
 * Offsets are kept in a state file, written atomically and validated when loaded.
 */
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { open, readFile, readdir, rename, stat, mkdir, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { expandInputs } from './inputs.js';
import { fileContext, type FileContext } from './formats.js';
import type { LogReader } from './reader.js';

export const STATE_VERSION = 2;
/** Bytes at the start of a file that identify it (Vector's checksum fingerprint uses 256 too). */
export const FINGERPRINT_BYTES = 256;

export interface FollowStateEntry {
  path: string;
  dev: number;
  ino: number;
  /** Bytes read and counted: the start of the first line not yet complete. */
  offset: number;
  /** Lines counted so far. */
  line: number;
  /** Hash of the first fp_bytes bytes (absent in version 1 files: the inode alone is trusted). */
  fp?: string;
  fp_bytes?: number;
  /** "dev:ino" of the file this one is a copy of (copytruncate's x.log.1, seen before the truncate). */
  copy_of?: string;
}

export interface FollowStateFile {
  version: number;
  files: FollowStateEntry[];
}

interface Followed {
  key: string;
  path: string;
  dev: number;
  ino: number;
  /** null while parked: a file that has been quiet is closed, to stay under the open-file limit. */
  handle: FileHandle | null;
  /** The poll in which lines last came from it (for parking the quietest first). */
  activePoll: number;
  ctx: FileContext;
  /** Bytes read and counted: the start of the first line not yet complete. */
  offset: number;
  /** Lines counted so far (the next line's number minus one). */
  line: number;
  /** Inside a line longer than maxLineBytes: skipping to its end. */
  skipping: number;
  /** Not matched by the inputs (found beside a rotated file): read to its end, then let go. */
  detached: boolean;
  /** Hash of the first fpLen bytes (fpLen grows with the file up to FINGERPRINT_BYTES), for the state file. */
  fp: string;
  fpLen: number;
  /** The first fpLen bytes themselves: compared at every pass that finds the file changed (cheaper than hashing). */
  headBytes: Buffer;
  /**
   * Key of the file this one is a copy of, while that file still holds the same bytes (a
   * copytruncate seen before its truncate): not read, since its lines are read from the original.
   */
  copyOf: string | null;
  /** Size of a copy when it was found (a copy does not grow). */
  copySize: number;
  /** Modification time at the last look: a file truncated and written back to the same size still changes it. */
  mtimeMs: number;
}

export interface FollowOptions {
  inputs: readonly string[];
  cwd: string;
  /** Files found at the first scan without saved state start at their end (like tail -F). */
  startAtEnd: boolean;
  maxLineBytes: number;
  /**
   * Files kept open at most (default 200): an Airflow log tree holds a file per task attempt, far
   * more than the usual limit of 1024 descriptors. Quiet files beyond it are closed ("parked") and
   * looked at again at each rescan, by name, device and inode.
   */
  maxOpen?: number;
}

const key = (dev: number, ino: number) => `${dev}:${ino}`;

interface Identity {
  fp: string;
  fpLen: number;
  headBytes: Buffer;
}

/**
 * Whether `file` may be a rotated copy of `original`: beside it, named like it (logrotate's
 * app.log.1, app.log-20261202, app.1.log with `extension`, app-20261202.log). Identical first bytes alone are not
 * enough: two logs of one service may well start alike.
 */
export function mayBeCopyOf(file: string, original: string): boolean {
  if (file === original || path.dirname(file) !== path.dirname(original)) return false;
  const base = path.basename(original);
  const stem = base.replace(/\.[^.]*$/, '') || base;
  const name = path.basename(file);
  // After the stem a separator: attempt=10.log is not a copy of attempt=1.log.
  return name.startsWith(stem) && (name.length === stem.length || '.-_'.includes(name[stem.length]));
}
const errorCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

export class LogFollower {
  private readonly files = new Map<string, Followed>();
  private readonly buf: Buffer;
  private readonly head = Buffer.allocUnsafe(FINGERPRINT_BYTES);
  private readonly maxOpen: number;
  private polls = 0;
  /** Lines read by the last poll. */
  lastPollLines = 0;
  /** Files whose readNew is under way (a copy may be opened meanwhile): not parked. */
  private readonly reading = new Set<Followed>();
  /** Inputs that are not regular files, already reported. */
  private readonly notFollowed = new Set<string>();
  /** Lines read by start() (from copies of rotated files), counted with the first poll. */
  private carried = 0;
  /** Problems met since they were last taken (a file that could not be opened…), at most 20. */
  private problems: string[] = [];
  /** Checked between chunks: a long catch-up stops there (the offsets stay exact). */
  shouldStop: () => boolean = () => false;

  constructor(
    private readonly reader: LogReader,
    private readonly o: FollowOptions,
  ) {
    this.buf = Buffer.allocUnsafe(Math.max(1 << 20, o.maxLineBytes + 1));
    this.maxOpen = Math.max(1, o.maxOpen ?? 200);
  }

  /** Files open now (the others are parked). */
  get openCount(): number {
    let n = 0;
    for (const f of this.files.values()) if (f.handle) n++;
    return n;
  }

  get count(): number {
    return this.files.size;
  }

  private problem(message: string): void {
    if (this.problems.length < 20) this.problems.push(message);
  }

  /** The problems met since the last call. */
  takeProblems(): string[] {
    const p = this.problems;
    this.problems = [];
    return p;
  }

  // --- fingerprints -------------------------------------------------------------------------

  /**
   * Reads up to `len` bytes from the start of the file into this.head; returns how many. A
   * synchronous read: at most 256 bytes of a page that is almost always cached, done at every
   * pass that finds a file changed, where a round trip through the thread pool would cost ten
   * times as much CPU as the read itself.
   */
  private async readHead(handle: FileHandle, len: number): Promise<number> {
    let n = 0;
    while (n < len) {
      const got = readSync(handle.fd, this.head, n, len - n, n);
      if (got === 0) break;
      n += got;
    }
    return n;
  }

  private hashHead(len: number): string {
    return createHash('sha256').update(this.head.subarray(0, len)).digest('hex').slice(0, 32);
  }

  private async fingerprint(handle: FileHandle, size: number): Promise<Identity> {
    const n = await this.readHead(handle, Math.min(size, FINGERPRINT_BYTES));
    return { fp: this.hashHead(n), fpLen: n, headBytes: Buffer.from(this.head.subarray(0, n)) };
  }

  /** Whether the file starts with the bytes fingerprinted as (fp, fpLen). */
  private async startsWith(handle: FileHandle, fp: string, fpLen: number): Promise<boolean> {
    const n = await this.readHead(handle, fpLen);
    return n === fpLen && this.hashHead(n) === fp;
  }

  /**
   * Whether a followed file still holds what was read from it: not shorter than the offset, and
   * starting with the fingerprinted bytes (then the fingerprint grows with the file).
   */
  private async stillSame(f: Followed, handle: FileHandle, size: number): Promise<boolean> {
    if (size < f.offset) return false;
    const n = await this.readHead(handle, Math.min(size, FINGERPRINT_BYTES));
    if (n < f.fpLen || !this.head.subarray(0, f.fpLen).equals(f.headBytes)) return false;
    if (n > f.fpLen) {
      f.fp = this.hashHead(n);
      f.fpLen = n;
      f.headBytes = Buffer.from(this.head.subarray(0, n));
    }
    return true;
  }

  /** A followed file (not a copy itself) whose fingerprint the given file starts with. */
  private async originalOf(file: string, handle: FileHandle, size: number, self: string): Promise<Followed | null> {
    const dir = path.dirname(file) + path.sep;
    let n = -1;
    for (const f of this.files.values()) {
      if (f.copyOf !== null || f.key === self || f.fpLen === 0 || f.fpLen > size) continue;
      // Same directory first (a string comparison: a tree of thousands of files is scanned often).
      if (!f.path.startsWith(dir) || f.path.indexOf(path.sep, dir.length) >= 0 || !mayBeCopyOf(file, f.path)) continue;
      if (n < 0) n = await this.readHead(handle, Math.min(size, FINGERPRINT_BYTES));
      if (n >= f.fpLen && this.head.subarray(0, f.fpLen).equals(f.headBytes)) return f;
    }
    return null;
  }


  // --- start --------------------------------------------------------------------------------

  /**
   * First scan: resumes saved offsets where the file is still the one saved, finishes files
   * rotated away while pipeobs was stopped (found beside their old name by inode, or by
   * fingerprint when copied), places new files.
   */
  async start(saved: FollowStateFile | null): Promise<void> {
    const matched = new Map<string, { file: string; dev: number; ino: number; size: number }>();
    for (const file of await this.matches()) {
      const st = await stat(file).catch(() => null);
      if (st && this.regular(file, st) && !matched.has(key(st.dev, st.ino))) matched.set(key(st.dev, st.ino), { file, dev: st.dev, ino: st.ino, size: st.size });
    }
    const orphans: FollowStateEntry[] = [];
    const links: Array<[Followed, string]> = [];
    for (const s of saved?.files ?? []) {
      const k = key(s.dev, s.ino);
      const m = matched.get(k);
      const where = m ? m.file : await this.findByInode(s);
      if (where === null || this.files.has(k)) {
        orphans.push(s);
        continue;
      }
      const f = await this.resume(where, s, !m);
      if (f === null) orphans.push(s);
      else {
        matched.delete(k);
        if (s.copy_of) links.push([f, s.copy_of]);
      }
    }
    // Copies whose original is still followed with the same bytes stay copies.
    for (const [copy, of] of links) {
      if (this.files.get(of)?.copyOf === null) await this.linkCopy(copy, this.files.get(of)!);
    }
    // Saved files whose bytes are no longer where they were: rotated away and gone, or emptied by
    // a copytruncate. Their lines after the saved offset are read from a copy if there is one.
    for (const s of orphans) {
      const lostKey = key(s.dev, s.ino);
      const linked = [...this.files.values()].find((g) => g.copyOf === null && g.key !== lostKey && savedCopyOf(saved!, g.key) === lostKey);
      if (linked) continue; // resumed at the offset saved for it
      const copy = s.fp && s.fp_bytes ? await this.findCopy(s, [...matched.values()].map((m) => m.file)) : null;
      if (copy) {
        matched.delete(key(copy.dev, copy.ino));
        await this.add(copy.file, copy.dev, copy.ino, Math.min(s.offset, copy.size), copy.size >= s.offset ? s.line : -1, !(await this.isMatched(copy.file)));
      } else if (s.offset > 0) {
        this.problem(`${s.path} changed while pipeobs was stopped (rotated away and gone, or truncated) and no copy of it was found beside it: lines written to it after byte ${s.offset} (where reading stopped), if any, were not read`);
      }
    }
    for (const m of matched.values()) {
      if (this.files.has(key(m.dev, m.ino))) continue;
      if (this.o.startAtEnd && saved === null) await this.add(m.file, m.dev, m.ino, m.size, -1, false);
      else this.carried += await this.discover(m.file, m.dev, m.ino, m.size);
    }
  }

  /**
   * The file opened for reading, or null after saying why it could not be. With `expected` (the
   * device and inode a scan found under that name), null too when the name holds another file by
   * the time it is opened: a rotation renamed it in between, and the next scan sees it as it is.
   * Opening the newer file instead would read a followed file a second time, from its start.
   */
  private async openOrSay(file: string, expected?: string): Promise<FileHandle | null> {
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      this.problem(`cannot open ${file}: ${errorCode(err)}`);
      return null;
    }
    if (expected !== undefined) {
      const st = await handle.stat();
      if (key(st.dev, st.ino) !== expected) {
        await handle.close();
        return null;
      }
    }
    return handle;
  }

  /** A saved file found again (by name or inode): resumed when it still holds the bytes saved. */
  private async resume(file: string, s: FollowStateEntry, detached: boolean): Promise<Followed | null> {
    const handle = await this.openOrSay(file);
    if (!handle) return null;
    const size = (await handle.stat()).size;
    const same = size >= s.offset && (s.fp === undefined || (await this.startsWith(handle, s.fp, s.fp_bytes ?? 0)));
    if (!same) {
      await handle.close();
      return null;
    }
    // The saved fingerprint was just checked: this.head holds its bytes.
    const id = s.fp === undefined ? await this.fingerprint(handle, size) : { fp: s.fp, fpLen: s.fp_bytes ?? 0, headBytes: Buffer.from(this.head.subarray(0, s.fp_bytes ?? 0)) };
    return this.track(handle, file, s.dev, s.ino, s.offset, s.copy_of ? -1 : s.line, detached, id);
  }

  /** A saved file no longer under its name: looked for beside it by inode. */
  private async findByInode(s: FollowStateEntry): Promise<string | null> {
    const dir = path.dirname(s.path);
    try {
      for (const name of await readdir(dir)) {
        const p = path.join(dir, name);
        const st = await stat(p).catch(() => null);
        if (st && st.isFile() && st.dev === s.dev && st.ino === s.ino) return p;
      }
    } catch {
      /* the directory is gone too */
    }
    return null;
  }

  /**
   * A file starting with the bytes fingerprinted for `lost` (its copy): among the given files,
   * then beside its path (the names starting like it first). Compressed files are not looked in.
   */
  private async findCopy(lost: { path: string; fp?: string; fp_bytes?: number }, among: string[]): Promise<{ file: string; dev: number; ino: number; size: number } | null> {
    const fpLen = lost.fp_bytes ?? 0;
    if (!lost.fp || fpLen === 0) return null;
    const dir = path.dirname(lost.path);
    let beside: string[] = [];
    try {
      beside = (await readdir(dir)).map((n) => path.join(dir, n)).filter((p) => mayBeCopyOf(p, lost.path));
    } catch {
      /* gone */
    }
    for (const file of new Set([...among, ...beside])) {
      if (file.endsWith('.gz') || !mayBeCopyOf(file, lost.path)) continue;
      const st = await stat(file).catch(() => null);
      if (!st || !st.isFile() || st.size < fpLen || this.files.has(key(st.dev, st.ino))) continue;
      let handle: FileHandle;
      try {
        handle = await open(file, 'r');
      } catch {
        continue;
      }
      try {
        if (await this.startsWith(handle, lost.fp, fpLen)) return { file, dev: st.dev, ino: st.ino, size: st.size };
      } finally {
        await handle.close();
      }
    }
    return null;
  }

  private async matches(): Promise<string[]> {
    const { files } = await expandInputs(this.o.inputs.filter((i) => i !== '-'), this.o.cwd);
    // Compressed files are finished rotations: their lines were read before they were compressed.
    return files.filter((f) => !f.endsWith('.gz'));
  }

  /** Pipes and devices have no offsets to follow: said once, then left out. */
  private regular(file: string, st: { isFile(): boolean; isFIFO(): boolean }): boolean {
    if (st.isFile()) return true;
    if (!this.notFollowed.has(file)) {
      this.notFollowed.add(file);
      this.problem(`${file} is ${st.isFIFO() ? 'a FIFO' : 'not a regular file'}: it cannot be followed with --server; read it without --server (as a stream)`);
    }
    return false;
  }

  private async isMatched(file: string): Promise<boolean> {
    return (await this.matches()).includes(file);
  }

  // --- files --------------------------------------------------------------------------------

  /** Opens and follows a file from `offset`; `line` -1 counts the lines before the offset. */
  private async add(file: string, dev: number, ino: number, offset: number, line: number, detached: boolean): Promise<Followed | null> {
    const known = this.files.get(key(dev, ino));
    if (known) {
      known.path = file;
      return known;
    }
    const handle = await this.openOrSay(file, key(dev, ino));
    if (!handle) return null;
    const id = await this.fingerprint(handle, (await handle.stat()).size);
    return this.track(handle, file, dev, ino, offset, line, detached, id);
  }

  private async track(handle: FileHandle, file: string, dev: number, ino: number, offset: number, line: number, detached: boolean, id: Identity): Promise<Followed> {
    const k = key(dev, ino);
    const f: Followed = { key: k, path: file, dev, ino, handle, activePoll: this.polls, ctx: fileContext(file), offset, line, skipping: 0, detached, fp: id.fp, fpLen: id.fpLen, headBytes: id.headBytes, copyOf: null, copySize: 0, mtimeMs: -1 };
    if (line < 0) f.line = await this.countLines(handle, offset);
    this.files.set(k, f);
    await this.parkQuietest();
    return f;
  }

  /**
   * A file not followed yet: a copy of a followed file (its lines are that file's), or a new file
   * read from its start. Returns the lines read meanwhile.
   */
  private async discover(file: string, dev: number, ino: number, size: number): Promise<number> {
    const k = key(dev, ino);
    const handle = await this.openOrSay(file, k);
    if (!handle) return 0;
    let original: Followed | null;
    try {
      original = await this.originalOf(file, handle, size, k);
    } catch (err) {
      await handle.close();
      this.problem(`cannot read ${file}: ${errorCode(err)}`);
      return 0;
    }
    let lines = 0;
    if (original !== null) {
      // Has the original been truncated already? Then this copy is read from where the original was.
      lines = await this.readNew(original, file);
      if (this.files.has(k)) {
        await handle.close();
        return lines;
      }
      // Still whole: a copy holds its bytes up to where both are read (a log that starts alike does not).
      if (await this.sameBytesBefore(handle, original, Math.min(size, original.offset))) {
        await handle.close();
        const copy = await this.add(file, dev, ino, 0, 0, false);
        if (copy) await this.linkCopy(copy, original, size);
        return lines;
      }
    }
    // New: read from its start (by this pass, or at once by discoverAndRead).
    await this.track(handle, file, dev, ino, 0, 0, false, await this.fingerprint(handle, size));
    return lines;
  }

  /**
   * A copy does not grow (logrotate's copy, a backup): one that does was only a new log starting
   * like another (a banner, no timestamps), and is read from its start.
   */
  private async copyGrew(f: Followed): Promise<number> {
    const st = await stat(f.path).catch(() => null);
    if (!st || key(st.dev, st.ino) !== f.key || st.size <= f.copySize) return 0;
    f.copyOf = null;
    f.offset = 0;
    f.line = 0;
    f.skipping = 0;
    const handle = await this.openOrSay(f.path);
    if (!handle) {
      this.files.delete(f.key);
      return 0;
    }
    f.handle = handle;
    f.activePoll = this.polls;
    return this.readNew(f);
  }

  /**
   * Whether a file that starts like `original` also holds the same bytes just before `end` (at
   * most 256 of them): a copy does, a log that merely starts alike does not. True when the
   * original no longer holds what was read from it (truncated: the copy is then all there is).
   */
  private async sameBytesBefore(handle: FileHandle, original: Followed, end: number): Promise<boolean> {
    const len = Math.min(FINGERPRINT_BYTES, end);
    if (end <= original.fpLen || len === 0) return true;
    const theirs = Buffer.alloc(len);
    let other: FileHandle | null = original.handle;
    let opened = false;
    try {
      if (other === null) {
        other = await open(original.path, 'r');
        opened = true;
      }
      const st = await other.stat();
      if (key(st.dev, st.ino) !== original.key || st.size < original.offset) return true;
      // Truncated and written again (a parked original is only looked at later): the copy is all there is.
      const n = await this.readHead(other, original.fpLen);
      if (n < original.fpLen || !this.head.subarray(0, n).equals(original.headBytes)) return true;
      if ((await other.read(theirs, 0, len, end - len)).bytesRead < len) return true;
      const mine = Buffer.alloc(len);
      if ((await handle.read(mine, 0, len, end - len)).bytesRead < len) return false;
      return mine.equals(theirs);
    } catch {
      return true;
    } finally {
      if (opened) await other?.close().catch(() => {});
    }
  }

  /** discover(), then the file's lines at once (for a file found after this pass's list was made). */
  private async discoverAndRead(file: string, st: { dev: number; ino: number; size: number }): Promise<number> {
    const lines = await this.discover(file, st.dev, st.ino, st.size);
    const f = this.files.get(key(st.dev, st.ino));
    return lines + (f ? await this.readNew(f) : 0);
  }

  private async linkCopy(copy: Followed, original: Followed, size?: number): Promise<void> {
    copy.copyOf = original.key;
    copy.copySize = size ?? (copy.handle ? (await copy.handle.stat()).size : copy.offset);
    await copy.handle?.close().catch(() => {});
    copy.handle = null;
  }

  /** A copy whose original no longer holds its bytes: read from where the original was read to. */
  private async unlinkCopy(copy: Followed, original: { offset: number; line: number; skipping: number }): Promise<number> {
    copy.copyOf = null;
    if (copy.handle === null) {
      try {
        copy.handle = await open(copy.path, 'r');
      } catch (err) {
        this.problem(`cannot open ${copy.path}: ${errorCode(err)}`);
        this.files.delete(copy.key);
        return 0;
      }
    }
    const size = (await copy.handle.stat()).size;
    if (size >= original.offset) {
      copy.offset = original.offset;
      copy.line = original.line;
      copy.skipping = original.skipping;
    } else {
      copy.offset = size;
      copy.line = await this.countLines(copy.handle, size);
    }
    copy.activePoll = this.polls;
    return this.readNew(copy);
  }

  /**
   * The bytes of `f` after its offset are gone from it (truncated or replaced): read them from its
   * copy when one can be found. Called before f's offset is reset.
   */
  private async readFromCopy(f: Followed, candidate?: string): Promise<number> {
    for (const g of this.files.values()) if (g.copyOf === f.key) return this.unlinkCopy(g, f);
    const copy = await this.findCopy({ path: f.path, fp: f.fp, fp_bytes: f.fpLen }, candidate ? [candidate] : []);
    if (copy === null) {
      if (f.offset > 0) this.problem(`${f.path} was truncated or replaced and no copy of it was found beside it: lines written after byte ${f.offset} and before the truncate, if any, were not read`);
      return 0;
    }
    const g = await this.add(copy.file, copy.dev, copy.ino, copy.size, 0, !(await this.isMatched(copy.file)));
    return g ? this.unlinkCopy(g, f) : 0;
  }

  /** Stops following a file; its copies are now read on their own, from where it was read to. */
  private async drop(f: Followed): Promise<number> {
    await f.handle?.close().catch(() => {});
    f.handle = null;
    this.files.delete(f.key);
    let lines = 0;
    for (const g of [...this.files.values()]) if (g.copyOf === f.key) lines += await this.unlinkCopy(g, f);
    return lines;
  }

  /** Closes the quietest files while more than maxOpen are open (never one being read). */
  private async parkQuietest(): Promise<void> {
    const open = [...this.files.values()].filter((f) => f.handle && !f.detached && !this.reading.has(f));
    if (open.length <= this.maxOpen) return;
    open.sort((a, b) => a.activePoll - b.activePoll);
    for (const f of open.slice(0, open.length - this.maxOpen)) {
      await f.handle!.close().catch(() => {});
      f.handle = null;
    }
  }

  /**
   * A parked file at a rescan: null when it has not changed (it stays parked), else true once it
   * is open again, or false when its name now points to another file (handled as a rotation).
   */
  private async unpark(f: Followed, st: { dev: number; ino: number; size: number; mtimeMs: number } | null): Promise<boolean | null> {
    if (!st || key(st.dev, st.ino) !== f.key) return false;
    if (st.size === f.offset && f.skipping === 0 && st.mtimeMs === f.mtimeMs) return null;
    try {
      const handle = await open(f.path, 'r');
      const now = await handle.stat();
      if (key(now.dev, now.ino) !== f.key) {
        await handle.close();
        return false;
      }
      f.handle = handle;
      f.activePoll = this.polls;
      return true;
    } catch (err) {
      this.problem(`cannot open ${f.path}: ${errorCode(err)}`);
      return null;
    }
  }

  /** Lines before `offset`, so that line numbers stay right when following starts mid-file. */
  private async countLines(handle: FileHandle, offset: number): Promise<number> {
    let n = 0;
    for (let pos = 0; pos < offset; ) {
      const { bytesRead } = await handle.read(this.buf, 0, Math.min(this.buf.length, offset - pos), pos);
      if (bytesRead === 0) break;
      for (let i = this.buf.indexOf(10, 0); i >= 0 && i < bytesRead; i = this.buf.indexOf(10, i + 1)) n++;
      pos += bytesRead;
    }
    return n;
  }

  /** One pass: new files (when rescan), then everything appended to every followed file. */
  async poll(rescan: boolean): Promise<number> {
    let lines = this.carried;
    this.carried = 0;
    if (rescan) {
      for (const file of await this.matches()) {
        const st = await stat(file).catch(() => null);
        if (!st || !this.regular(file, st)) continue;
        const known = this.files.get(key(st.dev, st.ino));
        if (known) known.path = file;
        else lines += await this.discover(file, st.dev, st.ino, st.size);
      }
    }
    this.polls++;
    for (const f of [...this.files.values()]) {
      if (this.shouldStop()) break;
      if (!this.files.has(f.key)) continue;
      if (f.copyOf !== null) {
        if (rescan) lines += await this.copyGrew(f);
        continue;
      }
      if (f.handle === null) {
        // Parked: looked at only at rescans, by name.
        if (!rescan) continue;
        const st = await stat(f.path).catch(() => null);
        const opened = await this.unpark(f, st);
        if (opened === null) continue;
        if (opened === false) {
          const renamed = await this.findMatched(f);
          if (renamed) {
            f.path = renamed;
            if ((await this.unpark(f, await stat(renamed).catch(() => null))) !== true) continue;
          } else {
            // Gone or replaced while parked: it had been read to its end when it was parked.
            lines += await this.drop(f);
            if (st && !this.files.has(key(st.dev, st.ino))) lines += await this.discoverAndRead(f.path, st);
            continue;
          }
        }
      }
      const read = await this.readNew(f);
      if (read > 0) f.activePoll = this.polls;
      lines += read;
      if (this.shouldStop()) break;
      // Has the name moved on (rename rotation, deletion)? The old file has been read to its end.
      const oldPath = f.path;
      const st = await stat(oldPath).catch(() => null);
      if (!st || key(st.dev, st.ino) !== f.key) {
        // Still matched under another name (app.log → app.log.1 with an app.log* glob)? Keep following it there.
        const renamed = f.detached ? null : await this.findMatched(f);
        if (renamed) f.path = renamed;
        else {
          lines += await this.readNew(f);
          lines += await this.drop(f);
        }
        // The new file under the old name: read from its start (unless it is a copy).
        if (st && !this.files.has(key(st.dev, st.ino))) lines += await this.discoverAndRead(oldPath, st);
      } else if (f.detached) {
        // Found beside a rotated file, not matched by the inputs: read to its end, then let go.
        lines += await this.drop(f);
      }
    }
    await this.parkQuietest();
    this.lastPollLines = lines;
    return lines;
  }

  private async findMatched(f: Followed): Promise<string | null> {
    for (const file of await this.matches()) {
      const st = await stat(file).catch(() => null);
      if (st && key(st.dev, st.ino) === f.key) return file;
    }
    return null;
  }

  /** Reads whole lines appended since the offset; a trailing partial line waits for its end. */
  private async readNew(f: Followed, copyCandidate?: string): Promise<number> {
    if (f.handle === null || f.copyOf !== null) return 0;
    this.reading.add(f);
    try {
      return await this.readNewOpen(f, f.handle, copyCandidate);
    } finally {
      this.reading.delete(f);
    }
  }

  private async readNewOpen(f: Followed, handle: FileHandle, copyCandidate?: string): Promise<number> {
    let size: number;
    let mtimeMs: number;
    try {
      ({ size, mtimeMs } = await handle.stat());
    } catch {
      return 0;
    }
    let recovered = 0;
    // Something changed: is it still the file read so far? (One read of its first bytes.)
    const changed = size !== f.offset || mtimeMs !== f.mtimeMs || copyCandidate !== undefined;
    f.mtimeMs = mtimeMs;
    if (changed && !(await this.stillSame(f, handle, size))) {
      // Truncated (copytruncate) or rewritten: first the lines it had after the offset, from its copy.
      recovered = await this.readFromCopy(f, copyCandidate);
      f.offset = 0;
      f.line = 0;
      f.skipping = 0;
      Object.assign(f, await this.fingerprint(handle, size));
    }
    const before = f.line;
    while (f.offset < size) {
      if (this.shouldStop()) break;
      const want = Math.min(this.buf.length, size - f.offset);
      const { bytesRead } = await handle.read(this.buf, 0, want, f.offset);
      if (bytesRead === 0) break;
      let from = 0;
      if (f.skipping > 0) {
        const nl = this.buf.indexOf(10, 0);
        if (nl < 0 || nl >= bytesRead) {
          f.skipping += bytesRead;
          f.offset += bytesRead;
          continue;
        }
        this.reader.linesRead++;
        this.reader.skips.add('too_long', f.path, ++f.line, `${f.skipping + nl} bytes, over --max-line-bytes ${this.o.maxLineBytes}`);
        f.skipping = 0;
        from = nl + 1;
      }
      const last = this.buf.lastIndexOf(10, bytesRead - 1);
      if (last >= from) {
        f.line += this.reader.processRegion(this.buf, from, last, f.line + 1, f.path, f.ctx);
        f.offset += last + 1;
      } else {
        f.offset += from;
        const pending = size - f.offset;
        if (pending > this.o.maxLineBytes) {
          // A line too long to hold: counted once, skipped to its end.
          f.skipping = bytesRead - from;
          f.offset += bytesRead - from;
          continue;
        }
        break;
      }
    }
    return f.line - before + recovered;
  }

  state(): FollowStateFile {
    return {
      version: STATE_VERSION,
      files: [...this.files.values()].map((f) => {
        const entry: FollowStateEntry = { path: f.path, dev: f.dev, ino: f.ino, offset: f.offset, line: f.line, fp: f.fp, fp_bytes: f.fpLen };
        const original = f.copyOf === null ? undefined : this.files.get(f.copyOf);
        if (original) {
          // Read as far as its original (the line number is counted again at a restart).
          entry.offset = Math.min(original.offset, f.copySize);
          entry.line = original.line;
          entry.copy_of = original.key;
        }
        return entry;
      }),
    };
  }

  async close(): Promise<void> {
    for (const f of this.files.values()) await f.handle?.close().catch(() => {});
    this.files.clear();
  }
}

function savedCopyOf(saved: FollowStateFile, k: string): string | undefined {
  return saved.files.find((s) => key(s.dev, s.ino) === k)?.copy_of;
}

// --- the state file -------------------------------------------------------------------------

const MOVE_AWAY = 'move it away to start over (the files are then read from their end, or from their start with --start-at beginning)';

/** Checks every field of a parsed state file; a bad one is a configuration error naming it. */
export function validateFollowState(doc: unknown, file: string): FollowStateFile {
  const bad = (what: string): never => {
    throw new ConfigError(`the state file ${file} is not valid: ${what}`, MOVE_AWAY);
  };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) bad(`it holds ${doc === null ? 'null' : Array.isArray(doc) ? 'a list' : typeof doc}, not an object`);
  const d = doc as Record<string, unknown>;
  if (d.version !== 1 && d.version !== STATE_VERSION) {
    throw new ConfigError(`the state file ${file} has version ${JSON.stringify(d.version)}, not ${STATE_VERSION}`, MOVE_AWAY);
  }
  if (!Array.isArray(d.files)) bad('"files" is not a list');
  const wholeNumber = (v: unknown, where: string) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(`${where} is ${JSON.stringify(v)}, not a whole number ≥ 0`);
    return v as number;
  };
  const files = (d.files as unknown[]).map((raw, i) => {
    const at = `files[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(`${at} is not an object`);
    const e = raw as Record<string, unknown>;
    if (typeof e.path !== 'string' || e.path === '' || !path.isAbsolute(e.path)) bad(`${at}.path is ${JSON.stringify(e.path)}, not an absolute path`);
    const entry: FollowStateEntry = {
      path: e.path as string,
      dev: wholeNumber(e.dev, `${at}.dev`),
      ino: wholeNumber(e.ino, `${at}.ino`),
      offset: wholeNumber(e.offset, `${at}.offset`),
      line: wholeNumber(e.line, `${at}.line`),
    };
    if (e.fp !== undefined || d.version === STATE_VERSION) {
      if (typeof e.fp !== 'string' || !/^[0-9a-f]{32}$/.test(e.fp)) bad(`${at}.fp is ${JSON.stringify(e.fp)}, not a fingerprint (32 hex digits)`);
      const n = wholeNumber(e.fp_bytes, `${at}.fp_bytes`);
      if (n > FINGERPRINT_BYTES) bad(`${at}.fp_bytes is ${n}, more than ${FINGERPRINT_BYTES}`);
      entry.fp = e.fp as string;
      entry.fp_bytes = n;
    }
    if (e.copy_of !== undefined) {
      if (typeof e.copy_of !== 'string' || !/^\d+:\d+$/.test(e.copy_of)) bad(`${at}.copy_of is ${JSON.stringify(e.copy_of)}, not "device:inode"`);
      entry.copy_of = e.copy_of as string;
    }
    return entry;
  });
  return { version: STATE_VERSION, files };
}

export async function loadFollowState(file: string): Promise<FollowStateFile | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`cannot read the state file ${file}: ${errorCode(err)}`, 'choose another with --state-file, or run without one: --no-state');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`the state file ${file} is not JSON (${(err as Error).message})`, MOVE_AWAY);
  }
  return validateFollowState(doc, file);
}

/**
 * Written to a temporary file, flushed to disk, and renamed over the old one (then the directory
 * flushed), so a crash or a power cut leaves the old state or the new one, never half of one.
 */
export async function saveFollowState(file: string, state: FollowStateFile): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify(state, null, 1) + '\n');
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await handle.close();
  await rename(tmp, file);
  const d = await open(dir, 'r').catch(() => null);
  if (d) await d.sync().catch(() => {}).finally(() => d.close());
}
