/**
 * The differential test: every line of a public line-protocol corpus (test/data/line-protocol,
 * 873 cases from the test suites of InfluxDB, line-protocol, Telegraf, VictoriaMetrics and the
 * InfluxDB clients) is checked by both of pipeobs' scanners and sent alone to a real
 * VictoriaMetrics, with an extra label naming the line. What VictoriaMetrics stored
 * (/api/v1/export) must be exactly what pipeobs read for every line pipeobs passes, and must match
 * what pipeobs' reason says for every line it reports ("…; VictoriaMetrics drops the line",
 * "…; VictoriaMetrics stores it as 0", …). The corpus carries no verdicts: the server is the oracle.
 *
 * Each line goes in its own request: `extra_label` belongs to a request, and VictoriaMetrics
 * reads every line of a request on its own (the only thing shared, whether the body holds a
 * backslash at all, changes nothing for lines without one), so one line per request is what a
 * line would meet in a larger push; the test checks that too, by sending the corpus again in one
 * request per precision. Requests run 16 at a time.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { startVictoriaMetrics, type VictoriaMetrics } from '../helpers/victoria.js';
import { checkLine, lineEnd, scanLine, timeBounds, unitsPerMs, MAX_LABELS, type ParsedPoint, type Precision } from '../../src/core/influx/line-protocol.js';
import { nativeScanner, parseRetention } from '../../src/core/influx/push.js';

const CORPUS = new URL('../../../test/data/line-protocol/corpus.jsonl', import.meta.url);
const CASE_LABEL = 'pipeobs_case';
const RETENTION = '100y';

interface Case {
  id: string;
  source: string;
  b64: string;
  precision: Precision;
}

interface Sent {
  id: string;
  caseId: string;
  bytes: Buffer;
  precision: Precision;
  /** ms since the epoch before the request left and after its answer came. */
  window: [number, number];
  status: number;
}

interface Series {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
  /** The export line as bytes, to see what JSON could not carry. */
  raw: Buffer;
}

/** The lines of every case, split as both pipeobs and VictoriaMetrics split them: at \n. */
function corpusLines(): Omit<Sent, 'window' | 'status'>[] {
  const cases = readFileSync(CORPUS, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Case);
  assert.equal(cases.length, 873, 'the corpus has 873 cases');
  const out: Omit<Sent, 'window' | 'status'>[] = [];
  for (const c of cases) {
    const b = Buffer.from(c.b64, 'base64');
    let s = 0;
    for (let j = 0; ; j++) {
      const nl = b.indexOf(10, s);
      const e = nl < 0 ? b.length : nl;
      out.push({ id: `${c.id}_${j}`, caseId: c.id, bytes: b.subarray(s, e), precision: c.precision });
      if (nl < 0) break;
      s = nl + 1;
    }
  }
  return out;
}

/**
 * Lines beyond the corpus, for the checks it does not reach: limits, the time of arrival in
 * seconds, labels past the 30th, numbers on the edge of float64, quotes and escapes.
 */
function extraLines(nowMs: number): Omit<Sent, 'window' | 'status'>[] {
  const ns = BigInt(nowMs - 60_000) * 1_000_000n;
  const tags = (n: number) => Array.from({ length: n }, (_, k) => `t${k}=v${k}`).join(',');
  const lines: [string, Precision][] = [
    [`x${tags(29)} v=1`, 'ns'], [`x,${tags(30)} v=1`, 'ns'], [`x,${tags(31)} v=1`, 'ns'], [`x,${tags(29)},t0=again v=1`, 'ns'],
    ['x v=1 0', 's'], ['x v=1 0', 'ms'], ['x v=1 -0', 'us'], ['x v=1 -5', 'ns'], ['x v=1 999999', 'ns'], [`x v=1 ${nowMs}`, 'ms'], [`x v=1 ${Math.floor(nowMs / 1000)}`, 's'],
    [`x v=1 ${nowMs}`, 'ns'], [`x v=1 ${nowMs * 1000}`, 'ns'], [`x v=1 ${ns + 3n * 86_400_000_000_000n}`, 'ns'], ['x v=1 9223372036854775807', 'ns'], ['x v=1 9223372036854775808', 'ns'],
    ['x v=1e308', 'ns'], ['x v=1.7976931348623157e308', 'ns'], ['x v=1.8e308', 'ns'], ['x v=0.0001e312', 'ns'], ['x v=1e-400', 'ns'], ['x v=-1e309', 'ns'], ['x v=1234567890123456789.', 'ns'],
    ['x v=12345678901234567890.5e3', 'ns'], ['x v=0.30000000000000004', 'ns'], ['x v=-0', 'ns'], ['x v=00012.50', 'ns'], ['x v=1E+2', 'ns'], ['x v=+1', 'ns'], ['x v=+.5', 'ns'], ['x v=-.5', 'ns'],
    ['x v=inf', 'ns'], ['x v=-Infinity', 'ns'], ['x v=+inf', 'ns'], ['x v=nan,w=2', 'ns'], ['x v="nan",w=2', 'ns'], ['x v="-inf"', 'ns'], ['x v="1e3"', 'ns'], ['x v=""', 'ns'], ['x v="a \\" b",w=1', 'ns'],
    ['x v=9223372036854775807i', 'ns'], ['x v=-9223372036854775808i', 'ns'], ['x v=-0i', 'ns'], ['x v=0018446744073709551615u', 'ns'], ['x v=i', 'ns'], ['x v=-i', 'ns'], ['x v=tru', 'ns'],
    ['x v=1\r\r', 'ns'], ['x\r v=1', 'ns'], ['x v=1 12\r\r', 'ns'], ['x,a=b\\ v=1', 'ns'], ['x,a=b\\\\ v=1', 'ns'], ['x\\=y,k\\\\=v v=1', 'ns'], ['x,a=b=c=d v=1', 'ns'], ['x,a\\=b=c v=1', 'ns'],
    ['x v=1\\ 2', 'ns'], ['x v=\\"1', 'ns'], ['x v=1,w=\\"a b\\"', 'ns'], ['x,k=\u00e9\u20ac v=1', 'ns'], ['x,k=a,k=b,k=c v=1', 'ns'], ['x,k=a\\,k=b v=1', 'ns'], ['x,=v,k= v=1', 'ns'],
    ['x,__name__=foo v=1', 'ns'], ['x,db=foo v=1', 'ns'], [`x,${'k'.repeat(300)}=v v=1`, 'ns'], [`x,k=${'v'.repeat(17000)} v=1`, 'ns'], [`${'m'.repeat(17000)} v=1`, 'ns'],
    [`x,${'k'.repeat(256)}=v v=1`, 'ns'], [`x,k=${'v'.repeat(16384)} v=1`, 'ns'], [`${'m'.repeat(16382)} v=1`, 'ns'], [`${'m'.repeat(16383)} v=1`, 'ns'], [`x,${'\\,'.repeat(200)}=v v=1`, 'ns'],
    ['x a"b=1', 'ns'], ['x v=1"', 'ns'], ['x v=1",w=2 x', 'ns'], ['x v="a"b"', 'ns'], ['x a"b=1 "x"', 'ns'], ['x v="a" "b" 5', 'ns'], [' v=1,w="2" 0', 'ns'], ['x v=1,w="a,b" c"=2', 'ns'],
    ['  # indented comment', 'ns'], ['   ', 'ns'], [' x v=1', 'ns'], [' v=1 123', 'ns'], [',k=v v=1,w=2', 'ns'], ['x a=1,a=2', 'ns'], ['x v=1,,w=2', 'ns'], ['x v=1 , w=2', 'ns'],
  ];
  return lines.map(([line, precision], k) => ({ id: `x${String(k).padStart(3, '0')}_0`, caseId: 'extra', bytes: Buffer.from(line), precision }));
}

/** One /api/v1/export line; VictoriaMetrics writes ±Inf and NaN as bare words, which JSON has not. */
function parseExportLine(raw: Buffer): Series {
  const line = raw.toString('utf8');
  const at = line.lastIndexOf(',"values":[');
  const end = line.indexOf(']', at);
  const values = line
    .slice(at + 11, end)
    .split(',')
    .map((v) => (/^[-+]?Inf$/.test(v) ? (v[0] === '-' ? -Infinity : Infinity) : v === 'NaN' ? NaN : Number(v)));
  const doc = JSON.parse(`${line.slice(0, at)},"values":[]${line.slice(end + 1)}`) as Series;
  return { metric: doc.metric, values, timestamps: doc.timestamps, raw };
}

/** VictoriaMetrics keeps about 12 significant digits (lib/decimal's conversion precision). */
function sameValue(a: number, b: number): boolean {
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return true;
  return Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
}

function labelsOf(s: Series): Record<string, string> {
  const m = { ...s.metric };
  delete m[CASE_LABEL];
  return m;
}

function inWindow(ts: number, line: Sent): boolean {
  // With --precision s, the time of arrival is rounded down to the second.
  return ts >= Math.floor(line.window[0] / 1000) * 1000 - 1 && ts <= line.window[1] + 1;
}

/** What a passed line must come back as: one series per field, named measurement_field, with the tags as labels. */
function agreesWithParse(p: ParsedPoint, got: Series[], line: Sent): string | null {
  const expected = new Map<string, { labels: Record<string, string>; values: number[] }>();
  for (const [key, value] of p.fields) {
    const labels: Record<string, string> = { __name__: `${p.measurement}_${key}` };
    for (const [k, v] of p.tags) labels[k] = v;
    const id = JSON.stringify(Object.entries(labels).sort());
    const e = expected.get(id) ?? { labels, values: [] };
    e.values.push(value);
    expected.set(id, e);
  }
  if (got.length !== expected.size) return `${expected.size} series expected, ${got.length} stored`;
  for (const s of got) {
    const e = expected.get(JSON.stringify(Object.entries(labelsOf(s)).sort()));
    if (!e) return `stored series ${JSON.stringify(labelsOf(s))} is not one pipeobs read`;
    const want = [...e.values].sort((x, y) => x - y);
    const have = [...s.values].sort((x, y) => x - y);
    if (want.length !== have.length || want.some((v, k) => !sameValue(v, have[k]))) return `values ${have} stored, ${want} read`;
    for (const ts of s.timestamps) {
      if (p.timestampMs === undefined ? !inWindow(ts, line) : ts !== p.timestampMs) return `stored at ${ts}, read as ${p.timestampMs ?? 'the time of arrival'}`;
    }
  }
  return null;
}

/** Series whose name is the field's: measurement_key, or key alone. */
function fieldSeries(got: Series[], key: string): Series[] {
  if (key.endsWith('…')) return got.filter((s) => s.metric.__name__.includes(key.slice(0, -1))); // a long key, shortened in the reason
  return got.filter((s) => s.metric.__name__ === key || s.metric.__name__.endsWith(`_${key}`));
}

/**
 * What a reason promises, checked against what VictoriaMetrics stored for the line. Returns the
 * broken promise, or null. Every reason must end in one of these phrases.
 */
function keepsPromise(reason: string, got: Series[], line: Sent): string | null {
  let m: RegExpMatchArray | null;
  if (/drops the line$/.test(reason)) return got.length === 0 ? null : `stored ${got.length} series`;
  if (/misreads the rest of the line and drops it$/.test(reason)) return got.length === 0 ? null : `stored ${got.length} series`;
  if ((m = /misreads the rest of the line and stores (\d+) samples? from it$/.exec(reason))) {
    const n = got.reduce((sum, x) => sum + x.values.length, 0);
    return n === Number(m[1]) ? null : `${n} samples stored`;
  }
  if ((m = /^field ("(?:[^"\\]|\\.)*").*; VictoriaMetrics drops this sample$/.exec(reason))) {
    return fieldSeries(got, JSON.parse(m[1]) as string).length === 0 ? null : `field ${m[1]} was stored`;
  }
  if (got.length === 0) return 'nothing stored';
  if ((m = /^field ("(?:[^"\\]|\\.)*").*; VictoriaMetrics stores it as (?:the number )?(\S+)$/.exec(reason))) {
    const want = m[2] === '+Inf' ? Infinity : m[2] === '-Inf' ? -Infinity : Number(m[2]);
    const series = fieldSeries(got, JSON.parse(m[1]) as string);
    return series.some((s) => s.values.some((v) => sameValue(v, want))) ? null : `field ${m[1]}: ${JSON.stringify(series.map((s) => s.values))} stored, not ${m[2]}`;
  }
  if (/; VictoriaMetrics stores it at the time of arrival$/.test(reason)) {
    return got.every((s) => s.timestamps.every((t) => inWindow(t, line))) ? null : `stored at ${got.map((s) => s.timestamps).join()}`;
  }
  if ((m = /^tag ("(?:[^"\\]|\\.)*") is given twice; VictoriaMetrics keeps the last value, ("(?:[^"\\]|\\.)*")$/.exec(reason))) {
    const [k, v] = [JSON.parse(m[1]) as string, JSON.parse(m[2]) as string];
    return got.every((s) => s.metric[k] === v) ? null : `tag ${k} stored as ${got.map((s) => s.metric[k]).join()}`;
  }
  if (/; VictoriaMetrics keeps only the first 30 labels$/.test(reason)) {
    return got.every((s) => Object.keys(labelsOf(s)).length === MAX_LABELS + 1) ? null : `stored with ${got.map((s) => Object.keys(labelsOf(s)).length - 1)} labels`;
  }
  if ((m = /^tag ("(?:[^"\\]|\\.)*") has an empty value; VictoriaMetrics stores the line without it$/.exec(reason))) {
    const k = JSON.parse(m[1]) as string;
    return got.every((s) => !(k in s.metric)) ? null : `tag ${k} was stored`;
  }
  if ((m = /^tag "__name__" = ("(?:[^"\\]|\\.)*") is the metric name's own label; VictoriaMetrics stores the line without it$/.exec(reason))) {
    const v = JSON.parse(m[1]) as string;
    return got.every((s) => !Object.values(s.metric).includes(v)) ? null : `tag __name__=${v} was stored`;
  }
  if ((m = /; VictoriaMetrics keeps its first (\d+)$/.exec(reason))) {
    const n = Number(m[1]);
    return got.some((s) => Object.entries(s.metric).some(([k, v]) => Buffer.byteLength(k) === n || Buffer.byteLength(v) === n)) ? null : `no label name or value of ${n} bytes stored`;
  }
  if (/^a tag with an empty key; VictoriaMetrics stores the line without it$/.test(reason)) return null; // stored (checked above); a label without a name cannot be
  if ((m = /^empty measurement; VictoriaMetrics names the metric after the field alone \(("(?:[^"\\]|\\.)*")\)$/.exec(reason))) {
    const name = JSON.parse(m[1]) as string;
    return got.some((s) => s.metric.__name__ === name) ? null : `stored as ${got.map((s) => s.metric.__name__).join()}`;
  }
  if (/; VictoriaMetrics stores the raw bytes, which its JSON answers cannot carry$/.test(reason)) {
    return got.some((s) => !isUtf8(s.raw)) ? null : 'the export is valid UTF-8';
  }
  return `no known promise in ${JSON.stringify(reason)}`;
}

let vm: VictoriaMetrics;
before(async () => {
  vm = await startVictoriaMetrics([`-retentionPeriod=${RETENTION}`]);
});
after(async () => {
  await vm?.cleanup();
});

async function send(line: Omit<Sent, 'window' | 'status'>): Promise<Sent> {
  const start = Date.now();
  const res = await fetch(`${vm.url}/write?precision=${line.precision}&extra_label=${CASE_LABEL}=${line.id}`, { method: 'POST', body: line.bytes });
  await res.arrayBuffer();
  return { ...line, window: [start, Date.now()], status: res.status };
}

async function exportAll(match: string): Promise<Series[]> {
  await vm.flush();
  const end = Math.floor(Date.now() / 1000) + 3 * 86_400;
  const res = await fetch(`${vm.url}/api/v1/export`, { method: 'POST', body: new URLSearchParams({ 'match[]': match, start: '0', end: String(end) }) });
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200, body.toString());
  const out: Series[] = [];
  for (let s = 0; s < body.length; ) {
    const nl = body.indexOf(10, s);
    const e = nl < 0 ? body.length : nl;
    if (e > s) out.push(parseExportLine(body.subarray(s, e)));
    s = e + 1;
  }
  return out;
}

test('every line of the public corpus: pipeobs passes exactly what VictoriaMetrics stores as written, and reports the rest with what VictoriaMetrics does', async () => {
  const corpus = corpusLines();
  const lines = [...corpus, ...extraLines(Date.now())];
  // A line with 30 tags or more pushes the extra label past -maxLabelsPerTimeseries: such lines
  // go one at a time, each recognised by the samples without the label that it adds.
  const crowded = lines.filter((l) => l.bytes.filter((c) => c === 44).length >= MAX_LABELS - 1);
  const rest = lines.filter((l) => !crowded.includes(l));
  const sent: Sent[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < rest.length) sent.push(await send(rest[next++]));
  }));
  for (const s of sent) assert.equal(s.status, 204, `${s.id}: VictoriaMetrics answered ${s.status}`);
  // A new series becomes searchable about a second after it was written, even after a flush.
  // Then export until two exports in a row agree, so that a slow machine does not lose series.
  await new Promise((r) => setTimeout(r, 1500));
  const count = (series: Series[]) => series.reduce((n, x) => n + x.values.length, 0);
  let all = await exportAll(`{${CASE_LABEL}!=""}`);
  for (let tries = 0; tries < 20; tries++) {
    await new Promise((r) => setTimeout(r, 500));
    const again = await exportAll(`{${CASE_LABEL}!=""}`);
    const stable = again.length === all.length && count(again) === count(all);
    all = again;
    if (stable) break;
  }
  const stored = new Map<string, Series[]>();
  for (const s of all) stored.set(s.metric[CASE_LABEL], [...(stored.get(s.metric[CASE_LABEL]) ?? []), s]);
  // Samples without the label, by series and time: what a crowded line adds to them is its own.
  const sampleKeys = (x: Series) => x.timestamps.map((t, k) => `${JSON.stringify(x.metric)}@${t}=${x.values[k]}`);
  const seen = new Set((await exportAll(`{${CASE_LABEL}=""}`)).flatMap(sampleKeys));
  for (const l of crowded) {
    const s = await send(l);
    sent.push(s);
    const deadline = Date.now() + 4000;
    let own: Series[] = [];
    let fresh: Series[] = [];
    while (own.length + fresh.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      own = await exportAll(`{${CASE_LABEL}="${l.id}"}`);
      fresh = [];
      for (const x of await exportAll(`{${CASE_LABEL}=""}`)) {
        const keep = x.timestamps.map((_, k) => k).filter((k) => !seen.has(sampleKeys(x)[k]));
        if (keep.length) fresh.push({ ...x, timestamps: keep.map((k) => x.timestamps[k]), values: keep.map((k) => x.values[k]) });
      }
    }
    for (const x of fresh) for (const key of sampleKeys(x)) seen.add(key);
    stored.set(l.id, [...own, ...fresh]);
  }

  // The claim that makes one line per request fair: VictoriaMetrics reads each line of a request on
  // its own. The corpus' lines sent together, one request per precision, must store samples in the
  // same series at the same times as they did one by one. (Not the same values: samples of one
  // series share a storage block with one decimal exponent, so a series mixing 1e308 and 0.0001
  // keeps fewer digits of the small ones; that is storage, not parsing.)
  const sampleSet = (series: Series[], arrival: (t: number) => boolean) =>
    series.flatMap((x) => x.timestamps.map((t) => `${JSON.stringify(Object.entries(labelsOf(x)).sort())} @${arrival(t) ? 'arrival' : t}`)).sort();
  const batches = await Promise.all((['ns', 's', 'ms'] as const).map(async (precision) => {
    const group = sent.filter((l) => l.caseId !== 'extra' && l.precision === precision && !crowded.some((c) => c.id === l.id));
    return { precision, group, together: await send({ id: `all_${precision}`, caseId: 'all', bytes: Buffer.concat(group.flatMap((l) => [l.bytes, Buffer.from('\n')])), precision }) };
  }));
  for (const { precision, group, together } of batches) {
    const alone = sampleSet(group.flatMap((l) => stored.get(l.id) ?? []), (t) => group.some((l) => inWindow(t, l) && t >= l.window[0] - 1000));
    let batch: string[] = [];
    for (let tries = 0; tries < 20 && batch.length < alone.length; tries++) {
      await new Promise((r) => setTimeout(r, 250));
      batch = sampleSet(await exportAll(`{${CASE_LABEL}="${together.id}"}`), (t) => inWindow(t, together));
    }
    assert.deepEqual(batch, alone, `${precision}: the lines sent in one request stored other samples than sent one by one`);
  }

  const retentionMs = parseRetention(RETENTION)!;
  const disagreements: string[] = [];
  const nativeDisagreements: string[] = [];
  const tally = { lines: corpus.length, blank: 0, passed: 0, reported: 0, misread: 0 };
  for (const line of sent.sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const bounds = timeBounds(line.precision, line.window[0], retentionMs);
    const got = stored.get(line.id) ?? [];
    const p: ParsedPoint = { measurement: '', tags: [], fields: [] };
    const verdict = checkLine(line.bytes, bounds, p);
    const shown = JSON.stringify(line.bytes.toString('latin1')).slice(0, 160);
    // The native scanner must say the same: valid with as many samples, or invalid.
    if (nativeScanner() && line.bytes.length > 0) {
      const r = nativeScanner()!.scanChunk(line.bytes, 0, line.bytes.length, bounds.minMs, bounds.maxMs, unitsPerMs(line.precision));
      const ts = scanLine(line.bytes, 0, line.bytes.length, bounds);
      const want = typeof ts === 'string' ? -1 : ts;
      if (r[2] !== want || r[1] !== lineEnd) nativeDisagreements.push(`${line.id} ${shown}: native scanner says ${r[2]}, TypeScript ${want}`);
    }
    const count = line.caseId === 'extra' ? { blank: 0, passed: 0, reported: 0, misread: 0 } : tally;
    if (verdict === 0) {
      count.blank++;
      if (got.length) disagreements.push(`${line.id} ${shown}: blank or comment for pipeobs, but VictoriaMetrics stored ${got.length} series`);
    } else if (typeof verdict === 'number') {
      count.passed++;
      const why = agreesWithParse(p, got, line);
      if (why) disagreements.push(`${line.id} ${shown}: passed, but ${why}`);
    } else {
      count.reported++;
      if (/misreads/.test(verdict)) count.misread++;
      const why = keepsPromise(verdict, got, line);
      if (why) disagreements.push(`${line.id} ${shown}: reported "${verdict}", but ${why}`);
    }
  }
  assert.deepEqual(disagreements, [], `${disagreements.length} disagreements with VictoriaMetrics; ${JSON.stringify(tally)}`);
  assert.ok(nativeScanner(), 'the native scanner is not built: run `npm ci`');
  assert.deepEqual(nativeDisagreements, [], `${nativeDisagreements.length} disagreements between the scanners`);
  // The tally, for the README: 1,321 lines in 873 cases.
  assert.equal(tally.lines, 1321);
  console.log(`# differential: ${JSON.stringify(tally)}`);
});
