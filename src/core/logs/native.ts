/**
 * The native twin of LineParser for Kafka-consumer, ML-service and Airflow lines (native/logscan.c,
 * prebuilt in the package or built at install, like push-influx's scanner). Without it the TypeScript
 * parser reads every line, with the same results, at about a fifth of the speed.
 */
import { loadNative } from '../native/load.js';

export interface NativeLogScanner {
  scanLogChunk(buf: Buffer, start: number, limit: number, out: Float64Array): number;
}

/**
 * The record the native scanner writes for each line: one double per slot, in this order
 * (native/logscan.c declares the same slots as R_START…R_HASH_B; a test reads both and holds
 * them equal). Every slot means the same for every kind of line; NaN (0 for counts, none for
 * the outcome) where the line says nothing.
 */
export const enum Slot {
  start = 0,
  end,
  kind,
  time,
  /** 1 for an ERROR, CRITICAL or FATAL line. */
  error,
  records,
  failed,
  latency,
  lag,
  mps,
  confidence,
  outcome,
  /** Two 32-bit hashes of the group's label bytes. */
  hashA,
  hashB,
}
/** Doubles per line in the native scanner's output. */
export const STRIDE = Slot.hashB + 1;
/** What a line is, as the native scanner sees it (K_… in native/logscan.c). */
export const enum NativeKind {
  /** Let the TypeScript parser read this line. */
  js = 0,
  kafka = 1,
  ml = 2,
  blank = 3,
  airflow = 4,
  python = 5,
}
/** Kinds whose component is fixed (a Python line's depends on its logger name). */
export const KIND_COMPONENT: readonly (string | null)[] = [null, 'kafka', 'ml', null, 'airflow', null];

let logScanner: NativeLogScanner | null | undefined;
/** The native scanner, loaded on first use (checking the binary is no cost of start-up or --help), or null. */
export function nativeLogScanner(): NativeLogScanner | null {
  if (logScanner === undefined) logScanner = loadNative<NativeLogScanner>('logscan');
  return logScanner;
}
