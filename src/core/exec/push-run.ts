/**
 * Pushing a one-shot process's samples (see one-shot.ts): apart, so that `exec --push none` never
 * loads the push, spool and HTTP code, and `exec` loads it while the job runs.
 */
import { pushSamples, type PushOutcome } from '../metrics/push.js';
import type { Sample } from '../metrics/registry.js';
import type { PushTarget } from './one-shot.js';

/** Pushes one batch; VictoriaMetrics being down spools it (never throws for that). */
export function pushBatch(target: PushTarget, samples: readonly Sample[], timestampMs: number): Promise<PushOutcome> {
  return pushSamples(target.client, target.spool, target.format, samples, timestampMs);
}
