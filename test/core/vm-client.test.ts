import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { VmClient, VmRejectedError } from '../../src/core/victoria/client.js';
import { ExitCode, UnreachableError } from '../../src/core/errors.js';
import { startVictoriaMetrics, freePort, type VictoriaMetrics } from '../helpers/victoria.js';

let vm: VictoriaMetrics;
before(async () => {
  vm = await startVictoriaMetrics();
});
after(async () => {
  await vm?.cleanup();
});

function client(readUrl: string, writeUrl = readUrl, retries = 2): VmClient {
  return new VmClient({ readUrl, writeUrl, timeoutMs: 5000, retries, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), backoffMs: 10 });
}

const T = Math.floor(Date.now() / 60_000) * 60 - 3600; // a minute boundary an hour ago, seconds

test('writes through both formats and reads back through every query endpoint', async () => {
  const c = client(vm.url);
  await c.importPrometheus(`rows_total{job="a",stage="load"} 10 ${T * 1000}\nrows_total{job="a",stage="load"} 25 ${(T + 60) * 1000}\n`);
  await c.writeInflux(`disk,host=h1 used=0.5,free=12i ${T}\n`, { precision: 's' });
  await c.forceFlush();

  const inst = await c.query('rows_total', T + 60);
  assert.equal(inst.resultType, 'vector');
  assert.deepEqual(inst.result, [{ metric: { __name__: 'rows_total', job: 'a', stage: 'load' }, value: [T + 60, '25'] }]);

  const range = await c.queryRange('rows_total', T, T + 60, 60);
  assert.deepEqual(range.result[0].values, [[T, '10'], [T + 60, '25']]);

  assert.deepEqual((await c.labelValues('__name__')).sort(), ['disk_free', 'disk_used', 'rows_total']);
  assert.ok((await c.labels()).includes('host'));
  // Without a range, /api/v1/series looks at the current UTC day only.
  assert.deepEqual(await c.series(['disk_used'], T - 60, T + 60), [{ __name__: 'disk_used', host: 'h1' }]);

  const exported = [];
  for await (const row of c.export(['{__name__=~"disk_.*"}'])) exported.push(row);
  exported.sort((a, b) => (a.metric.__name__ < b.metric.__name__ ? -1 : 1));
  assert.deepEqual(exported, [
    { metric: { __name__: 'disk_free', host: 'h1' }, values: [12], timestamps: [T * 1000] },
    { metric: { __name__: 'disk_used', host: 'h1' }, values: [0.5], timestamps: [T * 1000] },
  ]);
});

test('health, version and flags come from the real server', async () => {
  const c = client(vm.url);
  assert.deepEqual(await c.health(), { read: true, write: true });
  const version = await c.version();
  assert.ok(version === 'unknown' || /^victoria-metrics-/.test(version), version); // Debian's build reports an empty version
  assert.equal((await c.flags()).get('retentionPeriod'), '100y');
});

test('a query VictoriaMetrics cannot parse is a usage error carrying its own message', async () => {
  await assert.rejects(client(vm.url).query('sum(rate(x[5m])'), (err: unknown) => {
    assert.ok(err instanceof VmRejectedError);
    assert.equal(err.exitCode, ExitCode.usage);
    assert.equal(err.status, 422);
    assert.match(err.message, /VictoriaMetrics rejected query sum\(rate\(x\[5m\]\) \(HTTP 422\): .*unparsed data|cannot parse/);
    return true;
  });
});

test('connection refused is retried, then reported as unreachable with what to do', async () => {
  const port = await freePort();
  const started = Date.now();
  await assert.rejects(client(`http://127.0.0.1:${port}`, undefined, 2).query('up'), (err: unknown) => {
    assert.ok(err instanceof UnreachableError);
    assert.match(err.message, new RegExp(`cannot reach VictoriaMetrics at http://127.0.0.1:${port}/api/v1/query for query up \\(request failed: ECONNREFUSED, after 3 attempts\\)`));
    assert.match(err.hint ?? '', /victoria-metrics -storageDataPath=.*PIPEOBS_VM_URL/);
    return true;
  });
  assert.ok(Date.now() - started >= 20, 'backoff waited between attempts');
});

test('5xx and 429 answers are retried with backoff; 4xx are not', async () => {
  const seen: string[] = [];
  const answers = [503, 429, 204];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${body}`);
      const status = answers.shift() ?? 400;
      res.writeHead(status).end(status === 204 ? '' : `status ${status}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await client(url, url, 3).writeInflux('m v=1 1\n', { precision: 's' });
    assert.deepEqual(seen, ['POST /write?precision=s m v=1 1\n', 'POST /write?precision=s m v=1 1\n', 'POST /write?precision=s m v=1 1\n']);
    seen.length = 0;
    await assert.rejects(client(url, url, 3).writeInflux('m v=1\n'), /VictoriaMetrics rejected line-protocol write \(HTTP 400\): status 400/);
    assert.equal(seen.length, 1);
  } finally {
    server.close();
  }
});

test('cluster-style URLs reach the tenant paths (through a rewriting proxy in front of the real server)', async () => {
  const paths: string[] = [];
  // vminsert/vmselect put the API under /insert/<tenant>/ and /select/<tenant>/prometheus/; single-node serves it at the root.
  const proxy = http.createServer((req, res) => {
    paths.push(req.url!.split('?')[0]);
    const target = req.url!
      .replace(/^\/insert\/0\/prometheus\//, '/')
      .replace(/^\/insert\/0\/influx\/write/, '/write')
      .replace(/^\/select\/0\/prometheus\//, '/');
    const upstream = http.request(`${vm.url}${target}`, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode!, up.headers);
      up.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  try {
    const c = client(`${base}/select/0`, `${base}/insert/0`);
    await c.importPrometheus(`tenant_metric{k="v"} 7 ${T * 1000}\n`);
    await c.writeInflux(`tenant_influx,k=v metric=8 ${T * 1000}\n`, { precision: 'ms' });
    await vm.flush();
    const r = await c.query('{__name__=~"tenant_.*"}', T);
    assert.equal(r.resultType, 'vector');
    const vector = r.result as { metric: Record<string, string>; value: [number, string] }[];
    assert.deepEqual(vector.sort((a, b) => (a.metric.__name__ < b.metric.__name__ ? -1 : 1)), [
      { metric: { __name__: 'tenant_influx_metric', k: 'v' }, value: [T, '8'] },
      { metric: { __name__: 'tenant_metric', k: 'v' }, value: [T, '7'] },
    ]);
    assert.deepEqual(paths, ['/insert/0/prometheus/api/v1/import/prometheus', '/insert/0/influx/write', '/select/0/prometheus/api/v1/query']);
  } finally {
    proxy.close();
  }
});

test('credentials in the URL are sent as Basic auth and never shown in errors', async () => {
  const auth: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    auth.push(req.headers.authorization);
    res.writeHead(500).end('boom');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://reader:s3cret%21@127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await assert.rejects(client(url, url, 0).query('up'), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.doesNotMatch(err.message, /s3cret|reader/);
      // The user name goes too: a token is often given as http://TOKEN@host.
      assert.match(err.message, /http:\/\/\*\*\*@127\.0\.0\.1:\d+\/api\/v1\/query/);
      return true;
    });
    assert.deepEqual(auth, [`Basic ${Buffer.from('reader:s3cret!').toString('base64')}`]);
  } finally {
    server.close();
  }
});

/** A node:http server whose handler the test writes; returns its URL and a close function. */
async function serve(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

test('the timeout bounds the wait for an answer and each pause inside it, not a long download that keeps coming', async () => {
  const line = (i: number) => `{"metric":{"__name__":"slow"},"values":[${i}],"timestamps":[${i}]}\n`;
  const steady = await serve((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    let i = 0;
    const t = setInterval(() => {
      res.write(line(i++));
      if (i === 8) {
        clearInterval(t);
        res.end();
      }
    }, 150); // 1.2 s in all, never 0.5 s without a byte
  });
  const stalled = await serve((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(line(0)); // then nothing
  });
  const c = (url: string) => new VmClient({ readUrl: url, writeUrl: url, timeoutMs: 500, retries: 0, sleep: async () => {}, backoffMs: 1 });
  try {
    const rows = [];
    for await (const r of c(steady.url).export(['slow'])) rows.push(r.values[0]);
    assert.deepEqual(rows, [0, 1, 2, 3, 4, 5, 6, 7]);
    await assert.rejects(
      (async () => {
        for await (const _ of c(stalled.url).export(['slow'])) void _;
      })(),
      (err: unknown) => {
        assert.ok(err instanceof UnreachableError);
        assert.equal(err.exitCode, ExitCode.unreachable);
        assert.match(err.message, /^VictoriaMetrics at http:\/\/127\.0\.0\.1:\d+\/api\/v1\/export stopped sending export midway \(the answer was cut off: no data for 0\.5 s in the middle of the answer\)$/);
        return true;
      },
    );
  } finally {
    await steady.close();
    await stalled.close();
  }
});

test('an answer that is not JSON (not VictoriaMetrics at that URL) is a configuration error, not a crash', async () => {
  const html = await serve((req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>login</html>'));
  try {
    await assert.rejects(client(html.url).query('up'), (err: unknown) => {
      assert.ok(err instanceof Error && 'exitCode' in err);
      assert.equal((err as { exitCode: number }).exitCode, ExitCode.config);
      assert.match(err.message, /answered query up with something that is not JSON: "<html>login<\/html>"/);
      return true;
    });
  } finally {
    await html.close();
  }
});
