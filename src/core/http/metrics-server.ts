/**
 * The /metrics endpoint: a prom-client registry in the Prometheus text format, plus /health.
 *
 * A large exposition (megabytes for thousands of groups) is rendered once and shared: scrapes
 * that arrive while a rendering is under way wait for it and are all answered from the same
 * buffer (and the same gzip of it), so 200 concurrent scrapes cost one rendering and one copy of
 * the text, not 200 of each. Rendering a large registry holds the event loop (a second for 5 MB
 * on a busy machine), so scrapes that queued meanwhile are only read once it is done: a finished
 * rendering is reused for as long as it took to make (a second at most), which also caps the
 * time spent rendering under continuous scraping at about half. A small exposition renders in a
 * millisecond and is thus fresh at every scrape.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { ConfigError } from '../errors.js';

const gzipAsync = promisify(gzip);

/** One rendering of the exposition, shared by every scrape answered from it. */
interface Exposition {
  body: Buffer;
  /** Made on the first scrape that accepts gzip, then shared too. */
  gzipped: Promise<Buffer> | null;
}

/** Longest reuse of a finished rendering. */
const MAX_REUSE_MS = 1000;

/** Renders the registry at most once at a time; scrapes waiting meanwhile share the result. */
export class SharedExposition {
  private inFlight: Promise<Exposition> | null = null;
  private last: { exposition: Exposition; doneAt: number; tookMs: number } | null = null;
  /** Renderings made. */
  renders = 0;

  /** `now` is a monotonic clock in milliseconds (only durations are measured). */
  constructor(
    private readonly registry: Registry,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(): Promise<Exposition> {
    const last = this.last;
    if (last && this.now() - last.doneAt < Math.min(MAX_REUSE_MS, last.tookMs)) return Promise.resolve(last.exposition);
    if (!this.inFlight) {
      this.renders++;
      const started = this.now();
      this.inFlight = this.registry
        .metrics()
        .then((text): Exposition => {
          const exposition = { body: Buffer.from(text, 'utf8'), gzipped: null };
          const doneAt = this.now();
          this.last = { exposition, doneAt, tookMs: doneAt - started };
          return exposition;
        })
        .finally(() => (this.inFlight = null));
    }
    return this.inFlight;
  }

  static gzipped(e: Exposition): Promise<Buffer> {
    // Level 1: a tenth of the bytes for a fraction of the time of the default level.
    e.gzipped ??= gzipAsync(e.body, { level: 1 });
    return e.gzipped;
  }
}

function acceptsGzip(req: http.IncomingMessage): boolean {
  const accept = req.headers['accept-encoding'];
  if (typeof accept !== 'string') return false;
  return accept.split(',').some((part) => {
    const [coding, ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return coding === 'gzip' && (q === undefined || Number(q.slice(2)) > 0);
  });
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const exposition = new SharedExposition(registry);
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/metrics') {
      const gz = acceptsGzip(req);
      exposition
        .get()
        .then(async (e) => {
          const body = gz ? await SharedExposition.gzipped(e) : e.body;
          res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': body.length, Vary: 'Accept-Encoding', ...(gz ? { 'Content-Encoding': 'gzip' } : {}) });
          // The shared buffer itself: a socket keeps a reference to what it has not sent yet, not a copy.
          res.end(req.method === 'HEAD' ? undefined : body);
        })
        .catch((err: unknown) => {
          if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`cannot render the metrics: ${(err as Error).message}\n`);
          else res.destroy();
        });
    } else if (url === '/health' || url === '/-/healthy') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('OK\n');
    } else if (url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><body><a href="/metrics">/metrics</a></body></html>\n');
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics\n');
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new ConfigError(`cannot serve /metrics on ${host}:${port}: the port is in use`, 'choose another with --metrics-port (or PIPEOBS_METRICS_PORT), or turn the endpoint off with --no-metrics-server'));
      } else if (err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
        reject(new ConfigError(`cannot serve /metrics on ${host}:${port} (${err.code})`, 'choose another --metrics-host or --metrics-port'));
      } else reject(err);
    });
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
