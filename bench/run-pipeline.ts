/**
 * run-pipeline --rows 1000000 --once: rows per second per stage, and what the instrumentation
 * costs. Two measures of that cost: an A/B of whole runs with the same seed, instrumentation on
 * (catalog metrics, /metrics served, two pushes to a real VictoriaMetrics) and off (--no-metrics),
 * which run-to-run noise of a 9-second run blurs; and the time the instrumentation itself took
 * inside the instrumented runs (its pushes: snapshot, encoding, HTTP), over the run's wall time.
 * Target (issue 2): instrumentation under 2% of the run's wall time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startVictoriaMetrics } from '../test/helpers/victoria.js';
import { BIN, median, round, saveResult, timed } from './common.js';
import type { RunPipelineResult } from '../src/commands/run-pipeline.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

export async function benchRunPipeline() {
  const vm = await startVictoriaMetrics();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeobs-bench-'));
  const on: { wall: number; push: number; doc: RunPipelineResult; rss: number }[] = [];
  const off: { wall: number; rss: number }[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of r % 2 ? ['on', 'off'] : ['off', 'on']) {
        const args = [BIN, '--vm-url', vm.url, 'run-pipeline', '--once', '--rows', String(ROWS), '--seed', '42', '--output-dir', dir, '-o', 'json'];
        if (mode === 'on') args.push('--push', 'prometheus', '--metrics-port', '0');
        else args.push('--no-metrics');
        const t = await timed(process.execPath, args, { ...process.env, CI: 'true' });
        if (t.code !== 0) throw new Error(`run-pipeline failed: ${t.stderr}`);
        const doc = JSON.parse(t.stdout) as RunPipelineResult;
        if (mode === 'on') on.push({ wall: t.wallSeconds, push: doc.metrics.push.pushes.reduce((s, p) => s + p.seconds, 0), doc, rss: t.maxRssMb });
        else off.push({ wall: t.wallSeconds, rss: t.maxRssMb });
        process.stderr.write(`run-pipeline round ${r + 1}: metrics ${mode} ${round(t.wallSeconds, 2)} s\n`);
      }
    }
  } finally {
    await vm.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
  const stages = on[0].doc.runs[0].stages.map((s) => ({
    stage: s.stage,
    rows_per_second: Math.round(median(on.map((x) => x.doc.runs[0].stages.find((y) => y.stage === s.stage)!.rowsPerSecond))),
    seconds: round(median(on.map((x) => x.doc.runs[0].stages.find((y) => y.stage === s.stage)!.seconds)), 3),
  }));
  const wallOn = median(on.map((x) => x.wall));
  const wallOff = median(off.map((x) => x.wall));
  const instrumentation = median(on.map((x) => x.push / x.wall));
  const result = {
    rows: ROWS,
    rounds: ROUNDS,
    stages,
    wall_seconds_instrumented: round(wallOn, 2),
    wall_seconds_uninstrumented: round(wallOff, 2),
    ab_difference_percent: round((100 * (wallOn - wallOff)) / wallOff, 1),
    instrumentation_seconds_per_run: round(median(on.map((x) => x.push)), 4),
    instrumentation_share_percent: round(100 * instrumentation, 3),
    peak_rss_mb: round(Math.max(...on.map((x) => x.rss)), 0),
    target_percent: 2,
  };
  saveResult('run-pipeline', result);
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchRunPipeline(), null, 2));
}
