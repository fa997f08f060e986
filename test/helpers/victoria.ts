/**
 * Starts real VictoriaMetrics binaries (Debian's victoria-metrics package) on free loopback
 * ports with temporary data directories, and stops them. A missing binary fails the test with
 * the install hint: these tests never pass by skipping.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export function requireBinary(name: string, apt = 'victoria-metrics'): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  if (r.status !== 0 || !p) {
    throw new Error(`${name} is not installed: run \`apt-get update && apt-get install -y ${apt}\` (the tests need the real binary)`);
  }
  return p;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface ManagedProcess {
  url: string;
  port: number;
  proc: ChildProcess | null;
  logs(): string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function manage(name: string, argsFor: (port: number) => string[], healthPath: string, port: number): ManagedProcess {
  const bin = requireBinary(name, name === 'promtool' ? 'prometheus' : 'victoria-metrics');
  let log = '';
  const self: ManagedProcess = {
    url: `http://127.0.0.1:${port}`,
    port,
    proc: null,
    logs: () => log,
    async start() {
      if (self.proc) return;
      const proc = spawn(bin, argsFor(port), { stdio: ['ignore', 'pipe', 'pipe'] });
      self.proc = proc;
      const keep = (d: Buffer) => {
        log = (log + d.toString()).slice(-20_000);
      };
      proc.stdout!.on('data', keep);
      proc.stderr!.on('data', keep);
      let exited = false;
      proc.once('exit', () => {
        exited = true;
      });
      await waitFor(`${name} on port ${port} to answer ${healthPath}`, async () => {
        if (exited) throw new Error(`${name} exited: ${log.slice(-2000)}`);
        const res = await fetch(`${self.url}${healthPath}`);
        await res.arrayBuffer();
        return res.ok;
      });
    },
    async stop() {
      const proc = self.proc;
      if (!proc) return;
      self.proc = null;
      if (proc.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGINT');
      });
    },
  };
  return self;
}

export type VectorResult = { metric: Record<string, string>; value: [number, string] }[];
export type ExportResult = { metric: Record<string, string>; values: number[]; timestamps: number[] }[];

export interface VictoriaMetrics extends ManagedProcess {
  dataDir: string;
  /** Makes everything written so far searchable at once. */
  flush(): Promise<void>;
  /** Instant query; returns the result vector. */
  query(promql: string, time?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Every sample of the matching series, as /api/v1/export returns them. */
  exportSeries(match: string): Promise<{ metric: Record<string, string>; values: number[]; timestamps: number[] }[]>;
  /**
   * Polls until the query or export satisfies `ready`: on this version, a new series becomes
   * searchable about a second after it was written, even after /internal/force_flush.
   */
  queryWhen(promql: string, ready: (r: { metric: Record<string, string>; value: [number, string] }[]) => boolean, timeoutMs?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  exportWhen(match: string, ready: (r: { metric: Record<string, string>; values: number[]; timestamps: number[] }[]) => boolean, timeoutMs?: number): Promise<{ metric: Record<string, string>; values: number[]; timestamps: number[] }[]>;
  cleanup(): Promise<void>;
}

export async function startVictoriaMetrics(extraArgs: string[] = []): Promise<VictoriaMetrics> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pipeobs-vm-'));
  const port = await freePort();
  const base = manage(
    'victoria-metrics',
    (p) => [`-storageDataPath=${dataDir}`, `-httpListenAddr=127.0.0.1:${p}`, '-search.latencyOffset=0', '-retentionPeriod=100y', '-loggerLevel=ERROR', ...extraArgs],
    '/health',
    port,
  );
  const vm: VictoriaMetrics = Object.assign(base, {
    dataDir,
    async flush() {
      const res = await fetch(`${base.url}/internal/force_flush`);
      await res.arrayBuffer();
    },
    async query(promql: string, time?: number) {
      await vm.flush();
      const body = new URLSearchParams({ query: promql });
      // VictoriaMetrics floors a missing time to the second: a sample written this second would be in its future.
      body.set('time', String(time ?? Math.ceil(Date.now() / 1000) + 1));
      const res = await fetch(`${base.url}/api/v1/query`, { method: 'POST', body });
      const doc = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] }; error?: string };
      if (doc.status !== 'success') throw new Error(`query ${promql} failed: ${doc.error}`);
      return doc.data.result;
    },
    async exportSeries(match: string) {
      await vm.flush();
      const res = await fetch(`${base.url}/api/v1/export`, { method: 'POST', body: new URLSearchParams({ 'match[]': match }) });
      const text = await res.text();
      if (!res.ok) throw new Error(`export ${match} failed: ${text}`);
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    },
    async queryWhen(promql: string, ready: (r: VectorResult) => boolean, timeoutMs = 10_000) {
      let last: unknown = [];
      try {
        return await waitFor(`${promql} to give the expected result`, async () => {
          const r = await vm.query(promql);
          last = r;
          return ready(r) ? r : null;
        }, timeoutMs, 200);
      } catch (err) {
        throw new Error(`${(err as Error).message}; last result: ${JSON.stringify(last)}`);
      }
    },
    async exportWhen(match: string, ready: (r: ExportResult) => boolean, timeoutMs = 10_000) {
      let last: unknown = [];
      try {
        return await waitFor(`export of ${match} to give the expected result`, async () => {
          const r = await vm.exportSeries(match);
          last = r;
          return ready(r) ? r : null;
        }, timeoutMs, 200);
      } catch (err) {
        throw new Error(`${(err as Error).message}; last result: ${JSON.stringify(last)}`);
      }
    },
    async cleanup() {
      await base.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
  await vm.start();
  return vm;
}

/** A real vmagent scraping the given targets every second and writing to VictoriaMetrics. */
export async function startVmagent(remoteWriteUrl: string, scrapeConfigYaml: string, extraArgs: string[] = []): Promise<ManagedProcess & { cleanup(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeobs-vmagent-'));
  const configFile = path.join(dir, 'scrape.yml');
  writeFileSync(configFile, scrapeConfigYaml);
  const port = await freePort();
  const agent = manage(
    'vmagent',
    (p) => [
      `-httpListenAddr=127.0.0.1:${p}`,
      `-promscrape.config=${configFile}`,
      `-remoteWrite.url=${remoteWriteUrl}/api/v1/write`,
      `-remoteWrite.tmpDataPath=${path.join(dir, 'buffer')}`,
      '-remoteWrite.flushInterval=200ms',
      '-loggerLevel=ERROR',
      ...extraArgs,
    ],
    '/health',
    port,
  );
  const managed = Object.assign(agent, {
    async cleanup() {
      await agent.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
  await managed.start();
  return managed;
}
