/**
 * Pushing a one-shot process's samples (see one-shot.ts): apart, so that `exec --push none` never
 * loads the push, spool and HTTP code, and `exec` loads it while the job runs.
 */
import { pushSamples, pushStamped, type PushOutcome } from '../metrics/push.js';
import type { Sample } from '../metrics/registry.js';
import { zerosOf } from '../metrics/zeros.js';
import type { PushTarget } from './one-shot.js';

/** Pushes one batch; VictoriaMetrics being down spools it (never throws for that). */
export function pushBatch(target: PushTarget, samples: readonly Sample[], timestampMs: number): Promise<PushOutcome> {
  return pushSamples(target.client, target.spool, target.format, samples, timestampMs);
}

/**
 * A run's samples in one request: every counter and histogram at 0 stamped with the start, then
 * the values stamped with the end (strictly after the start, so the two are two samples even for
 * an instant run). Each process counts from 0, so increase() over the series counts this run.
 */
export function pushRun(target: PushTarget, samples: readonly Sample[], startMs: number, endMs: number): Promise<PushOutcome> {
  return pushStamped(target.client, target.spool, target.format, [
    { samples: zerosOf(samples), timestampMs: startMs },
    { samples, timestampMs: Math.max(endMs, startMs + 1) },
  ]);
}
