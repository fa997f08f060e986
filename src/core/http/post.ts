/**
 * POSTs bytes with node:http(s) and keep-alive connections. Writes go through this instead of
 * fetch: for multi-megabyte bodies undici's fetch costs ten times the CPU (it copies the body
 * and streams it through web streams), which matters on a machine where VictoriaMetrics needs
 * the same cores to ingest. Measured: 30 ms against 285-345 ms of CPU for 60 MB in 6 MB batches.
 */
import http from 'node:http';
import https from 'node:https';

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 8 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 8 }),
};

/** Sends the pieces one after the other as one body, and returns the answer as a fetch Response. */
export function postBytes(url: string, pieces: readonly Uint8Array[], headers: Headers, signal: AbortSignal): Promise<Response> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  const length = pieces.reduce((n, p) => n + p.length, 0);
  const outgoing: Record<string, string> = { 'Content-Length': String(length) };
  headers.forEach((v, k) => (outgoing[k] = v));
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method: 'POST', headers: outgoing, agent: agents[u.protocol as 'http:' | 'https:'], signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
        const response = new Response(body, { status, headers: res.headers as Record<string, string> });
        Object.defineProperty(response, 'url', { value: url });
        resolve(response);
      });
      res.on('error', reject);
    });
    req.on('error', (err) => reject(Object.assign(new TypeError('fetch failed'), { cause: err })));
    for (const p of pieces) req.write(p);
    req.end();
  });
}
