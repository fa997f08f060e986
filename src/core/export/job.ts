/**
 * export-parquet as a job that cron can run: a lock keeps two runs apart; --incremental exports
 * exactly (last end, now - safety lag], so consecutive runs leave no gap and no duplicate; files
 * appear only complete (written under .pipeobs-tmp/, then renamed into place); and the state moves
 * on only after every file is in place. A run that dies after writing its manifest is rolled
 * forward by the next run; one that dies before is simply done again.
 *
 * The state file also lists every window already exported into the directory, so a window
 * exported again (a retried cron line, an overlapping --start) is refused instead of doubling its
 * samples. Everything read back from the directory (state, manifest, lock) is validated first: a
 * damaged or forged file is a configuration error that names the file and the field.
 */
import { link, mkdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, UsageError, WorkFailedError } from '../errors.js';
import { processAlive } from '../process.js';
import type { VmClient } from '../victoria/client.js';
import { exportWindow, PARTITIONS, type ExportedFile, type PartitionBy } from './parquet.js';
import type { LoadDuck } from './duck-runner.js';

export const STATE_FILE = '.pipeobs-export-state.json';
export const LOCK_FILE = '.pipeobs-export.lock';
export const TMP_DIR = '.pipeobs-tmp';
/** How far in the future a recorded end may lie (clocks of two machines writing one --out). */
export const CLOCK_SKEW_MS = 5 * 60_000;

export interface ExportJob {
  match: string[];
  outDir: string;
  partitionBy: PartitionBy;
  incremental: boolean;
  /** Explicit window; with --incremental, start is only used when there is no state yet. */
  start: Date;
  end: Date;
  /** The current time, to tell a recorded end in the future. */
  now: Date;
  memoryLimitMb: number;
  pid: number;
  onProgress?(p: { bytes: number; lines: number }): void;
}

/** One run's window, (after_ms, until_ms], and what it selected. */
interface ExportedWindow {
  after_ms: number;
  until_ms: number;
  match: string[];
  partition_by: PartitionBy;
}

interface State {
  version: 2;
  /** Where --incremental continues from; null until an incremental run has happened. */
  last_end_ms: number | null;
  /** The selection of the incremental runs. */
  match: string[];
  partition_by: PartitionBy;
  /** Every window exported into this directory, adjacent ones of one selection merged. */
  exported: ExportedWindow[];
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

const MOVE_AWAY = 'it is pipeobs\' own file: if it was damaged, move it away (the files already exported stay) and export again with --start';

/** The JSON of one of pipeobs' own files, or undefined when there is none. */
async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, MOVE_AWAY);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigError(`${file} is not valid JSON: ${(err as Error).message}`, MOVE_AWAY);
  }
}

/** Checks of what pipeobs reads back from its own files; each failure names the file and the field. */
class Check {
  constructor(
    readonly file: string,
    readonly nowMs: number,
  ) {}
  fail(field: string, rule: string): never {
    throw new ConfigError(`${this.file}: ${field} ${rule}`, MOVE_AWAY);
  }
  object(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, `must be an object, not ${JSON.stringify(v)}`);
    return v as Record<string, unknown>;
  }
  /** A time in milliseconds, not after now plus the allowed clock skew. */
  time(v: unknown, field: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(field, `must be a time in milliseconds, not ${JSON.stringify(v)}`);
    if (v > this.nowMs + CLOCK_SKEW_MS) this.fail(field, `is ${new Date(v).toISOString()}, in the future (now ${new Date(this.nowMs).toISOString()})`);
    return v;
  }
  strings(v: unknown, field: string): string[] {
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && x.length > 0)) this.fail(field, 'must be a list of series selectors');
    return v as string[];
  }
  partition(v: unknown, field: string): PartitionBy {
    if (!PARTITIONS.includes(v as PartitionBy)) this.fail(field, `must be one of ${PARTITIONS.join(', ')}, not ${JSON.stringify(v)}`);
    return v as PartitionBy;
  }
}

/** The state as written by this version, or by the previous one (version 1: incremental runs only). */
function validateState(doc: unknown, c: Check, field = 'the state'): State {
  const o = c.object(doc, field);
  if (o.version === 1) {
    const last = c.time(o.last_end_ms, `${field}.last_end_ms`);
    const match = c.strings(o.match, `${field}.match`);
    const partitionBy = c.partition(o.partition_by, `${field}.partition_by`);
    // Version 1 kept no start: everything up to the last end counts as exported.
    return { version: 2, last_end_ms: last, match, partition_by: partitionBy, exported: [{ after_ms: 0, until_ms: last, match, partition_by: partitionBy }], updated_at: String(o.updated_at ?? '') };
  }
  if (o.version !== 2) c.fail(`${field}.version`, `must be 1 or 2, not ${JSON.stringify(o.version)}`);
  const last = o.last_end_ms === null ? null : c.time(o.last_end_ms, `${field}.last_end_ms`);
  if (!Array.isArray(o.exported)) c.fail(`${field}.exported`, 'must be a list of windows');
  const exported = (o.exported as unknown[]).map((w, i) => {
    const f = `${field}.exported[${i}]`;
    const x = c.object(w, f);
    const after = c.time(x.after_ms, `${f}.after_ms`);
    const until = c.time(x.until_ms, `${f}.until_ms`);
    if (until <= after) c.fail(f, `ends (${until}) before it starts (${after})`);
    return { after_ms: after, until_ms: until, match: c.strings(x.match, `${f}.match`), partition_by: c.partition(x.partition_by, `${f}.partition_by`) };
  });
  return { version: 2, last_end_ms: last, match: c.strings(o.match, `${field}.match`), partition_by: c.partition(o.partition_by, `${field}.partition_by`), exported, updated_at: String(o.updated_at ?? '') };
}

/** A path read from a manifest, which must lie inside `dir`. */
function inside(dir: string, p: unknown, field: string, c: Check): string {
  if (typeof p !== 'string' || !path.isAbsolute(p)) c.fail(field, `must be an absolute path, not ${JSON.stringify(p)}`);
  const resolved = path.resolve(p as string);
  const rel = path.relative(dir, resolved);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) c.fail(field, `${JSON.stringify(p)} is outside ${dir}`);
  return resolved;
}

function validatePending(doc: unknown, outDir: string, c: Check): Pending {
  const o = c.object(doc, 'the manifest');
  const tmpRoot = path.join(outDir, TMP_DIR);
  if (!Array.isArray(o.moves)) c.fail('moves', 'must be a list of {from, to}');
  const moves = (o.moves as unknown[]).map((m, i) => {
    const x = c.object(m, `moves[${i}]`);
    const from = inside(tmpRoot, x.from, `moves[${i}].from`, c);
    const to = inside(outDir, x.to, `moves[${i}].to`, c);
    if (!path.relative(tmpRoot, to).startsWith('..')) c.fail(`moves[${i}].to`, `${JSON.stringify(x.to)} is inside ${TMP_DIR}`);
    if (!to.endsWith('.parquet')) c.fail(`moves[${i}].to`, `${JSON.stringify(x.to)} is not a .parquet file`);
    return { from, to };
  });
  return { until_ms: c.time(o.until_ms, 'until_ms'), moves, state: o.state === null ? null : validateState(o.state, c, 'state') };
}

/** Creates `file` holding `pid`, atomically: it never exists without its pid. false if it exists. */
async function createWithPid(file: string, pid: number): Promise<boolean> {
  const tmp = `${file}.${pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, String(pid), { flag: 'wx' });
  try {
    await link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/** The pid in a lock file; null when it is gone, NaN when it holds something else. */
async function lockHolder(file: string): Promise<number | null> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return /^\d+$/.test(text) ? Number(text) : NaN;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Takes the lock of outDir. A lock whose process is gone is taken over; two runs that find the
 * same dead lock agree through a second lock (`.takeover`), so only one of them removes it.
 */
async function lock(outDir: string, pid: number): Promise<() => Promise<void>> {
  const file = path.join(outDir, LOCK_FILE);
  const busy = (holder: number) =>
    new WorkFailedError(`another export-parquet (pid ${holder}) is writing to ${outDir}`, 'runs must not overlap: wait for it, or make the cron interval longer than a run');
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await createWithPid(file, pid)) {
      return async () => {
        if ((await lockHolder(file).catch(() => null)) === pid) await rm(file, { force: true });
      };
    }
    const holder = await lockHolder(file);
    if (holder === null) continue; // released meanwhile
    if (holder !== pid && !Number.isNaN(holder) && processAlive(holder)) throw busy(holder);
    const guard = `${file}.takeover`;
    if (!(await createWithPid(guard, pid))) {
      // Another run is taking over right now (a few milliseconds), or died doing so long ago.
      const age = Date.now() - (await stat(guard).then((s) => s.mtimeMs, () => Date.now()));
      const guardHolder = await lockHolder(guard);
      if (age > 10_000 || (guardHolder !== null && !Number.isNaN(guardHolder) && !processAlive(guardHolder))) await rm(guard, { force: true });
      else await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    try {
      // Still the lock that was found dead (or unreadable)? Another run may have replaced it meanwhile.
      const current = await lockHolder(file);
      if (current === holder || (Number.isNaN(current) && Number.isNaN(holder))) await rm(file, { force: true });
    } finally {
      await rm(guard, { force: true });
    }
  }
  const holder = await lockHolder(file);
  throw holder ? busy(holder) : new WorkFailedError(`cannot take the lock ${file}`, 'another run keeps taking it: check what else writes to this directory');
}

/** Finishes a run that died after its manifest was written: moves the rest of its files, then its state. */
async function rollForward(outDir: string, nowMs: number): Promise<string | null> {
  const tmpRoot = path.join(outDir, TMP_DIR);
  const manifest = path.join(tmpRoot, 'pending.json');
  const doc = await readJson(manifest);
  if (doc !== undefined) {
    const pending = validatePending(doc, outDir, new Check(manifest, nowMs));
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

/** The window list with (after, until] added, adjacent windows of one selection merged. */
function addWindow(exported: ExportedWindow[], w: ExportedWindow): ExportedWindow[] {
  const same = (a: ExportedWindow) => a.partition_by === w.partition_by && JSON.stringify(a.match) === JSON.stringify(w.match);
  const out = [...exported, w].sort((a, b) => a.after_ms - b.after_ms);
  const merged: ExportedWindow[] = [];
  for (const x of out) {
    const last = merged[merged.length - 1];
    if (last && same(last) && same(x) && last.until_ms === x.after_ms) merged[merged.length - 1] = { ...last, until_ms: x.until_ms };
    else merged.push(x);
  }
  return merged;
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function runExportJob(client: VmClient, job: ExportJob, loadDuck: LoadDuck): Promise<ExportSummary> {
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
    const nowMs = job.now.getTime();
    summary.recovered = await rollForward(job.outDir, nowMs);
    const statePath = path.join(job.outDir, STATE_FILE);
    const stateDoc = await readJson(statePath);
    const state = stateDoc === undefined ? null : validateState(stateDoc, new Check(statePath, nowMs));
    const continues = job.incremental && state !== null && state.last_end_ms !== null;
    if (continues && (JSON.stringify(state.match) !== JSON.stringify(job.match) || state.partition_by !== job.partitionBy)) {
      throw new UsageError(
        `${job.outDir} holds an export of --match ${state.match.join(' ')} partitioned by ${state.partition_by}; this run asks for --match ${job.match.join(' ')} by ${job.partitionBy}`,
        'use another --out for a different selection, so no series is exported twice or left out',
      );
    }
    const afterMs = continues ? state.last_end_ms! : job.start.getTime();
    const untilMs = job.end.getTime();
    summary.window = { after: iso(afterMs), until: iso(untilMs) };
    if (untilMs <= afterMs) {
      summary.up_to_date = true;
      return summary;
    }
    const overlap = state?.exported.find((w) => w.after_ms < untilMs && afterMs < w.until_ms);
    if (overlap) {
      throw new UsageError(
        `${job.outDir} already holds (${iso(overlap.after_ms)}, ${iso(overlap.until_ms)}] of --match ${overlap.match.join(' ')}, which overlaps this run's window (${iso(afterMs)}, ${iso(untilMs)}]: its samples would be stored twice`,
        `export only what is missing (--start ${iso(Math.max(overlap.until_ms, afterMs))}), or use --incremental, or another --out`,
      );
    }
    const work = path.join(tmpRoot, 'current');
    const result = await exportWindow(client, { match: job.match, afterMs, untilMs, partitionBy: job.partitionBy, workDir: work, memoryLimitMb: job.memoryLimitMb, onProgress: job.onProgress }, loadDuck);
    const moves = result.files.map((f: ExportedFile) => ({ from: f.tmpPath, to: path.join(job.outDir, f.relPath) }));
    const newState: State = {
      version: 2,
      last_end_ms: job.incremental ? untilMs : (state?.last_end_ms ?? null),
      match: job.incremental || !state ? job.match : state.match,
      partition_by: job.incremental || !state ? job.partitionBy : state.partition_by,
      exported: addWindow(state?.exported ?? [], { after_ms: afterMs, until_ms: untilMs, match: job.match, partition_by: job.partitionBy }),
      updated_at: job.now.toISOString(),
    };
    // From here on the run is committed: a crash is finished by the next run's roll-forward.
    await writeAtomic(path.join(tmpRoot, 'pending.json'), JSON.stringify({ until_ms: untilMs, moves, state: newState } satisfies Pending));
    for (const m of moves) {
      await mkdir(path.dirname(m.to), { recursive: true });
      await rename(m.from, m.to);
    }
    await writeAtomic(statePath, JSON.stringify(newState, null, 2) + '\n');
    await rm(tmpRoot, { recursive: true, force: true });
    summary.series = result.series;
    summary.samples = result.samples;
    summary.json_bytes = result.jsonBytes;
    summary.files = result.files.map((f) => ({ path: path.join(job.outDir, f.relPath), bytes: f.bytes }));
    summary.bytes = result.files.reduce((n, f) => n + f.bytes, 0);
    return summary;
  } catch (err) {
    // Nothing was committed: drop the partial work, keep the state and the existing files.
    const committed = await stat(path.join(tmpRoot, 'pending.json')).then(() => true, () => false);
    if (!committed) await rm(tmpRoot, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      throw new WorkFailedError(
        `no space left on the device of ${job.outDir} (${code})`,
        committed ? 'free some space: the next run finishes moving this run\'s files into place' : 'free some space (or choose another --out) and run the export again; nothing of this run was kept',
      );
    }
    throw err;
  } finally {
    summary.seconds = Math.round(performance.now() - t0) / 1000;
    await unlock();
  }
}
