/**
 * The on-disk spool: request bodies that could not reach VictoriaMetrics wait here, one file
 * each, until a later run sends them. Files are written under a temporary name and renamed when
 * complete, claimed by renaming before they are sent, and deleted only after VictoriaMetrics
 * accepted them; so no payload is lost, and none is sent by two processes.
 */
import { mkdir, readdir, rename, unlink, writeFile, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { VmClient } from '../victoria/client.js';
import { PipeobsError } from '../errors.js';
import { processAlive } from '../process.js';

export type SpoolKind = 'prom' | 'influx-ns' | 'influx-us' | 'influx-ms' | 'influx-s';
const KINDS: readonly SpoolKind[] = ['prom', 'influx-ns', 'influx-us', 'influx-ms', 'influx-s'];
const NAME = /^(\d{13})-(\d+)-([0-9a-f]{8})\.(prom|influx-ns|influx-us|influx-ms|influx-s)\.txt$/;
const CLAIMED = /^(.+\.txt)\.sending-(\d+)$/;

export interface SpoolFlushResult {
  sentFiles: number;
  sentBytes: number;
  remainingFiles: number;
  /** Why sending stopped early, when it did. */
  error?: string;
}

export class Spool {
  readonly dir: string;
  private seq = 0;
  constructor(dir: string, private readonly pid: number = process.pid) {
    this.dir = dir;
  }

  async write(kind: SpoolKind, body: string | Uint8Array, nowMs: number): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const name = `${String(nowMs).padStart(13, '0')}-${String(this.seq++).padStart(6, '0')}-${randomBytes(4).toString('hex')}.${kind}.txt`;
    const tmp = path.join(this.dir, `.${name}.tmp-${this.pid}`);
    await writeFile(tmp, body);
    await rename(tmp, path.join(this.dir, name));
    return path.join(this.dir, name);
  }

  /** Pending files, oldest first; claims left by processes that died are released first. */
  async pending(): Promise<{ file: string; kind: SpoolKind }[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    for (const n of names) {
      const m = CLAIMED.exec(n);
      if (m && !processAlive(Number(m[2]))) await rename(path.join(this.dir, n), path.join(this.dir, m[1])).catch(() => {});
    }
    names = await readdir(this.dir);
    return names
      .map((n) => NAME.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map((m) => ({ file: path.join(this.dir, m[0]), kind: m[4] as SpoolKind }));
  }

  async stats(): Promise<{ files: number; bytes: number }> {
    const p = await this.pending();
    let bytes = 0;
    for (const { file } of p) bytes += (await stat(file).catch(() => ({ size: 0 }))).size;
    return { files: p.length, bytes };
  }

  /** Sends pending files oldest first; stops at the first failure and leaves the rest in place. */
  async flush(client: VmClient): Promise<SpoolFlushResult> {
    const pending = await this.pending();
    let sentFiles = 0;
    let sentBytes = 0;
    for (const { file, kind } of pending) {
      const claimed = `${file}.sending-${this.pid}`;
      try {
        await rename(file, claimed);
      } catch {
        continue; // another process claimed it
      }
      const body = await readFile(claimed);
      try {
        if (kind === 'prom') await client.importPrometheus(body);
        else await client.writeInflux(body, { precision: kind.slice('influx-'.length) });
      } catch (err) {
        await rename(claimed, file);
        return { sentFiles, sentBytes, remainingFiles: pending.length - sentFiles, error: err instanceof PipeobsError ? err.message : String(err) };
      }
      await unlink(claimed);
      sentFiles++;
      sentBytes += body.length;
    }
    return { sentFiles, sentBytes, remainingFiles: pending.length - sentFiles };
  }
}

export function influxSpoolKind(precision: string): SpoolKind {
  const k = `influx-${precision}` as SpoolKind;
  if (!KINDS.includes(k)) throw new Error(`no spool kind for precision ${precision}`);
  return k;
}
