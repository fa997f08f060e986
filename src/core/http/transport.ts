/**
 * HTTP for the VictoriaMetrics client, on node:http(s) with keep-alive connections. Not fetch:
 * for large bodies undici's fetch costs ten times the CPU and time, measured here: posting 60 MB
 * in 6 MB batches took 285-345 ms of CPU against 30 ms, and reading a 42 MB export took 2.1-2.3 s
 * against 0.17-0.28 s (curl: 0.16-0.28 s). Request bodies are sent as the pieces they are given;
 * response bodies are read as a stream of Buffers.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';

// node:https (and with it tls and crypto) is loaded on the first https URL only: a few
// milliseconds of start-up that a local VictoriaMetrics never needs.
const require = createRequire(import.meta.url);
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
let httpsAgent: import('node:https').Agent | null = null;
function transportFor(protocol: string): { mod: typeof http | typeof import('node:https'); agent: http.Agent } {
  if (protocol !== 'https:') return { mod: http, agent: httpAgent };
  const https = require('node:https') as typeof import('node:https');
  httpsAgent ??= new https.Agent({ keepAlive: true, maxSockets: 8 });
  return { mod: https, agent: httpsAgent };
}

export interface HttpResponse {
  status: number;
  ok: boolean;
  url: string;
  headers: IncomingHttpHeaders;
  /** The body as it arrives; read it, or call text()/json()/discard(), exactly once. */
  body: AsyncIterable<Buffer>;
  text(): Promise<string>;
  json(): Promise<unknown>;
  discard(): Promise<void>;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: readonly Uint8Array[];
  /** Aborts the request; the caller bounds the wait for the answer's headers with it. */
  signal?: AbortSignal;
  /**
   * Once the answer has begun: the longest wait for its next bytes. A slow but moving download
   * is not cut off; a stalled one fails with BodyStalledError.
   */
  idleTimeoutMs?: number;
}

/** A connection-level failure (refused, reset, DNS…), with the system error as its cause. */
export class ConnectionError extends Error {
  constructor(cause: Error, message = 'request failed') {
    super(message, { cause });
    this.name = 'ConnectionError';
  }
}

/** The answer had begun, then no byte came for idleTimeoutMs. */
export class BodyStalledError extends Error {
  constructor(readonly idleTimeoutMs: number) {
    super(`no data for ${idleTimeoutMs / 1000} s in the middle of the answer`);
    this.name = 'BodyStalledError';
  }
}

export type HttpTransport = (url: string, req: HttpRequest) => Promise<HttpResponse>;

/** Sends one request. Credentials in the URL (http://user:pw@host) become a Basic Authorization header. */
export const httpRequest: HttpTransport = (url, req) => {
  const u = new URL(url);
  const { mod, agent } = transportFor(u.protocol);
  const headers: Record<string, string> = { ...req.headers };
  if (u.username) {
    headers.Authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    u.username = '';
    u.password = '';
  }
  if (req.body) headers['Content-Length'] = String(req.body.reduce((n, p) => n + p.length, 0));
  return new Promise((resolve, reject) => {
    const r = mod.request(u, { method: req.method, headers, agent, signal: req.signal }, (res) => {
      if (req.idleTimeoutMs) res.setTimeout(req.idleTimeoutMs, () => res.destroy(new BodyStalledError(req.idleTimeoutMs!)));
      // A body cut off (reset, stalled, aborted) is a ConnectionError like a refused connection:
      // the client turns it into "unreachable", never into an internal error.
      const body = (async function* () {
        try {
          for await (const c of res) yield c as Buffer;
        } catch (err) {
          throw err instanceof ConnectionError ? err : new ConnectionError(err as Error, 'the answer was cut off');
        }
      })();
      const collect = async (): Promise<Buffer> => {
        const chunks: Buffer[] = [];
        for await (const c of body) chunks.push(c);
        return Buffer.concat(chunks);
      };
      const status = res.statusCode ?? 0;
      resolve({
        status,
        ok: status >= 200 && status < 300,
        url,
        headers: res.headers,
        body,
        text: async () => (await collect()).toString('utf8'),
        json: async () => JSON.parse((await collect()).toString('utf8')),
        discard: async () => {
          res.resume();
          if (!res.complete) await new Promise((done) => res.once('end', done).once('error', done));
        },
      });
    });
    r.on('error', (err: Error) => reject(err.name === 'AbortError' ? err : new ConnectionError(err)));
    for (const p of req.body ?? []) r.write(p);
    r.end();
  });
};
