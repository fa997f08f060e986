/**
 * What `check` remembers between runs, without any rule: the dataset's schema (to report a
 * column added, dropped or retyped) and its row counts (to report a volume outside the band of
 * the last checks: median ± 3 scaled MADs, as Elementary and Monte Carlo do with their own
 * statistics). The state is a small JSON file, written atomically.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import type { Column } from './compile.js';

export interface CheckState {
  version: 1;
  dataset: string;
  schema: Column[];
  volumes: { at: string; rows: number }[];
}

export type SchemaChangeType = 'added' | 'dropped' | 'retyped';
export const SCHEMA_CHANGE_TYPES: readonly SchemaChangeType[] = ['added', 'dropped', 'retyped'];

export interface SchemaChange {
  change: SchemaChangeType;
  column: string;
  before: string | null;
  after: string | null;
}

/** Row counts kept in the state, and the band's rules. */
export const VOLUME_WINDOW = 14;
export const VOLUME_MIN_HISTORY = 3;
export const VOLUME_SENSITIVITY = 3;
/** The band is never narrower than this share of the median, so a flat history does not flag every change. */
export const VOLUME_MIN_BAND = 0.05;
/** Scales the MAD to a standard deviation for normally distributed counts. */
const MAD_SCALE = 1.4826;

export interface VolumeVerdict {
  rows: number;
  /** Counts of the previous checks the band comes from, oldest first. */
  history: number[];
  median: number | null;
  mad: number | null;
  band: [number, number] | null;
  /** null while there is not enough history to judge. */
  anomaly: boolean | null;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function judgeVolume(rows: number, history: readonly number[]): VolumeVerdict {
  const h = history.slice(-VOLUME_WINDOW);
  if (h.length < VOLUME_MIN_HISTORY) return { rows, history: h, median: null, mad: null, band: null, anomaly: null };
  const med = median(h);
  const mad = median(h.map((x) => Math.abs(x - med)));
  const half = Math.max(VOLUME_SENSITIVITY * MAD_SCALE * mad, VOLUME_MIN_BAND * med);
  const band: [number, number] = [Math.max(0, med - half), med + half];
  return { rows, history: h, median: med, mad, band: [round2(band[0]), round2(band[1])], anomaly: rows < band[0] || rows > band[1] };
}

export function diffSchema(before: readonly Column[], after: readonly Column[]): SchemaChange[] {
  const was = new Map(before.map((c) => [c.name, c.type]));
  const now = new Map(after.map((c) => [c.name, c.type]));
  const changes: SchemaChange[] = [];
  for (const c of after) {
    const t = was.get(c.name);
    if (t === undefined) changes.push({ change: 'added', column: c.name, before: null, after: c.type });
    else if (t !== c.type) changes.push({ change: 'retyped', column: c.name, before: t, after: c.type });
  }
  for (const c of before) if (!now.has(c.name)) changes.push({ change: 'dropped', column: c.name, before: c.type, after: null });
  return changes;
}

export async function readState(file: string): Promise<CheckState | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`cannot read the state file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const doc = JSON.parse(text) as CheckState;
    if (doc.version !== 1 || !Array.isArray(doc.schema) || !Array.isArray(doc.volumes)) throw new Error('unexpected shape');
    return doc;
  } catch (err) {
    throw new ConfigError(`the state file ${file} is not one pipeobs wrote (${(err as Error).message})`, 'move it away to start the schema and volume history again, or give another --state');
  }
}

export async function writeState(file: string, state: CheckState): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, file);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
