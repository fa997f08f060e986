/**
 * The on-disk spool: request bodies that could not reach VictoriaMetrics wait here, one file
 * each, until a later run delivers them to the target they were meant for.
 *
 * One directory per write target (the normalised write URL, without credentials), so a payload
 * is only ever delivered where it was going; sending it elsewhere is an explicit re-targeting.
 * The spool holds data: directories are 0700 and files 0600. Files are written under a temporary
 * name and renamed when complete, claimed by renaming before they are sent, and deleted only
 * after VictoriaMetrics accepted them; so no payload is lost, and none is sent by two processes.
 * A payload that cannot be written (full disk, read-only, permissions) raises SpoolWriteError
 * after its partial file is removed: the caller says what was not kept and carries on.
 */
import { chmod, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { VmClient } from '../victoria/client.js';
import { ExitCode, PipeobsError } from '../errors.js';
import { processAlive } from '../process.js';
import { normalizeTargetUrl, redactText } from '../redact.js';

export type SpoolKind = 'prom' | 'influx-ns' | 'influx-us' | 'influx-ms' | 'influx-s';
const KINDS: readonly SpoolKind[] = ['prom', 'influx-ns', 'influx-us', 'influx-ms', 'influx-s'];
/** <ms>-<seq>-<random>-<samples>.<kind>.txt; files of older versions have no sample count. */
const NAME = /^(\d{13})-(\d+)-([0-9a-f]{8})(?:-(\d+)s)?\.(prom|influx-ns|influx-us|influx-ms|influx-s)\.txt$/;
const CLAIMED = /^(.+\.txt)\.sending-(\d+)$/;
const TEMP = /^\..+\.tmp-(\d+)$/;
/** The file in each target's directory that names the target. */
const TARGET_FILE = 'target';
/** Files spooled by versions that kept one spool for every target: their target is not known. */
export const UNKNOWN_TARGET = 'unknown';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** JSON keys are snake_case: this object is part of push-influx's and run-pipeline's --output json. */
export interface SpoolFlushResult {
  sent_files: number;
  sent_bytes: number;
  /** Samples in the delivered files (files of older versions do not record theirs: not counted). */
  sent_samples: number;
  remaining_files: number;
  /** Why sending stopped early, when it did: VictoriaMetrics did not take a file. */
  error?: string;
  /** The spool itself could not be read (permissions, I/O): nothing was tried. */
  spool_error?: string;
}

export interface SpoolWaiting {
  /** The normalised write URL, or "unknown" for files of older versions. */
  target: string;
  dir: string;
  files: number;
  bytes: number;
  /** Samples recorded in the file names; null when some file does not record them. */
  samples: number | null;
  /** Spool time of the oldest file, epoch ms. */
  oldest_ms: number;
}

function errnoText(cause: NodeJS.ErrnoException): string {
  switch (cause.code) {
    case 'ENOSPC':
      return 'no space left on device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EROFS':
      return 'read-only file system';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return cause.code ?? cause.message;
  }
}

/** A payload could not be written to the spool: it is neither delivered nor kept. */
export class SpoolWriteError extends PipeobsError {
  readonly code: string;
  readonly dir: string;
  constructor(dir: string, cause: NodeJS.ErrnoException) {
    super('spool_write', ExitCode.unreachable, `cannot write to the spool ${dir} (${errnoText(cause)})`, 'free space there, or point PIPEOBS_SPOOL_DIR (--spool-dir) at a disk with room', { cause });
    this.name = 'SpoolWriteError';
    this.code = cause.code ?? 'EIO';
    this.dir = dir;
  }
}

/** The spool cannot be read (permissions, I/O): what waits there cannot be delivered now. */
export class SpoolReadError extends PipeobsError {
  constructor(dir: string, cause: NodeJS.ErrnoException) {
    super('spool_read', ExitCode.config, `cannot read the spool ${dir} (${errnoText(cause)})`, 'fix its owner and permissions (it should be yours, mode 0700), or point PIPEOBS_SPOOL_DIR elsewhere', { cause });
    this.name = 'SpoolReadError';
  }
}

/** The spool directory: one sub-directory per target. */
export class Spool {
  readonly root: string;
  constructor(root: string, private readonly pid: number = process.pid) {
    this.root = root;
  }

  /** The spool of one write target (a URL; credentials and spelling do not change the key). */
  forTarget(targetUrl: string): TargetSpool {
    const target = normalizeTargetUrl(targetUrl);
    return new TargetSpool(path.join(this.root, targetDirName(target)), target, this.pid, this.root);
  }

  /** The spool of files written before there was one spool per target. */
  unknownTarget(): TargetSpool {
    return new TargetSpool(this.root, UNKNOWN_TARGET, this.pid, this.root);
  }

  /** What waits, per target, oldest first within each; targets with nothing waiting are left out. */
  async waiting(): Promise<SpoolWaiting[]> {
    const out: SpoolWaiting[] = [];
    const legacy = await this.unknownTarget().summary();
    if (legacy.files > 0) out.push(legacy);
    for (const entry of await readdirOrEmpty(this.root)) {
      const dir = path.join(this.root, entry);
      const target = await readFile(path.join(dir, TARGET_FILE), 'utf8').catch(() => null);
      if (target === null) continue;
      const s = await new TargetSpool(dir, target.trim(), this.pid, this.root).summary();
      if (s.files > 0) out.push(s);
    }
    return out.sort((a, b) => a.oldest_ms - b.oldest_ms);
  }

  /** The spool that holds a target's files, looked up by the target as given (URL or "unknown"). */
  find(target: string): TargetSpool {
    return target === UNKNOWN_TARGET ? this.unknownTarget() : this.forTarget(target);
  }
}

/** The files waiting for one target. */
export class TargetSpool {
  private seq = 0;
  constructor(
    readonly dir: string,
    readonly target: string,
    private readonly pid: number,
    private readonly root: string,
  ) {}

  /**
   * Keeps one payload; returns its file. Throws SpoolWriteError when it cannot be written, after
   * removing what was partly written.
   */
  async write(kind: SpoolKind, body: string | Uint8Array, nowMs: number, samples: number): Promise<string> {
    const name = `${String(nowMs).padStart(13, '0')}-${String(this.seq++).padStart(6, '0')}-${randomBytes(4).toString('hex')}-${samples}s.${kind}.txt`;
    const tmp = path.join(this.dir, `.${name}.tmp-${this.pid}`);
    try {
      await this.ensureDir();
      const fh = await open(tmp, 'wx', FILE_MODE);
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path.join(this.dir, name));
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw new SpoolWriteError(this.dir, err as NodeJS.ErrnoException);
    }
    return path.join(this.dir, name);
  }

  /** Creates the directory owner-only, and tightens one made by an older version. */
  private async ensureDir(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: DIR_MODE });
    await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
    for (const d of new Set([this.root, this.dir])) {
      if (((await stat(d)).mode & 0o077) !== 0) await chmod(d, DIR_MODE);
    }
    if (this.target !== UNKNOWN_TARGET) {
      const file = path.join(this.dir, TARGET_FILE);
      const known = await readFile(file, 'utf8').catch(() => null);
      if (known === null) await writeFile(file, `${this.target}\n`, { mode: FILE_MODE });
    }
  }

  /**
   * Pending files, oldest first. Claims and temporary files left by processes that died are
   * released (claims) or removed (partial writes) first.
   */
  async pending(): Promise<{ file: string; kind: SpoolKind; samples: number | null; ms: number }[]> {
    let names = await readdirOrEmpty(this.dir);
    let changed = false;
    for (const n of names) {
      const claimed = CLAIMED.exec(n);
      if (claimed && !processAlive(Number(claimed[2]))) {
        await rename(path.join(this.dir, n), path.join(this.dir, claimed[1])).catch(() => {});
        changed = true;
      }
      const temp = TEMP.exec(n);
      if (temp && !processAlive(Number(temp[1]))) {
        await unlink(path.join(this.dir, n)).catch(() => {});
        changed = true;
      }
    }
    if (changed) names = await readdirOrEmpty(this.dir);
    return names
      .map((n) => NAME.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map((m) => ({ file: path.join(this.dir, m[0]), kind: m[5] as SpoolKind, samples: m[4] === undefined ? null : Number(m[4]), ms: Number(m[1]) }));
  }

  async summary(): Promise<SpoolWaiting> {
    const p = await this.pending();
    let bytes = 0;
    let samples: number | null = 0;
    for (const f of p) {
      bytes += (await stat(f.file).catch(() => ({ size: 0 }))).size;
      samples = samples === null || f.samples === null ? null : samples + f.samples;
    }
    return { target: this.target, dir: this.dir, files: p.length, bytes, samples, oldest_ms: p[0]?.ms ?? 0 };
  }

  async stats(): Promise<{ files: number; bytes: number }> {
    const s = await this.summary();
    return { files: s.files, bytes: s.bytes };
  }

  /**
   * Sends pending files oldest first to the client's write URL; stops at the first failure and
   * leaves the rest in place. Each file goes only to its own target: a client for another target
   * is refused unless the caller re-targets on purpose (`retarget`).
   */
  async flush(client: VmClient, opts: { retarget?: boolean } = {}): Promise<SpoolFlushResult> {
    if (!opts.retarget && client.writeTarget !== this.target) {
      throw new Error(`spool of ${this.target} flushed to ${client.writeTarget}`); // a bug: callers pick the spool by the client
    }
    const pending = await this.pending();
    let sentFiles = 0;
    let sentBytes = 0;
    let sentSamples = 0;
    let gone = 0;
    for (const { file, kind, samples } of pending) {
      const claimed = `${file}.sending-${this.pid}`;
      try {
        await rename(file, claimed);
      } catch {
        gone++;
        continue; // another process claimed it
      }
      let body: Buffer;
      try {
        body = await readFile(claimed);
      } catch (err) {
        await rename(claimed, file).catch(() => {});
        throw new SpoolReadError(this.dir, err as NodeJS.ErrnoException);
      }
      try {
        if (kind === 'prom') await client.importPrometheus(body);
        else await client.writeInflux(body, { precision: kind.slice('influx-'.length) });
      } catch (err) {
        await rename(claimed, file);
        const error = redactText(err instanceof PipeobsError ? err.message : String(err));
        return { sent_files: sentFiles, sent_bytes: sentBytes, sent_samples: sentSamples, remaining_files: pending.length - sentFiles - gone, error };
      }
      // Delivered: a file that cannot be removed would be delivered again (deduplicated, but noisy).
      await unlink(claimed).catch((err: NodeJS.ErrnoException) => {
        throw new SpoolReadError(this.dir, err);
      });
      sentFiles++;
      sentBytes += body.length;
      sentSamples += samples ?? 0;
    }
    return { sent_files: sentFiles, sent_bytes: sentBytes, sent_samples: sentSamples, remaining_files: pending.length - sentFiles - gone };
  }
}

/** A readable, unique directory name: host_port_path plus a hash of the whole normalised URL. */
function targetDirName(target: string): string {
  const u = new URL(target);
  const readable = `${u.host}${u.pathname}`.replace(/[^A-Za-z0-9.-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60);
  return `${readable}-${createHash('sha256').update(target).digest('hex').slice(0, 10)}`;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new SpoolReadError(dir, err as NodeJS.ErrnoException);
  }
}

export function influxSpoolKind(precision: string): SpoolKind {
  const k = `influx-${precision}` as SpoolKind;
  if (!KINDS.includes(k)) throw new Error(`no spool kind for precision ${precision}`);
  return k;
}
