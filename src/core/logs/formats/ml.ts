/**
 * ML services' prediction JSON lines: {"timestamp", "service", "level", "model_version",
 * "prediction_id", "confidence", "latency_ms"}, one prediction per line. native/logscan.c reads
 * the same lines (scan_line, K_ML).
 */
import { column, latencyColumns, num, type BuiltinFormat } from '../format-view.js';

export const ML: BuiltinFormat = {
  component: 'ml',
  groupLabels: ['service', 'model_version'],
  jsonFields: ['timestamp', 'level', 'service', 'model_version', 'prediction_id', 'confidence', 'latency_ms'],
  jsonPrecedence: 1,
  jsonReader(slotOf) {
    const [timestamp, level, service, version, prediction, confidence, latency] = this.jsonFields.map(slotOf);
    return {
      claims: (j) => j.has(confidence) || j.has(version) || j.has(prediction),
      read(j) {
        const bad = j.time(timestamp, 'timestamp');
        if (bad) return bad;
        const v = j.label(version, 'model_version', true);
        if (v === null) return 'missing_field';
        const s = j.label(service, 'service', false);
        if (s === null) return 'mistyped_field';
        const c = j.num(confidence, 'confidence');
        const l = j.num(latency, 'latency_ms');
        if (c === undefined || l === undefined) return 'mistyped_field';
        if (c < 0 || c > 1) {
          j.detail = `field confidence: ${c} is outside 0..1`;
          return 'mistyped_field';
        }
        const facts = j.facts;
        j.setGroup('ml', [s || '-', v]);
        facts.error = j.level(level);
        facts.confidence = c;
        facts.durationMs = l;
        return null;
      },
    };
  },
  textColumns: [
    column('predictions', (g) => g.records), column('err%', (g) => g.error_rate_pct), ...latencyColumns,
    column('conf_mean', (g) => g.confidence?.mean), column('conf_p5', (g) => g.confidence?.p5), column('low_conf%', (g) => g.confidence?.low_pct),
  ],
  htmlColumn: column('confidence mean', (g) => g.confidence?.mean ?? null),
  summary: (c, r) => (c.confidence ? `, confidence mean ${num(c.confidence.mean, 3)}, ${num(c.confidence.low_pct, 1)} % below ${r.low_confidence_threshold}` : ''),
  metrics: [
    { name: 'pipeobs_ml_predictions_total', kind: 'value', value: (t) => t.records },
    { name: 'pipeobs_ml_error_lines_total', kind: 'value', value: (t) => t.errors },
    { name: 'pipeobs_ml_low_confidence_predictions_total', kind: 'value', value: (t) => t.lowConfidence },
    { name: 'pipeobs_ml_prediction_latency_seconds', kind: 'latency' },
    { name: 'pipeobs_ml_confidence', kind: 'confidence' },
  ],
};
