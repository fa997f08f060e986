/** What the benchmarks share: timing a command with its peak memory, medians, and a result file. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin', 'pipeobs');

export function requireTool(cmd: string, apt: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} is needed for this benchmark: apt-get install -y ${apt}`);
  return r.stdout.trim();
}

export interface Timed {
  wallSeconds: number;
  userSeconds: number;
  maxRssMb: number;
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs a command under GNU time: wall time, CPU and peak resident memory. */
export function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
  const time = requireTool('/usr/bin/time', 'time');
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(time, ['-f', '%M %U', cmd, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallSeconds = (performance.now() - t0) / 1000;
      const lines = stderr.trimEnd().split('\n');
      const [rssKb, user] = lines.pop()!.split(' ').map(Number);
      resolve({ wallSeconds, userSeconds: user, maxRssMb: rssKb / 1024, stdout, stderr: lines.join('\n'), code });
    });
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function saveResult(name: string, result: unknown): string {
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}

export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
