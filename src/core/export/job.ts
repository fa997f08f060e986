/**
 * export-parquet as a job that cron can run: a lock keeps two runs apart; --incremental exports
 * exactly (last end, now - safety lag], so consecutive runs leave no gap and no duplicate; files
 * appear only complete (written under .pipeobs-tmp/, then renamed into place); and the state moves
 * on only after every file is in place. A run that dies after writing its manifest is rolled
 * forward by the next run; one that dies before is simply done again.
 */
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError, WorkFailedError } from '../errors.js';
import { processAlive } from '../process.js';
import type { VmClient } from '../victoria/client.js';
import { exportWindow, type ExportedFile, type PartitionBy } from './parquet.js';

export const STATE_FILE = '.pipeobs-export-state.json';
export const LOCK_FILE = '.pipeobs-export.lock';
export const TMP_DIR = '.pipeobs-tmp';

export interface ExportJob {
  match: string[];
  outDir: string;
  partitionBy: PartitionBy;
  incremental: boolean;
  /** Explicit window; with --incremental, start is only used when there is no state yet. */
  start: Date;
  end: Date;
  memoryLimitMb: number;
  pid: number;
  onProgress?(p: { bytes: number; lines: number }): void;
}

interface State {
  version: 1;
  last_end_ms: number;
  match: string[];
  partition_by: PartitionBy;
  updated_at: string;
}

interface Pending {
  until_ms: number;
  moves: { from: string; to: string }[];
  state: State | null;
}

export interface ExportSummary {
  schema_version: 1;
  out_dir: string;
  incremental: boolean;
  window: { after: string; until: string } | null;
  up_to_date: boolean;
  recovered: string | null;
  series: number;
  samples: number;
  files: { path: string; bytes: number }[];
  bytes: number;
  json_bytes: number;
  seconds: number;
}

async function writeAtomic(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new WorkFailedError(`cannot read ${file}: ${(err as Error).message}`, 'it is pipeobs\' own file; if it was damaged, move it away and export again with --start');
  }
}

async function lock(outDir: string, pid: number): Promise<() => Promise<void>> {
  const file = path.join(outDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await open(file, 'wx');
      await h.writeFile(String(pid));
      await h.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (holder && processAlive(holder) && holder !== pid) {
        throw new WorkFailedError(`another export-parquet (pid ${holder}) is writing to ${outDir}`, 'runs must not overlap: wait for it, or make the cron interval longer than a run');
      }
      await rm(file, { force: true }); // its owner died: take the lock over
    }
  }
  throw new WorkFailedError(`cannot take the lock ${file}`);
}

/** Finishes a run that died after its manifest was written: moves the rest of its files, then its state. */
async function rollForward(outDir: string): Promise<string | null> {
  const tmpRoot = path.join(outDir, TMP_DIR);
  const pending = await readJson<Pending>(path.join(tmpRoot, 'pending.json'));
  if (pending) {
    for (const m of pending.moves) {
      await mkdir(path.dirname(m.to), { recursive: true });
      await rename(m.from, m.to).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err; // ENOENT: this one was already moved
      });
    }
    if (pending.state) await writeAtomic(path.join(outDir, STATE_FILE), JSON.stringify(pending.state, null, 2) + '\n');
    await rm(tmpRoot, { recursive: true, force: true });
    return `finished an interrupted run: ${pending.moves.length} files up to ${new Date(pending.until_ms).toISOString()}`;
  }
  try {
    await rm(tmpRoot, { recursive: true });
    return 'removed the partial files of an interrupted run; its window is exported again';
  } catch {
    return null;
  }
}

export async function runExportJob(client: VmClient, job: ExportJob, loadDuck: () => Promise<typeof import('@duckdb/node-api')>): Promise<ExportSummary> {
  const t0 = performance.now();
  try {
    await mkdir(job.outDir, { recursive: true });
  } catch (err) {
    throw new UsageError(`cannot write to --out ${job.outDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const unlock = await lock(job.outDir, job.pid).catch((err: unknown) => {
    if (err instanceof WorkFailedError) throw err;
    throw new UsageError(`cannot write to --out ${job.outDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  });
  const summary: ExportSummary = {
    schema_version: 1,
    out_dir: job.outDir,
    incremental: job.incremental,
    window: null,
    up_to_date: false,
    recovered: null,
    series: 0,
    samples: 0,
    files: [],
    bytes: 0,
    json_bytes: 0,
    seconds: 0,
  };
  const tmpRoot = path.join(job.outDir, TMP_DIR);
  try {
    summary.recovered = await rollForward(job.outDir);
    const statePath = path.join(job.outDir, STATE_FILE);
    const state = job.incremental ? await readJson<State>(statePath) : null;
    if (state && (JSON.stringify(state.match) !== JSON.stringify(job.match) || state.partition_by !== job.partitionBy)) {
      throw new UsageError(
        `${job.outDir} holds an export of --match ${state.match.join(' ')} partitioned by ${state.partition_by}; this run asks for --match ${job.match.join(' ')} by ${job.partitionBy}`,
        'use another --out for a different selection, so no series is exported twice or left out',
      );
    }
    const afterMs = state ? state.last_end_ms : job.start.getTime();
    const untilMs = job.end.getTime();
    summary.window = { after: new Date(afterMs).toISOString(), until: new Date(untilMs).toISOString() };
    if (untilMs <= afterMs) {
      summary.up_to_date = true;
      return summary;
    }
    const work = path.join(tmpRoot, 'current');
    const result = await exportWindow(client, { match: job.match, afterMs, untilMs, partitionBy: job.partitionBy, workDir: work, memoryLimitMb: job.memoryLimitMb, onProgress: job.onProgress }, loadDuck);
    const moves = result.files.map((f: ExportedFile) => ({ from: f.tmpPath, to: path.join(job.outDir, f.relPath) }));
    const newState: State | null = job.incremental ? { version: 1, last_end_ms: untilMs, match: job.match, partition_by: job.partitionBy, updated_at: new Date().toISOString() } : null;
    // From here on the run is committed: a crash is finished by the next run's roll-forward.
    await writeAtomic(path.join(tmpRoot, 'pending.json'), JSON.stringify({ until_ms: untilMs, moves, state: newState } satisfies Pending));
    for (const m of moves) {
      await mkdir(path.dirname(m.to), { recursive: true });
      await rename(m.from, m.to);
    }
    if (newState) await writeAtomic(statePath, JSON.stringify(newState, null, 2) + '\n');
    await rm(tmpRoot, { recursive: true, force: true });
    summary.series = result.series;
    summary.samples = result.samples;
    summary.json_bytes = result.jsonBytes;
    summary.files = result.files.map((f) => ({ path: path.join(job.outDir, f.relPath), bytes: f.bytes }));
    summary.bytes = result.files.reduce((n, f) => n + f.bytes, 0);
    return summary;
  } catch (err) {
    // Nothing was committed: drop the partial work, keep the state and the existing files.
    const committed = await readFile(path.join(tmpRoot, 'pending.json')).then(() => true, () => false);
    if (!committed) await rm(tmpRoot, { recursive: true, force: true });
    throw err;
  } finally {
    summary.seconds = Math.round(performance.now() - t0) / 1000;
    await unlock();
  }
}
