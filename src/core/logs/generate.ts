/**
 * Realistic logs in the formats monitor-logs reads, at any size, reproducible from a seed:
 * Kafka-consumer and ML-service JSON lines, Airflow JSON lines, Airflow's plain-text task
 * log, and Python logging's stock layouts with the numbers in phrases and key=value pairs. Errors, lag and confidence follow chosen patterns, so a report has something to find.
 */

import { BUILTIN_FORMATS } from './format-table.js';
import type { GenLine } from './format-view.js';
import { generatePythonLine } from './python.js';

export const GEN_FORMATS = ['kafka', 'ml', 'airflow', 'airflow-text', 'python'] as const;
export type GenFormat = (typeof GEN_FORMATS)[number];
export const LAG_PATTERNS = ['steady', 'growing', 'spike'] as const;
export type LagPattern = (typeof LAG_PATTERNS)[number];

export interface GenOptions {
  formats: readonly GenFormat[];
  lines: number;
  startMs: number;
  endMs: number;
  /** Share of lines at ERROR level (and of Airflow tasks that fail), 0..1. */
  errorRate: number;
  lag: LagPattern;
  /** Model confidence drifts down by this much over the range (0 = stable). */
  confidenceDrift: number;
  seed: number;
}

/** mulberry32: small, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The line writers: each built-in format's (the format table), and Python's. */
const GENERATORS: Record<string, (g: GenLine) => string> = Object.assign({}, ...BUILTIN_FORMATS.map((f) => f.generators), { python: generatePythonLine });

/** Lines as text, each ending in "\n", delivered in blocks of about blockLines lines. */
export function* generateLogLines(o: GenOptions, blockLines = 10_000): Generator<string> {
  const rand = rng(o.seed);
  const span = Math.max(1, o.endMs - o.startMs);
  const step = span / Math.max(1, o.lines);
  const lagBase = new Map<string, number>();
  let block: string[] = [];
  for (let i = 0; i < o.lines; i++) {
    const t = o.startMs + Math.floor(i * step + rand() * step);
    const progress = (t - o.startMs) / span;
    const ts = new Date(t).toISOString();
    const format = o.formats[i % o.formats.length];
    const isError = rand() < o.errorRate;
    const level: GenLine['level'] = isError ? 'ERROR' : rand() < 0.05 ? 'WARNING' : 'INFO';
    const line = GENERATORS[format]({ rand, i, t, ts, progress, isError, level, lag: o.lag, confidenceDrift: o.confidenceDrift, lagBase });
    block.push(line);
    if (block.length >= blockLines) {
      yield block.join('\n') + '\n';
      block = [];
    }
  }
  if (block.length) yield block.join('\n') + '\n';
}
