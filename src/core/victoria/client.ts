/**
 * The VictoriaMetrics client: one method per endpoint, typed results, never prints.
 * Connection errors, timeouts, 429 and 5xx answers are retried with exponential backoff;
 * every error says what failed, against which URL, and what to do next.
 */
import { createRequire } from 'node:module';
import { VM_START_COMMAND } from './start-command.js';
import { ConfigError, PipeobsError, ExitCode, UnreachableError, describeError, type ExitCodeValue } from '../errors.js';
import { resolveEndpoints, type VmEndpoints } from './endpoints.js';
import { ConnectionError, httpRequest, type HttpResponse, type HttpTransport } from '../http/transport.js';
import { normalizeTargetUrl, redactUrl } from '../redact.js';

export interface VmClientOptions {
  readUrl: string;
  writeUrl: string;
  /** node:http by default; tests may pass another. */
  transport?: HttpTransport;
  timeoutMs: number;
  retries: number;
  bearerToken?: string;
  sleep: (ms: number) => Promise<void>;
  /** Debug log for retries; silent when absent. */
  log?: (msg: string) => void;
  /** Base delay of the exponential backoff. */
  backoffMs?: number;
}

/** VictoriaMetrics answered, but refused the request (bad query, bad data): its own words are kept. */
export class VmRejectedError extends PipeobsError {
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string, what: string, exitCode: ExitCodeValue = ExitCode.checkFailed) {
    super('vm_rejected', exitCode, `VictoriaMetrics rejected ${what} (HTTP ${status}): ${errorText(body).slice(0, 2000)}`);
    this.name = 'VmRejectedError';
    this.status = status;
    this.body = body;
  }
}

export type Matrix = { metric: Record<string, string>; values: [number, string][] }[];
export type Vector = { metric: Record<string, string>; value: [number, string] }[];
export type QueryData =
  | { resultType: 'vector'; result: Vector }
  | { resultType: 'matrix'; result: Matrix }
  | { resultType: 'scalar'; result: [number, string] }
  | { resultType: 'string'; result: [number, string] };

export interface ExportRow {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

type TimeArg = Date | number | string;
function timeParam(t: TimeArg): string {
  if (t instanceof Date) return String(t.getTime() / 1000);
  return String(t);
}

const START_HINT = `start it (e.g. \`${VM_START_COMMAND}\`), or point PIPEOBS_VM_URL at a running one`;

export class VmClient {
  readonly endpoints: VmEndpoints;
  private readonly opts: VmClientOptions;

  constructor(opts: VmClientOptions) {
    this.opts = opts;
    this.endpoints = resolveEndpoints(opts.readUrl, opts.writeUrl);
  }

  /** The read URL as it may be shown: credentials redacted. */
  get readUrl(): string {
    return redactUrl(this.opts.readUrl);
  }
  /** The write URL as it may be shown: credentials redacted. */
  get writeUrl(): string {
    return redactUrl(this.opts.writeUrl);
  }
  /** Where writes go, without secrets and in one spelling: what the spool is keyed by. */
  get writeTarget(): string {
    return normalizeTargetUrl(this.opts.writeUrl);
  }

  /** Sends one request, retrying connection errors, timeouts, 429 and 5xx. Returns the response for any other status. */
  private async request(url: string, method: 'GET' | 'POST', what: string, opts: { body?: readonly Uint8Array[]; headers?: Record<string, string>; retries?: number } = {}): Promise<HttpResponse> {
    const retries = opts.retries ?? this.opts.retries;
    const headers: Record<string, string> = { ...opts.headers };
    if (this.opts.bearerToken) headers.Authorization = `Bearer ${this.opts.bearerToken}`;
    const shown = redactUrl(url);
    const send = this.opts.transport ?? httpRequest;
    let lastError = '';
    for (let attempt = 0; ; attempt++) {
      try {
        // The timeout bounds the wait for the answer to begin; then it is the longest pause between
        // bytes, so a long export that keeps coming is not cut off.
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(new DOMException(`no answer within ${this.opts.timeoutMs / 1000} s`, 'TimeoutError')), this.opts.timeoutMs);
        let res: HttpResponse;
        try {
          res = await send(url, { method, headers, body: opts.body, signal: abort.signal, idleTimeoutMs: this.opts.timeoutMs });
        } finally {
          clearTimeout(timer);
        }
        if ((res.status >= 500 || res.status === 429) && attempt < retries) {
          lastError = `HTTP ${res.status}: ${(await res.text().catch(() => '')).trim().slice(0, 300)}`;
        } else {
          return res;
        }
      } catch (err) {
        const timedOut = (err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError';
        lastError = timedOut ? `no answer within ${this.opts.timeoutMs / 1000} s` : describeError(err);
        if (attempt >= retries) {
          throw new UnreachableError(
            `cannot reach VictoriaMetrics at ${shown} for ${what} (${lastError}${retries ? `, after ${retries + 1} attempts` : ''})`,
            timedOut ? 'it is up but slow: raise PIPEOBS_VM_TIMEOUT, or check its load' : START_HINT,
            { cause: err },
          );
        }
      }
      const delay = (this.opts.backoffMs ?? 200) * 2 ** attempt * (0.75 + Math.random() * 0.5);
      this.opts.log?.(`retrying ${what} at ${shown} in ${Math.round(delay)} ms: ${lastError}`);
      await this.opts.sleep(delay);
    }
  }

  private form(url: string, params: URLSearchParams, what: string): Promise<HttpResponse> {
    return this.request(url, 'POST', what, { body: [Buffer.from(params.toString())], headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  }

  private async expectOk(res: HttpResponse, what: string, exitCode?: ExitCodeValue): Promise<HttpResponse> {
    if (res.ok) return res;
    const body = await this.read(res, what, () => res.text());
    if (res.status >= 500 || res.status === 429) {
      throw new UnreachableError(`VictoriaMetrics at ${redactUrl(res.url)} failed ${what} (HTTP ${res.status}): ${body.trim().slice(0, 500)}`, 'check its logs and free disk space');
    }
    if (res.status === 401 || res.status === 403) {
      throw new VmRejectedError(res.status, body, what, ExitCode.config);
    }
    throw new VmRejectedError(res.status, body, what, exitCode);
  }

  private async getJson<T>(url: string, params: URLSearchParams, what: string, exitCode?: ExitCodeValue): Promise<T> {
    const res = await this.form(url, params, what);
    await this.expectOk(res, what, exitCode);
    const text = await this.read(res, what, () => res.text());
    let doc: { status: string; data: T; error?: string };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch {
      throw new ConfigError(
        `${redactUrl(url)} answered ${what} with something that is not JSON: ${JSON.stringify(text.slice(0, 120))}`,
        'is PIPEOBS_VM_URL (or PIPEOBS_VM_READ_URL) the address of VictoriaMetrics (or vmselect with its tenant)?',
      );
    }
    if (doc.status !== 'success') throw new VmRejectedError(res.status, doc.error ?? JSON.stringify(doc), what, exitCode);
    return doc.data;
  }

  /** Instant query. A query VictoriaMetrics cannot parse is a usage error with its own message. */
  async query(promql: string, time?: TimeArg): Promise<QueryData> {
    const p = new URLSearchParams({ query: promql });
    if (time !== undefined) p.set('time', timeParam(time));
    return this.getJson<QueryData>(this.endpoints.query, p, `query ${promql}`, ExitCode.usage);
  }

  async queryRange(promql: string, start: TimeArg, end: TimeArg, step: string | number): Promise<{ resultType: 'matrix'; result: Matrix }> {
    const p = new URLSearchParams({ query: promql, start: timeParam(start), end: timeParam(end), step: String(step) });
    return this.getJson(this.endpoints.queryRange, p, `range query ${promql}`, ExitCode.usage);
  }

  async labels(match: string[] = [], start?: TimeArg, end?: TimeArg): Promise<string[]> {
    return this.getJson(this.endpoints.labels, rangeParams(match, start, end), 'label names', ExitCode.usage);
  }

  async labelValues(label: string, match: string[] = [], start?: TimeArg, end?: TimeArg): Promise<string[]> {
    return this.getJson(this.endpoints.labelValues(label), rangeParams(match, start, end), `values of label ${label}`, ExitCode.usage);
  }

  async series(match: string[], start?: TimeArg, end?: TimeArg): Promise<Record<string, string>[]> {
    return this.getJson(this.endpoints.series, rangeParams(match, start, end), 'series', ExitCode.usage);
  }

  /** Streams /api/v1/export as parsed JSON lines, one series per row; never holds the whole export. */
  async *export(match: string[], start?: TimeArg, end?: TimeArg): AsyncGenerator<ExportRow> {
    for await (const line of this.exportLines(match, start, end)) yield JSON.parse(line) as ExportRow;
  }

  /**
   * The raw body of /api/v1/export, as it arrives: JSON lines, each at most maxRowsPerLine
   * samples of one series (a series can span several lines, in time order).
   */
  async *exportRaw(match: string[], start: string, end: string, maxRowsPerLine = 1000): AsyncGenerator<Uint8Array> {
    const params = rangeParams(match, start, end);
    params.set('max_rows_per_line', String(maxRowsPerLine));
    const res = await this.form(this.endpoints.export, params, 'export');
    await this.expectOk(res, 'export', ExitCode.usage);
    yield* this.stream(res, 'export');
  }

  /** The body as it arrives; a cut-off or stalled answer becomes an UnreachableError. */
  private async *stream(res: HttpResponse, what: string): AsyncGenerator<Uint8Array> {
    try {
      yield* res.body;
    } catch (err) {
      throw this.cutOff(res, what, err);
    }
  }

  private async read<T>(res: HttpResponse, what: string, reader: () => Promise<T>): Promise<T> {
    try {
      return await reader();
    } catch (err) {
      throw this.cutOff(res, what, err);
    }
  }

  private cutOff(res: HttpResponse, what: string, err: unknown): unknown {
    if (!(err instanceof ConnectionError)) return err;
    return new UnreachableError(
      `VictoriaMetrics at ${redactUrl(res.url)} stopped sending ${what} midway (${describeError(err)})`,
      'check that it is still running (its log, free memory); raise PIPEOBS_VM_TIMEOUT if it is only slow',
      { cause: err },
    );
  }

  async *exportLines(match: string[], start?: TimeArg, end?: TimeArg): AsyncGenerator<string> {
    const res = await this.form(this.endpoints.export, rangeParams(match, start, end), 'export');
    await this.expectOk(res, 'export', ExitCode.usage);
    const decoder = new TextDecoder();
    let rest = '';
    for await (const chunk of this.stream(res, 'export')) {
      rest += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        if (line) yield line;
      }
    }
    rest += decoder.decode();
    if (rest.trim()) yield rest;
  }

  /** Prometheus text exposition, timestamps in milliseconds. */
  async importPrometheus(body: PostBody, opts: { gzip?: boolean } = {}): Promise<void> {
    await this.post(this.endpoints.importPrometheus, body, new URLSearchParams(), 'Prometheus import', opts.gzip);
  }

  /** InfluxDB line protocol; precision is one of ns, us, ms, s. */
  async writeInflux(body: PostBody, opts: { precision?: string; gzip?: boolean } = {}): Promise<void> {
    const p = new URLSearchParams();
    if (opts.precision) p.set('precision', opts.precision);
    await this.post(this.endpoints.influxWrite, body, p, 'line-protocol write', opts.gzip);
  }

  private async post(url: string, body: PostBody, params: URLSearchParams, what: string, gzip = false): Promise<void> {
    let pieces: readonly Uint8Array[] = typeof body === 'string' ? [Buffer.from(body)] : body instanceof Uint8Array ? [body] : body;
    if (gzip) pieces = [(createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib')).gzipSync(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces))];
    const qs = params.toString();
    const res = await this.request(qs ? `${url}?${qs}` : url, 'POST', what, {
      body: pieces,
      headers: { 'Content-Type': 'text/plain', ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) },
    });
    await this.expectOk(res, what);
    await res.discard();
  }

  /** true when both the read and the write side answer /health with 200. */
  async health(): Promise<{ read: boolean; write: boolean }> {
    const probe = async (url: string) => {
      try {
        const res = await this.request(url, 'GET', 'health check', { retries: 0 });
        await res.discard();
        return res.ok;
      } catch {
        return false;
      }
    };
    const read = await probe(this.endpoints.readHealth);
    const write = this.endpoints.writeHealth === this.endpoints.readHealth ? read : await probe(this.endpoints.writeHealth);
    return { read, write };
  }

  /** The version VictoriaMetrics reports in vm_app_version; "unknown" when a build leaves it empty (Debian's does). */
  async version(): Promise<string> {
    const text = await this.metricsText();
    const m = /^vm_app_version\{[^}]*\bversion="([^"]*)"/m.exec(text);
    return m && m[1] ? m[1] : 'unknown';
  }

  /** Command-line flag values, read from flag{name=…,value=…} in /metrics. */
  async flags(): Promise<Map<string, string>> {
    const text = await this.metricsText();
    const flags = new Map<string, string>();
    for (const m of text.matchAll(/^flag\{name="([^"]*)", ?value="([^"]*)"/gm)) flags.set(m[1], m[2]);
    return flags;
  }

  /** Callers asking at once (verify's version and flag checks) share one fetch of the page. */
  private metricsInFlight: Promise<string> | null = null;

  private metricsText(): Promise<string> {
    this.metricsInFlight ??= this.fetchMetricsText().finally(() => {
      this.metricsInFlight = null;
    });
    return this.metricsInFlight;
  }

  private async fetchMetricsText(): Promise<string> {
    const res = await this.request(this.endpoints.readMetrics, 'GET', 'metrics page');
    await this.expectOk(res, 'metrics page');
    return this.read(res, 'metrics page', () => res.text());
  }

  /** Makes samples written so far searchable at once (single-node); a no-op on cluster URLs. */
  async forceFlush(): Promise<void> {
    if (!this.endpoints.forceFlush) return;
    const res = await this.request(this.endpoints.forceFlush, 'GET', 'force flush');
    await this.expectOk(res, 'force flush');
    await res.discard();
  }
}

/** A request body: text, bytes, or bytes in pieces that are sent one after the other. */
export type PostBody = string | Uint8Array | readonly Uint8Array[];

function rangeParams(match: string[], start?: TimeArg, end?: TimeArg): URLSearchParams {
  const p = new URLSearchParams();
  for (const m of match) p.append('match[]', m);
  if (start !== undefined) p.set('start', timeParam(start));
  if (end !== undefined) p.set('end', timeParam(end));
  return p;
}

/** VictoriaMetrics' own words from an error body: the "error" field of its JSON, or the text. */
function errorText(body: string): string {
  try {
    const doc = JSON.parse(body) as { error?: unknown };
    if (typeof doc.error === 'string') return doc.error;
  } catch {
    // not JSON
  }
  return body.trim();
}
