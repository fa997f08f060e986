/**
 * Serializers for pushing samples to VictoriaMetrics, every sample with an explicit timestamp:
 * Prometheus text (for /api/v1/import/prometheus) and InfluxDB line protocol (for /write).
 */
import type { Sample } from './registry.js';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function escapePromLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export function formatPromValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function checkNames(s: Sample): void {
  if (!METRIC_NAME.test(s.name)) throw new Error(`invalid metric name ${JSON.stringify(s.name)}`);
  for (const k of Object.keys(s.labels)) if (!LABEL_NAME.test(k)) throw new Error(`invalid label name ${JSON.stringify(k)} on ${s.name}`);
}

/** One line per sample: name{labels} value timestampMs. Empty label values are left out, as Prometheus does. */
export function toPrometheusText(samples: readonly Sample[], timestampMs: number): string {
  const ts = Math.round(timestampMs);
  let out = '';
  for (const s of samples) {
    checkNames(s);
    const pairs = Object.entries(s.labels)
      .filter(([, v]) => v !== '')
      .map(([k, v]) => `${k}="${escapePromLabelValue(v)}"`);
    out += `${s.name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${formatPromValue(s.value)} ${ts}\n`;
  }
  return out;
}

/** Escapes a measurement, tag key, tag value or field key as VictoriaMetrics' line-protocol parser unescapes it. */
export function escapeInfluxKey(v: string): string {
  if (v.includes('\n') || v.includes('\r')) {
    throw new Error(`${JSON.stringify(v)} holds a line break, which InfluxDB line protocol cannot carry; use --push prometheus`);
  }
  return v.replace(/[\\ ,=]/g, (c) => `\\${c}`);
}

export function formatInfluxFloat(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`line protocol cannot carry the value ${v}`);
  return String(v);
}

/**
 * VictoriaMetrics names a line-protocol sample `{measurement}_{field}`, so a metric name is
 * split at its last underscore: pipeline_data_quality_score → measurement pipeline_data_quality,
 * field score. Samples that share measurement, tags and timestamp share one line.
 */
export function splitMetricName(name: string): { measurement: string; field: string } {
  const i = name.lastIndexOf('_');
  if (i <= 0 || i === name.length - 1) throw new Error(`metric name ${name} has no inner underscore to split into measurement and field`);
  return { measurement: name.slice(0, i), field: name.slice(i + 1) };
}

export function toInfluxLines(samples: readonly Sample[], timestampMs: number): string {
  const ts = `${Math.round(timestampMs)}`;
  const lines = new Map<string, string[]>();
  for (const s of samples) {
    checkNames(s);
    if (!Number.isFinite(s.value)) continue; // line protocol has no NaN/Inf; such samples would be stored as garbage
    const { measurement, field } = splitMetricName(s.name);
    const tags = Object.entries(s.labels)
      .filter(([, v]) => v !== '')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `,${escapeInfluxKey(k)}=${escapeInfluxKey(v)}`)
      .join('');
    const key = escapeInfluxKey(measurement) + tags;
    const fields = lines.get(key) ?? [];
    fields.push(`${escapeInfluxKey(field)}=${formatInfluxFloat(s.value)}`);
    lines.set(key, fields);
  }
  let out = '';
  for (const [key, fields] of lines) out += `${key} ${fields.join(',')} ${ts}\n`;
  return out;
}

/** The query string that makes /write read the timestamps above as milliseconds. */
export const INFLUX_PUSH_PRECISION = 'ms';
