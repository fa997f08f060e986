/**
 * verify and the native stack (issue 6): the stack starts and answers health checks (target under
 * 5 s); verify with everything healthy (target under 2 s) and with everything down (target: under
 * its per-check timeout).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/victoria.js';
import { BIN, ROOT, median, round, saveResult, timed } from './common.js';

export async function benchVerify() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeobs-bench-stack-'));
  const [vm, agent, alert] = [await freePort(), await freePort(), await freePort()];
  const env = { ...process.env, CI: 'true', PIPEOBS_STACK_DIR: dir, PIPEOBS_STACK_VM_PORT: String(vm), PIPEOBS_STACK_VMAGENT_PORT: String(agent), PIPEOBS_STACK_VMALERT_PORT: String(alert) };
  const stack = (cmd: string) => spawnSync('bash', [path.join(ROOT, 'scripts', 'stack.sh'), cmd], { env, encoding: 'utf8' });
  const t0 = performance.now();
  const started = stack('start');
  const startSeconds = (performance.now() - t0) / 1000;
  if (started.status !== 0) throw new Error(started.stdout + started.stderr);
  try {
    const verifyEnv = { ...env, PIPEOBS_VM_URL: `http://127.0.0.1:${vm}`, PIPEOBS_VMAGENT_URL: `http://127.0.0.1:${agent}`, PIPEOBS_VMALERT_URL: `http://127.0.0.1:${alert}`, OPENAI_API_KEY: '' };
    // healthy: the checks that do not need pipeline data (targets and dashboard metrics need a running pipeline)
    const healthy: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = await timed(process.execPath, [BIN, 'verify', '--write-probe', '--skip', 'vmagent,dashboard-metrics', '-o', 'json'], verifyEnv);
      if (t.code !== 0) throw new Error(t.stdout + t.stderr);
      healthy.push(t.wallSeconds);
    }
    const port = await freePort();
    const downEnv = { ...env, PIPEOBS_VM_URL: `http://127.0.0.1:${port}`, PIPEOBS_VMAGENT_URL: `http://127.0.0.1:${port}`, PIPEOBS_VMALERT_URL: `http://127.0.0.1:${port}`, OPENAI_API_KEY: '' };
    const down = await timed(process.execPath, [BIN, 'verify', '--timeout', '3s', '-o', 'json'], downEnv);
    const result = {
      stack_start_seconds: round(startSeconds, 2),
      verify_healthy_seconds_median: round(median(healthy), 2),
      verify_all_down_seconds: round(down.wallSeconds, 2),
      verify_all_down_exit_code: down.code,
      targets: { stack_start_seconds: 5, verify_healthy_seconds: 2, verify_all_down_seconds: 3 },
    };
    saveResult('verify', result);
    return result;
  } finally {
    stack('stop');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchVerify(), null, 2));
}
