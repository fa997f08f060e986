/**
 * Kafka consumers' JSON lines: {"timestamp", "level", "consumer_lag", "topic", "partition",
 * "consumer_group", "latency_ms", "messages_per_second", "batch_size"}, one message per line
 * unless batch_size says more. native/logscan.c reads the same lines (scan_line, K_KAFKA).
 */
import { column, latencyColumns, num, type BuiltinFormat } from '../format-view.js';

export const KAFKA: BuiltinFormat = {
  component: 'kafka',
  groupLabels: ['topic', 'partition', 'consumer_group'],
  jsonFields: ['timestamp', 'level', 'consumer_lag', 'topic', 'partition', 'consumer_group', 'latency_ms', 'messages_per_second', 'batch_size'],
  jsonPrecedence: 0,
  jsonReader(slotOf) {
    const [timestamp, level, lag, topic, partition, group, latency, mps, batch] = this.jsonFields.map(slotOf);
    return {
      claims: (j) => j.has(lag) || j.has(group),
      read(j) {
        const bad = j.time(timestamp, 'timestamp');
        if (bad) return bad;
        const t = j.label(topic, 'topic', true);
        if (t === null) return 'missing_field';
        const p = j.label(partition, 'partition', true);
        if (p === null) return 'missing_field';
        const g = j.label(group, 'consumer_group', true);
        if (g === null) return 'missing_field';
        const lagValue = j.num(lag, 'consumer_lag');
        const latencyValue = j.num(latency, 'latency_ms');
        const mpsValue = j.num(mps, 'messages_per_second');
        const batchValue = j.num(batch, 'batch_size');
        if (lagValue === undefined || latencyValue === undefined || mpsValue === undefined || batchValue === undefined) return 'mistyped_field';
        const facts = j.facts;
        j.setGroup('kafka', [t, p, g]);
        facts.error = j.level(level);
        facts.lag = lagValue;
        facts.durationMs = latencyValue;
        facts.messagesPerSecond = mpsValue;
        if (!Number.isNaN(batchValue)) facts.records = batchValue;
        return null;
      },
    };
  },
  textColumns: [
    column('messages', (g) => g.records), column('err%', (g) => g.error_rate_pct), ...latencyColumns,
    column('lag_last', (g) => g.lag?.last), column('lag_max', (g) => g.lag?.max), column('lag_avg', (g) => g.lag?.avg), column('msg/s', (g) => g.throughput_mps?.avg),
  ],
  htmlColumn: column('lag max', (g) => g.lag?.max ?? null),
  summary: (c) => (c.lag ? `, lag max ${num(c.lag.max, 0)}` : ''),
  metrics: [
    { name: 'pipeobs_kafka_messages_total', kind: 'value', value: (t) => t.records },
    { name: 'pipeobs_kafka_error_lines_total', kind: 'value', value: (t) => t.errors },
    { name: 'pipeobs_kafka_consumer_lag', kind: 'value', value: (t) => t.lagLast, skipNaN: true },
    { name: 'pipeobs_kafka_messages_per_second', kind: 'value', value: (t) => t.mpsLast, skipNaN: true },
    { name: 'pipeobs_kafka_message_latency_seconds', kind: 'latency' },
  ],
};
