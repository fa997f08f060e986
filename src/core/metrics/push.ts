/**
 * Pushing a snapshot of samples to VictoriaMetrics, with the spool as the fallback: whatever
 * cannot be delivered now is kept on disk and delivered, oldest first, by the next push.
 */
import { UnreachableError } from '../errors.js';
import type { VmClient } from '../victoria/client.js';
import { Spool, type SpoolFlushResult } from '../spool/spool.js';
import { INFLUX_PUSH_PRECISION, toInfluxLines, toPrometheusText } from './exposition.js';
import type { Sample } from './registry.js';

import type { PushFormat } from './push-formats.js';
export { PUSH_FORMATS, type PushFormat } from './push-formats.js';

export interface PushOutcome {
  format: PushFormat;
  samples: number;
  bytes: number;
  /** Delivered to VictoriaMetrics now. */
  sent: boolean;
  /** Where the payload waits when it could not be delivered. */
  spooledFile?: string;
  error?: string;
  /** Earlier payloads from the spool delivered before this one. */
  flushed: SpoolFlushResult;
  /** Time spent encoding and delivering (or spooling), the push's whole cost to the run. */
  seconds: number;
}

export function encodeSamples(format: Exclude<PushFormat, 'none'>, samples: readonly Sample[], timestampMs: number): string {
  return format === 'prometheus' ? toPrometheusText(samples, timestampMs) : toInfluxLines(samples, timestampMs);
}

export async function pushSamples(
  client: VmClient,
  spool: Spool,
  format: Exclude<PushFormat, 'none'>,
  samples: readonly Sample[],
  timestampMs: number,
): Promise<PushOutcome> {
  const t0 = performance.now();
  const seconds = () => Math.round(performance.now() - t0) / 1000;
  const body = encodeSamples(format, samples, timestampMs);
  const base = { format, samples: samples.length, bytes: Buffer.byteLength(body) };
  const flushed = await spool.flush(client);
  const kind = format === 'prometheus' ? 'prom' : (`influx-${INFLUX_PUSH_PRECISION}` as const);
  if (flushed.error) {
    // VictoriaMetrics is still down: keep this payload behind the older ones.
    const spooledFile = await spool.write(kind, body, timestampMs);
    return { ...base, sent: false, spooledFile, error: flushed.error, flushed, seconds: seconds() };
  }
  try {
    if (format === 'prometheus') await client.importPrometheus(body);
    else await client.writeInflux(body, { precision: INFLUX_PUSH_PRECISION });
    return { ...base, sent: true, flushed, seconds: seconds() };
  } catch (err) {
    if (!(err instanceof UnreachableError)) throw err;
    const spooledFile = await spool.write(kind, body, timestampMs);
    return { ...base, sent: false, spooledFile, error: err.message, flushed, seconds: seconds() };
  }
}
