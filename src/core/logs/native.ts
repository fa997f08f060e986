/**
 * The native twin of LineParser for Kafka-consumer, ML-service and Airflow lines (native/logscan.c,
 * prebuilt in the package or built at install, like push-influx's scanner). Without it the TypeScript
 * parser reads every line, with the same results, at about a fifth of the speed.
 */
import { loadNative } from '../native/load.js';

export interface NativeLogScanner {
  scanLogChunk(buf: Buffer, start: number, limit: number, out: Float64Array): number;
}

/** Doubles per line in the native scanner's output. */
export const STRIDE = 12;
export const enum NativeKind {
  js = 0,
  kafka = 1,
  ml = 2,
  blank = 3,
  airflow = 4,
}

export const nativeLogScanner: NativeLogScanner | null = loadNative<NativeLogScanner>('logscan');
