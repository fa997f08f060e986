/**
 * One run of the e-commerce ETL: extract → transform → quality → load, in an in-memory DuckDB.
 * Every stage is timed and reported to the recorder; outputs are written under temporary
 * names and renamed only when complete, so a failed or abandoned run leaves no partial file.
 */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { QUALITY_CHECKS, STAGE_FAILURE, type RunStatus, type Stage } from '../metrics/catalog.js';
import { generateRawData, type Defect } from './generate.js';
import { load, qualityChecks, transform } from './stages.js';
import type { PipelineRecorder } from './recorder.js';

export interface PipelineRunOptions {
  runId: string;
  pipelineName: string;
  environment: string;
  rows: number;
  seed: number;
  errorRate: number;
  outputDir: string;
  /**
   * The quality gate: a run whose overall score is below this is not published under orders/.
   * Its clean rows go to rejected/ with a file of reasons beside them, and the run counts as failed.
   */
  failUnder?: number;
}

export interface RunContext {
  now(): Date;
  recorder: PipelineRecorder;
  /** Aborting abandons the run at the next stage boundary (and interrupts a running query). */
  signal?: AbortSignal;
  onStage?(stage: Stage): void;
}

export interface StageSummary {
  stage: Stage;
  rowsIn: number;
  rowsOut: number;
  seconds: number;
  rowsPerSecond: number;
}

export interface RunSummary {
  runId: string;
  status: RunStatus;
  error?: string;
  failedStage?: Stage;
  seed: number;
  rowsRequested: number;
  errorRate: number;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  stages: StageSummary[];
  quality?: {
    score: number;
    rowsChecked: number;
    rowsPassed: number;
    checks: { check: string; failedRows: number; score: number }[];
    failingChecks: string[];
  };
  quarantine: { rows: number; byReason: Record<string, number>; path: string | null; bytes: number };
  output: { path: string | null; rows: number; bytes: number };
  /** Set when the quality gate stopped the batch: where it was kept instead of orders/, and why. */
  rejected?: { path: string; reasons_path: string; rows: number; quality_score: number; fail_under: number; failing_checks: string[] };
  freshnessSeconds: number | null;
  errors: { stage: string; errorType: string; count: number }[];
  injectedDefects: Record<Defect, number> | null;
}

export class RunAbandonedError extends Error {
  constructor() {
    super('run abandoned');
    this.name = 'RunAbandonedError';
  }
}

export async function runPipelineOnce(opts: PipelineRunOptions, ctx: RunContext): Promise<RunSummary> {
  const rec = ctx.recorder;
  const startedAt = ctx.now();
  const t0 = performance.now();
  const stages: StageSummary[] = [];
  const errors: RunSummary['errors'] = [];
  const ordersDir = path.join(opts.outputDir, 'orders');
  const quarantineDir = path.join(opts.outputDir, 'quarantine');
  const finalOrders = path.join(ordersDir, `orders-${opts.runId}.parquet`);
  const finalQuarantine = path.join(quarantineDir, `quarantine-${opts.runId}.parquet`);
  const tmpOrders = path.join(ordersDir, `.orders-${opts.runId}.parquet.tmp`);
  const tmpQuarantine = path.join(quarantineDir, `.quarantine-${opts.runId}.parquet.tmp`);
  const rejectedDir = path.join(opts.outputDir, 'rejected');

  const summary: RunSummary = {
    runId: opts.runId,
    status: 'success',
    seed: opts.seed,
    rowsRequested: opts.rows,
    errorRate: opts.errorRate,
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    durationSeconds: 0,
    stages,
    quarantine: { rows: 0, byReason: {}, path: null, bytes: 0 },
    output: { path: null, rows: 0, bytes: 0 },
    freshnessSeconds: null,
    errors,
    injectedDefects: null,
  };
  const addErrors = (stage: Stage, errorType: string, count: number) => {
    if (count > 0) errors.push({ stage, errorType, count });
    rec.errors(stage, errorType, count);
  };

  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const onAbort = () => conn.interrupt();
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  let current: Stage = 'extract';
  const stage = async <T>(name: Stage, rowsIn: number, work: (c: DuckDBConnection) => Promise<T>, rowsOut: (r: T) => number): Promise<T> => {
    if (ctx.signal?.aborted) throw new RunAbandonedError();
    current = name;
    ctx.onStage?.(name);
    const s0 = performance.now();
    const result = await work(conn);
    const seconds = (performance.now() - s0) / 1000;
    if (ctx.signal?.aborted) throw new RunAbandonedError();
    const out = rowsOut(result);
    rec.stageDuration(name, seconds);
    stages.push({ stage: name, rowsIn, rowsOut: out, seconds: round3(seconds), rowsPerSecond: seconds > 0 ? Math.round(rowsIn / seconds) : rowsIn });
    return result;
  };

  try {
    await mkdir(ordersDir, { recursive: true });
    await mkdir(quarantineDir, { recursive: true });

    const gen = await stage('extract', opts.rows, (c) =>
      generateRawData(c, { rows: opts.rows, seed: opts.seed, errorRate: opts.errorRate, now: startedAt }), (g) => g.orders);
    rec.rowsProcessed('extract', 'orders', gen.orders);
    rec.rowsProcessed('extract', 'customers', gen.customers);
    rec.rowsProcessed('extract', 'products', gen.products);
    summary.injectedDefects = opts.errorRate > 0 ? gen.injected : null;

    const tr = await stage('transform', gen.orders, transform, (t) => t.rowsOut);
    rec.rowsProcessed('transform', 'orders', tr.rowsOut);
    addErrors('transform', 'type_conversion', tr.typeConversion);
    addErrors('transform', 'exact_duplicate', tr.exactDuplicate);

    const q = await stage('quality', tr.rowsOut, (c) => qualityChecks(c, ctx.now()), (r) => r.rowsPassed);
    rec.rowsProcessed('quality', 'orders', q.rowsPassed);
    for (const check of QUALITY_CHECKS) {
      addErrors('quality', check, q.failed[check]);
      rec.qualityScore(check, q.scores[check]);
    }
    rec.qualityScore('overall', q.overall);
    summary.quality = {
      score: q.overall,
      rowsChecked: q.rowsChecked,
      rowsPassed: q.rowsPassed,
      checks: QUALITY_CHECKS.map((check) => ({ check, failedRows: q.failed[check], score: q.scores[check] })),
      failingChecks: QUALITY_CHECKS.filter((c) => q.failed[c] > 0),
    };
    const byReason: Record<string, number> = { type_conversion: tr.typeConversion, exact_duplicate: tr.exactDuplicate, ...q.quarantinedByFirstCheck };
    const rejected = opts.failUnder !== undefined && q.overall < opts.failUnder;

    const ld = await stage('load', q.rowsPassed, (c) => load(c, { runId: opts.runId, pipelineName: opts.pipelineName, environment: opts.environment, startedAt }, { ordersTmp: tmpOrders, quarantineTmp: tmpQuarantine }), (l) => l.rows);
    if (rejected) {
      // The gate: the batch never appears under orders/, where downstream readers look.
      await mkdir(rejectedDir, { recursive: true });
      const rejectedPath = path.join(rejectedDir, `orders-${opts.runId}.parquet`);
      const reasonsPath = path.join(rejectedDir, `orders-${opts.runId}.reasons.json`);
      const failing = summary.quality.failingChecks;
      summary.rejected = { path: rejectedPath, reasons_path: reasonsPath, rows: ld.rows, quality_score: q.overall, fail_under: opts.failUnder!, failing_checks: failing };
      await writeFile(reasonsPath, JSON.stringify({
        run_id: opts.runId,
        pipeline_name: opts.pipelineName,
        environment: opts.environment,
        reason: `overall quality score ${q.overall} is below --fail-under ${opts.failUnder}`,
        ...summary.rejected,
        checks: summary.quality.checks.map((k) => ({ check: k.check, failed_rows: k.failedRows, score: k.score })),
      }, null, 2) + '\n');
      await rename(tmpOrders, rejectedPath);
      if (ld.quarantineRows > 0) await rename(tmpQuarantine, finalQuarantine);
      for (const [reason, n] of Object.entries(byReason)) rec.quarantined(reason, n);
      rec.outputSize('orders', 0);
      summary.quarantine = {
        rows: ld.quarantineRows,
        byReason: Object.fromEntries(Object.entries(byReason).filter(([, n]) => n > 0)),
        path: ld.quarantineRows > 0 ? finalQuarantine : null,
        bytes: ld.quarantineRows > 0 ? (await stat(finalQuarantine)).size : 0,
      };
      rec.outputSize('quarantine', summary.quarantine.bytes);
      finish(summary, 'failed', ctx.now(), t0, rec);
      summary.failedStage = 'quality';
      summary.error = `quality score ${q.overall} is below --fail-under ${opts.failUnder} (failing checks: ${failing.join(', ') || 'none'}); the batch was not published: ${ld.rows} rows kept in ${rejectedPath}, reasons in ${reasonsPath}`;
      return summary;
    }
    await rename(tmpOrders, finalOrders);
    const ordersBytes = (await stat(finalOrders)).size;
    let quarantineBytes = 0;
    if (ld.quarantineRows > 0) {
      await rename(tmpQuarantine, finalQuarantine);
      quarantineBytes = (await stat(finalQuarantine)).size;
    }
    rec.rowsProcessed('load', 'orders', ld.rows);
    rec.outputSize('orders', ordersBytes);
    rec.outputSize('quarantine', quarantineBytes);
    for (const [reason, n] of Object.entries(byReason)) rec.quarantined(reason, n);
    const finishedAt = ctx.now();
    if (ld.newestOrderedAtMs !== null) {
      summary.freshnessSeconds = round3(Math.max(0, (finishedAt.getTime() - ld.newestOrderedAtMs) / 1000));
      rec.freshness('orders', summary.freshnessSeconds);
    }
    summary.output = { path: finalOrders, rows: ld.rows, bytes: ordersBytes };
    summary.quarantine = {
      rows: ld.quarantineRows,
      byReason: Object.fromEntries(Object.entries(byReason).filter(([, n]) => n > 0)),
      path: ld.quarantineRows > 0 ? finalQuarantine : null,
      bytes: quarantineBytes,
    };
    finish(summary, 'success', finishedAt, t0, rec);
  } catch (err) {
    await removeIfThere(tmpOrders);
    await removeIfThere(tmpQuarantine);
    if (err instanceof RunAbandonedError || ctx.signal?.aborted) {
      finish(summary, 'abandoned', ctx.now(), t0, rec);
      summary.error = `abandoned during ${current}`;
    } else {
      addErrors(current, STAGE_FAILURE, 1);
      finish(summary, 'failed', ctx.now(), t0, rec);
      summary.failedStage = current;
      summary.error = err instanceof Error ? err.message : String(err);
    }
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
    conn.closeSync();
    instance.closeSync();
  }
  return summary;
}

function finish(summary: RunSummary, status: RunStatus, at: Date, t0: number, rec: PipelineRecorder): void {
  summary.status = status;
  summary.finishedAt = at.toISOString();
  summary.durationSeconds = round3((performance.now() - t0) / 1000);
  rec.runFinished(status, summary.durationSeconds, at.getTime() / 1000, summary.output.rows);
}

/** Removes a temporary file; a directory that could not be made (ENOTDIR) has none to remove. */
async function removeIfThere(file: string): Promise<void> {
  try {
    await rm(file, { force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** A sortable, unique run id: 20261122T101500Z-s42. */
export function makeRunId(at: Date, seed: number): string {
  return `${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-s${seed}`;
}
