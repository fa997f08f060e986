/**
 * pipeobs gen-logs: realistic Airflow, Kafka-consumer and ML-service logs at any size, for
 * trying monitor-logs, for its benchmark, and for tests. Reproducible from --seed.
 */
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Command } from 'commander';
import type { Deps } from '../core/deps.js';
import { UsageError, WorkFailedError } from '../core/errors.js';
import { GEN_FORMATS, LAG_PATTERNS, generateLogLines, type GenFormat, type GenOptions } from '../core/logs/generate.js';
import { windowFromFlags } from '../core/time/parse.js';
import { choiceFlag, collectRepeated, intFlag, numberFlag } from './shared.js';

export function registerGenLogs(program: Command, deps: Deps): void {
  program
    .command('gen-logs')
    .description('write realistic Airflow, Kafka-consumer and ML-service log lines (for trying monitor-logs and benchmarks)')
    .option('--format <name>', `${GEN_FORMATS.join(', ')} (repeatable or comma-separated; lines alternate between them)`, collectRepeated, [])
    .option('--lines <n>', 'how many lines', '1000')
    .option('--since <time>', 'time of the first line: 24h (ago), -24h, ISO 8601 or Unix seconds (default 24h)')
    .option('--until <time>', 'time of the last line (default now)')
    .option('--start <time>', 'the same as --since')
    .option('--end <time>', 'the same as --until')
    .option('--error-rate <p>', 'share of lines at ERROR level (and failed tasks), 0 to 1', '0.02')
    .option('--lag <pattern>', `Kafka consumer lag: ${LAG_PATTERNS.join(', ')}`, 'steady')
    .option('--confidence-drift <d>', 'how much the ML confidence falls from first line to last, 0 to 1', '0')
    .option('--seed <n>', 'random seed: the same seed writes the same lines', '1')
    .option('--out <file>', 'write to this file instead of stdout')
    .addHelpText('after', `
Examples:
  $ pipeobs gen-logs --format kafka --lines 1000000 --out kafka.log
  $ pipeobs gen-logs --format kafka,ml,airflow,airflow-text --lag growing --confidence-drift 0.3 --since -6h | pipeobs monitor-logs - --hours 6`)
    .action(async (raw: Record<string, unknown>) => {
      const formats = (raw.format as string[]).flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean);
      const now = deps.now();
      const win = windowFromFlags(raw, now);
      const since = win.start ?? new Date(now.getTime() - 86_400_000);
      const until = win.end ?? now;
      if (since.getTime() > until.getTime()) throw new UsageError(`${win.startFlag} is after ${win.endFlag}`);
      const o: GenOptions = {
        formats: (formats.length ? formats : ['kafka', 'ml', 'airflow', 'airflow-text']).map((f) => choiceFlag(f, '--format', GEN_FORMATS) as GenFormat),
        lines: intFlag(raw.lines, '--lines', 0, 1_000_000_000),
        startMs: since.getTime(),
        endMs: until.getTime(),
        errorRate: numberFlag(raw.errorRate, '--error-rate', 0, 1),
        lag: choiceFlag(raw.lag, '--lag', LAG_PATTERNS),
        confidenceDrift: numberFlag(raw.confidenceDrift, '--confidence-drift', 0, 1),
        seed: intFlag(raw.seed, '--seed', 0, 2 ** 31),
      };
      const file = raw.out === undefined ? null : path.resolve(deps.cwd, String(raw.out));
      const out = file ? createWriteStream(file) : null;
      const failed = out ? once(out, 'error').then(([err]) => err as Error) : null;
      for (const block of generateLogLines(o)) {
        if (!out) {
          // Respect a pipe's backpressure, so a billion lines never pile up in memory.
          const stream = deps.stdout as { write(s: string): unknown; once?: (e: string, f: () => void) => void };
          if (stream.write(block) === false && stream.once) await new Promise<void>((resolve) => stream.once!('drain', resolve));
          continue;
        }
        if (!out.write(block)) {
          const r = await Promise.race([once(out, 'drain').then(() => null), failed!]);
          if (r) throw new WorkFailedError(`cannot write ${file}: ${r.message}`);
        }
      }
      if (out) {
        out.end();
        const r = await Promise.race([once(out, 'finish').then(() => null), failed!]);
        if (r) throw new WorkFailedError(`cannot write ${file}: ${r.message}`);
      }
    });
}
