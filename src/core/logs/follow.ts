/**
 * Following log files like `tail -F`: appended lines, new files matching the inputs, rename
 * rotation (the old file is read to its end through the open handle, then the new one from
 * its start) and copytruncate rotation (a file that shrank is read again from its start).
 * Files are known by device and inode, so a rotated file matched under its new name is not
 * read twice; offsets are kept in a state file, so a restart neither loses nor re-reads a line.
 */
import { open, readFile, readdir, rename, stat, writeFile, mkdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { expandInputs } from './inputs.js';
import { fileContext, type FileContext } from './formats.js';
import type { LogReader } from './reader.js';

export const STATE_VERSION = 1;

export interface FollowStateFile {
  version: number;
  files: Array<{ path: string; dev: number; ino: number; offset: number; line: number }>;
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
  /** The name now points elsewhere (rotated or deleted): drop once read to the end. */
  detached: boolean;
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

export class LogFollower {
  private readonly files = new Map<string, Followed>();
  private readonly buf: Buffer;
  private readonly maxOpen: number;
  private polls = 0;
  /** Lines read by the last poll. */
  lastPollLines = 0;
  /** Problems met since they were last taken (a file that could not be opened…), at most 20. */
  private problems: string[] = [];

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

  /** First scan: resumes saved offsets, reads rotated-away files to their end, places new files. */
  async start(saved: FollowStateFile | null): Promise<void> {
    const savedByKey = new Map((saved?.files ?? []).map((f) => [key(f.dev, f.ino), f]));
    for (const file of await this.matches()) {
      let st;
      try {
        st = await stat(file);
      } catch {
        continue;
      }
      const k = key(st.dev, st.ino);
      const s = savedByKey.get(k);
      if (s) {
        savedByKey.delete(k);
        const shrank = st.size < s.offset;
        await this.add(file, st.dev, st.ino, shrank ? 0 : s.offset, shrank ? 0 : s.line);
      } else if (this.o.startAtEnd && saved === null) {
        await this.add(file, st.dev, st.ino, st.size, -1);
      } else await this.add(file, st.dev, st.ino, 0, 0);
    }
    // Saved files no longer under their name: rotated while pipeobs was down. Find them by inode
    // beside their old name, and finish reading them.
    for (const s of savedByKey.values()) {
      const dir = path.dirname(s.path);
      try {
        for (const name of await readdir(dir)) {
          const p = path.join(dir, name);
          const st = await stat(p).catch(() => null);
          if (st && st.dev === s.dev && st.ino === s.ino && st.size >= s.offset) {
            const f = await this.add(p, st.dev, st.ino, s.offset, s.line);
            if (f) f.detached = true;
            break;
          }
        }
      } catch {
        /* the directory is gone too */
      }
    }
  }

  private async matches(): Promise<string[]> {
    const { files } = await expandInputs(this.o.inputs.filter((i) => i !== '-'), this.o.cwd);
    // Compressed files are finished rotations: their lines were read before they were compressed.
    return files.filter((f) => !f.endsWith('.gz'));
  }

  private async add(file: string, dev: number, ino: number, offset: number, line: number): Promise<Followed | null> {
    const k = key(dev, ino);
    const known = this.files.get(k);
    if (known) {
      known.path = file;
      return known;
    }
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      this.problem(`cannot open ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return null;
    }
    const f: Followed = { key: k, path: file, dev, ino, handle, activePoll: this.polls, ctx: fileContext(file), offset, line, skipping: 0, detached: false };
    if (line < 0) f.line = await this.countLines(handle, offset);
    this.files.set(k, f);
    await this.parkQuietest();
    return f;
  }

  /** Closes the quietest files while more than maxOpen are open. */
  private async parkQuietest(): Promise<void> {
    const open = [...this.files.values()].filter((f) => f.handle && !f.detached);
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
  private async unpark(f: Followed, st: { dev: number; ino: number; size: number } | null): Promise<boolean | null> {
    if (!st || key(st.dev, st.ino) !== f.key) return false;
    if (st.size === f.offset && f.skipping === 0) return null;
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
      this.problem(`cannot open ${f.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
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
    let lines = 0;
    if (rescan) {
      for (const file of await this.matches()) {
        const st = await stat(file).catch(() => null);
        if (st && !this.files.has(key(st.dev, st.ino))) await this.add(file, st.dev, st.ino, 0, 0);
        else if (st) this.files.get(key(st.dev, st.ino))!.path = file;
      }
    }
    this.polls++;
    for (const f of [...this.files.values()]) {
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
            this.files.delete(f.key);
            if (st && !this.files.has(key(st.dev, st.ino))) {
              const next = await this.add(f.path, st.dev, st.ino, 0, 0);
              if (next) lines += await this.readNew(next);
            }
            continue;
          }
        }
      }
      const read = await this.readNew(f);
      if (read > 0) f.activePoll = this.polls;
      lines += read;
      // Has the name moved on (rename rotation, deletion)? The old file has been read to its end.
      const oldPath = f.path;
      const st = await stat(oldPath).catch(() => null);
      if (!st || key(st.dev, st.ino) !== f.key) {
        // Still matched under another name (app.log → app.log.1 with an app.log* glob)? Keep following it there.
        const renamed = f.detached ? null : await this.findMatched(f);
        if (renamed) f.path = renamed;
        else {
          lines += await this.readNew(f);
          await f.handle?.close().catch(() => {});
          this.files.delete(f.key);
        }
        // The new file under the old name is read from its start.
        if (st && !this.files.has(key(st.dev, st.ino))) {
          const next = await this.add(oldPath, st.dev, st.ino, 0, 0);
          if (next) lines += await this.readNew(next);
        }
      } else if (f.detached) {
        // Found by inode at start-up after a rotation while pipeobs was down: read to its end, then let go.
        await f.handle?.close().catch(() => {});
        this.files.delete(f.key);
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
  private async readNew(f: Followed): Promise<number> {
    const handle = f.handle;
    if (handle === null) return 0;
    let size: number;
    try {
      size = (await handle.stat()).size;
    } catch {
      return 0;
    }
    if (size < f.offset) {
      // copytruncate: the file was emptied and written again.
      f.offset = 0;
      f.line = 0;
      f.skipping = 0;
    }
    const before = f.line;
    while (f.offset < size) {
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
    return f.line - before;
  }

  state(): FollowStateFile {
    return { version: STATE_VERSION, files: [...this.files.values()].map((f) => ({ path: f.path, dev: f.dev, ino: f.ino, offset: f.offset + 0, line: f.line })) };
  }

  async close(): Promise<void> {
    for (const f of this.files.values()) await f.handle?.close().catch(() => {});
    this.files.clear();
  }
}

export async function loadFollowState(file: string): Promise<FollowStateFile | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`cannot read the state file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'choose another with --state-file, or run without one: --no-state');
  }
  let doc: FollowStateFile;
  try {
    doc = JSON.parse(text) as FollowStateFile;
  } catch (err) {
    throw new ConfigError(`the state file ${file} is not JSON (${(err as Error).message})`, 'move it away to start over (the files are then read from their end)');
  }
  if (doc?.version !== STATE_VERSION || !Array.isArray(doc.files)) throw new ConfigError(`the state file ${file} has version ${String(doc?.version)}, not ${STATE_VERSION}`, 'move it away to start over (the files are then read from their end)');
  return doc;
}

/** Written to a temporary file and renamed, so a crash never leaves half a state file. */
export async function saveFollowState(file: string, state: FollowStateFile): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 1) + '\n');
  await rename(tmp, file);
}
