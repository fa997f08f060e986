/**
 * Pushing a snapshot of samples to VictoriaMetrics, with the spool as the fallback: whatever
 * cannot be delivered now is kept on disk and delivered, oldest first, by the next push to the
 * same target. Every sample carries the snapshot's timestamp, so a payload sent twice (a retry
 * after a timeout that VictoriaMetrics had in fact stored, or a spooled copy) holds the same
 * samples at the same millisecond, which deduplication (-dedup.minScrapeInterval=1ms) keeps once.
 * A push never throws for an unreachable server or a full spool disk: the work it reports on
 * goes on, and the outcome says what was delivered, kept or lost.
 */
import { UnreachableError } from '../errors.js';
import type { VmClient } from '../victoria/client.js';
import { SpoolReadError, SpoolWriteError, type Spool, type SpoolFlushResult } from '../spool/spool.js';
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
  /** Neither delivered nor kept (the spool could not be written): these samples are lost. */
  lost: boolean;
  error?: string;
  /** What went wrong, as a sentence for a warning: the payload was not delivered, or the spool is unreadable. */
  message?: string;
  /** Earlier payloads from the spool delivered before this one. */
  flushed: SpoolFlushResult;
  /** Time spent encoding and delivering (or spooling), the push's whole cost to the run. */
  seconds: number;
}

export function encodeSamples(format: Exclude<PushFormat, 'none'>, samples: readonly Sample[], timestampMs: number): string {
  return format === 'prometheus' ? toPrometheusText(samples, timestampMs) : toInfluxLines(samples, timestampMs);
}

/** Samples that share one timestamp: one part of a push. */
export interface StampedSamples {
  samples: readonly Sample[];
  timestampMs: number;
}

export function pushSamples(
  client: VmClient,
  spool: Spool,
  format: Exclude<PushFormat, 'none'>,
  samples: readonly Sample[],
  timestampMs: number,
): Promise<PushOutcome> {
  return pushStamped(client, spool, format, [{ samples, timestampMs }]);
}

/**
 * Pushes parts stamped with different times in one request (a run's counters at 0 at its start
 * and its values at its end): delivered, spooled or lost together, so the zero never arrives
 * without the value nor the value without its zero.
 */
export async function pushStamped(
  client: VmClient,
  spool: Spool,
  format: Exclude<PushFormat, 'none'>,
  parts: readonly StampedSamples[],
): Promise<PushOutcome> {
  // hrtime, not performance.now(): no perf_hooks to load on a one-shot process's only push.
  const t0 = process.hrtime.bigint();
  const seconds = () => Math.round(Number(process.hrtime.bigint() - t0) / 1e6) / 1000;
  const body = parts.map((p) => encodeSamples(format, p.samples, p.timestampMs)).join('');
  const samples = parts.reduce((n, p) => n + p.samples.length, 0);
  // The spool orders payloads by the time in their name: the earliest sample's.
  const timestampMs = Math.min(...parts.map((p) => p.timestampMs));
  const base = { format, samples, bytes: Buffer.byteLength(body) };
  const mine = spool.forTarget(client.writeTarget);
  // A spool that cannot be read delays what waits there, not this push.
  const flushed: SpoolFlushResult = await mine.flush(client).catch((err: unknown) => {
    if (!(err instanceof SpoolReadError)) throw err;
    return { sent_files: 0, sent_bytes: 0, sent_samples: 0, remaining_files: 0, spool_error: err.message };
  });
  const kind = format === 'prometheus' ? 'prom' : (`influx-${INFLUX_PUSH_PRECISION}` as const);
  const keep = async (error: string): Promise<PushOutcome> => {
    try {
      const spooledFile = await mine.write(kind, body, timestampMs, samples);
      const message = `${error}; ${samples} samples kept in ${spooledFile}: the next push to ${client.writeUrl} (or \`pipeobs push-influx --flush-spool\`) delivers them`;
      return { ...base, sent: false, lost: false, spooledFile, error, message, flushed, seconds: seconds() };
    } catch (err) {
      if (!(err instanceof SpoolWriteError)) throw err;
      const message = `${error}; ${samples} samples could not be kept either: ${err.message}. They are lost (the next push sends new values)`;
      return { ...base, sent: false, lost: true, error, message, flushed, seconds: seconds() };
    }
  };
  // VictoriaMetrics is still down: keep this payload behind the older ones.
  if (flushed.error) return keep(flushed.error);
  try {
    if (format === 'prometheus') await client.importPrometheus(body);
    else await client.writeInflux(body, { precision: INFLUX_PUSH_PRECISION });
    const message = flushed.spool_error ? `delivered, but what waits in the spool stays there: ${flushed.spool_error}` : undefined;
    return { ...base, sent: true, lost: false, ...(message ? { message } : {}), flushed, seconds: seconds() };
  } catch (err) {
    if (!(err instanceof UnreachableError)) throw err;
    return keep(err.message);
  }
}
