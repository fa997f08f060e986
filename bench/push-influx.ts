/**
 * push-influx of a 1,000,000-line file (2,000,000 samples) against `curl --data-binary @file`
 * posting the same file, each on a fresh VictoriaMetrics (so neither finds the other's series
 * cached), alternating, several rounds; medians of wall time, and pipeobs' peak memory.
 * Targets (issue 2): wall time within 1.3x of curl, peak memory under 200 MB.
 */
import { createWriteStream } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startVictoriaMetrics } from '../test/helpers/victoria.js';
import { BIN, median, requireTool, round, saveResult, timed } from './common.js';

const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function writeFile(file: string, nowMs: number): Promise<void> {
  const out = createWriteStream(file);
  const base = nowMs - 3_600_000;
  let chunk = '';
  for (let i = 0; i < LINES; i++) {
    chunk += `bench,host=h${i % 200},dc=d${i % 4} value=${((i * 0.37) % 1000).toFixed(3)},count=${i}i ${base + Math.floor(i / 200)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.end(chunk);
  await new Promise<void>((r) => out.once('finish', () => r()));
}

export async function benchPushInflux() {
  const curl = requireTool('curl', 'curl');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeobs-bench-'));
  const file = path.join(dir, 'bench.lp');
  await writeFile(file, Date.now());
  const runs: { tool: string; wallSeconds: number; userSeconds: number; maxRssMb: number }[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const tool of r % 2 ? ['pipeobs', 'curl'] : ['curl', 'pipeobs']) {
        const vm = await startVictoriaMetrics();
        try {
          const t =
            tool === 'curl'
              ? await timed(curl, ['-sf', '-o', '/dev/null', '--data-binary', `@${file}`, `${vm.url}/write?precision=ms`])
              : await timed(process.execPath, [BIN, '--vm-url', vm.url, 'push-influx', file, '--precision', 'ms', '-o', 'json'], { ...process.env, CI: 'true' });
          if (t.code !== 0) throw new Error(`${tool} failed: ${t.stderr}`);
          // Every sample arrived, for both.
          const got = await vm.queryWhen('sum(count_over_time({__name__=~"bench_.*"}[3h]))', (x) => x.length === 1 && Number(x[0].value[1]) === 2 * LINES, 30_000);
          if (Number(got[0].value[1]) !== 2 * LINES) throw new Error(`${tool}: samples missing`);
          runs.push({ tool, wallSeconds: round(t.wallSeconds, 3), userSeconds: t.userSeconds, maxRssMb: round(t.maxRssMb, 1) });
          process.stderr.write(`push-influx round ${r + 1}: ${tool} ${round(t.wallSeconds, 3)} s, ${round(t.maxRssMb, 1)} MB\n`);
        } finally {
          await vm.cleanup();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const of = (tool: string) => runs.filter((x) => x.tool === tool);
  const curlWall = median(of('curl').map((x) => x.wallSeconds));
  const pipeobsWall = median(of('pipeobs').map((x) => x.wallSeconds));
  const result = {
    lines: LINES,
    samples: 2 * LINES,
    rounds: ROUNDS,
    curl_wall_seconds: curlWall,
    pipeobs_wall_seconds: pipeobsWall,
    ratio: round(pipeobsWall / curlWall, 2),
    pipeobs_peak_rss_mb: Math.max(...of('pipeobs').map((x) => x.maxRssMb)),
    pipeobs_user_cpu_seconds: median(of('pipeobs').map((x) => x.userSeconds)),
    targets: { ratio: 1.3, peak_rss_mb: 200 },
    runs,
  };
  saveResult('push-influx', result);
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchPushInflux(), null, 2));
}
