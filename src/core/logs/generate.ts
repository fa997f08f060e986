/**
 * Realistic logs in the formats monitor-logs reads, at any size, reproducible from a seed:
 * Kafka-consumer and ML-service JSON lines, Airflow JSON lines, Airflow's plain-text task
 * log, and Python logging's stock layouts with the numbers in phrases and key=value pairs. Errors, lag and confidence follow chosen patterns, so a report has something to find.
 */

export const GEN_FORMATS = ['kafka', 'ml', 'airflow', 'airflow-text', 'python'] as const;
export type GenFormat = (typeof GEN_FORMATS)[number];
export const LAG_PATTERNS = ['steady', 'growing', 'spike'] as const;
export type LagPattern = (typeof LAG_PATTERNS)[number];

export interface GenOptions {
  formats: readonly GenFormat[];
  lines: number;
  startMs: number;
  endMs: number;
  /** Share of lines at ERROR level (and of Airflow tasks that fail), 0..1. */
  errorRate: number;
  lag: LagPattern;
  /** Model confidence drifts down by this much over the range (0 = stable). */
  confidenceDrift: number;
  seed: number;
}

/** mulberry32: small, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOPICS = ['orders', 'payments', 'inventory', 'clickstream'];
const GROUPS = ['etl-consumers', 'fraud-detector'];
const MODELS = ['v1.4.2', 'v1.5.0'];
const SERVICES = ['churn-predictor', 'fraud-scorer'];
const LOGGERS = ['ingest.worker', 'ingest.reader', 'export.writer', 'dedupe', 'root'];
const DAGS: Array<[string, string[]]> = [
  ['ecommerce_daily_etl', ['extract_orders', 'transform_orders', 'quality_checks', 'load_warehouse']],
  ['customer_sync', ['extract_customers', 'load_crm']],
];

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Lines as text, each ending in "\n", delivered in blocks of about blockLines lines. */
export function* generateLogLines(o: GenOptions, blockLines = 10_000): Generator<string> {
  const rand = rng(o.seed);
  const span = Math.max(1, o.endMs - o.startMs);
  const step = span / Math.max(1, o.lines);
  const lagBase = new Map<string, number>();
  let block: string[] = [];
  for (let i = 0; i < o.lines; i++) {
    const t = o.startMs + Math.floor(i * step + rand() * step);
    const progress = (t - o.startMs) / span;
    const ts = new Date(t).toISOString();
    const format = o.formats[i % o.formats.length];
    const isError = rand() < o.errorRate;
    const level = isError ? 'ERROR' : rand() < 0.05 ? 'WARNING' : 'INFO';
    let line: string;
    if (format === 'kafka') {
      const topic = TOPICS[Math.floor(rand() * TOPICS.length)];
      const partition = Math.floor(rand() * 6);
      const group = GROUPS[Math.floor(rand() * GROUPS.length)];
      const key = `${topic}/${partition}/${group}`;
      const base = lagBase.get(key) ?? Math.floor(100 + rand() * 400);
      lagBase.set(key, base);
      let lag = base + Math.floor(rand() * 50);
      if (o.lag === 'growing') lag = Math.floor(base + progress * 50_000 + rand() * 100);
      else if (o.lag === 'spike' && progress > 0.8) lag = Math.floor(base * 40 + rand() * 1000);
      const latency = Math.round((2 + -Math.log(1 - rand()) * 15 + (isError ? 250 : 0)) * 10) / 10;
      const mps = Math.round((800 + rand() * 400) * 10) / 10;
      line = `{"timestamp": "${ts}", "level": "${level}", "name": "kafka.consumer", "consumer_lag": ${lag}, "topic": "${topic}", "partition": ${partition}, "consumer_group": "${group}", "latency_ms": ${latency}, "messages_per_second": ${mps}, "message": "${isError ? 'Failed to process message: deserialization error' : 'Processed message batch'}"}`;
    } else if (format === 'python') {
      const logger = LOGGERS[Math.floor(rand() * LOGGERS.length)];
      const d = new Date(t);
      const asctime = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())},${pad(d.getUTCMilliseconds(), 3)}`;
      const kind = rand();
      const n = Math.floor(100 + rand() * 10_000);
      const ms = (1 + rand() * 500).toFixed(1);
      const message = isError
        ? `Batch failed: Records failed: ${Math.floor(rand() * 50)} took ${ms} ms`
        : kind < 0.3
          ? `Records ingested: ${n}`
          : kind < 0.5
            ? `Exported ${n} rows in batch ${i} took ${ms} ms`
            : kind < 0.6
              ? `Duplicates marked: ${Math.floor(n / 100)}`
              : kind < 0.8
                ? `batch done records=${n} took_ms=${ms}`
                : `Heartbeat from ${logger} (queue depth ${Math.floor(rand() * 20)})`;
      const pyLevel = level === 'WARNING' ? 'WARNING' : level;
      // Python's default "%(asctime)s - %(name)s - %(levelname)s - %(message)s", and the other stock layout.
      line = rand() < 0.7 ? `${asctime} - ${logger} - ${pyLevel} - ${message}` : `${asctime} ${pyLevel} ${logger}: ${message}`;
    } else if (format === 'ml') {
      const version = MODELS[rand() < 0.7 ? 0 : 1];
      const service = SERVICES[Math.floor(rand() * SERVICES.length)];
      const conf = Math.max(0.01, Math.min(0.999, 0.92 - o.confidenceDrift * progress - -Math.log(1 - rand()) * 0.06));
      const latency = Math.round((8 + -Math.log(1 - rand()) * 20) * 100) / 100;
      const id = Math.floor(rand() * 1e12).toString(16).padStart(10, '0');
      line = `{"timestamp": "${ts}", "service": "${service}", "level": "${level}", "model_version": "${version}", "prediction_id": "pred-${id}", "input_shape": [1, 32], "prediction": ${rand() < 0.3 ? 1 : 0}, "confidence": ${conf.toFixed(4)}, "latency_ms": ${latency}, "features_hash": "${id.slice(0, 8)}"}`;
    } else {
      const [dag, tasks] = DAGS[Math.floor(rand() * DAGS.length)];
      const task = tasks[Math.floor(rand() * tasks.length)];
      const runId = `scheduled__${ts.slice(0, 10)}T00:00:00+00:00`;
      const kind = rand();
      let message: string;
      let lvl = level;
      if (kind < 0.4) {
        const failed = isError;
        const dur = Math.round((20 + rand() * 100) * 10) / 10;
        const start = new Date(t - dur * 1000);
        const compact = (d: Date) => `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
        lvl = failed ? 'ERROR' : 'INFO';
        message = `Marking task as ${failed ? 'FAILED' : 'SUCCESS'}. dag_id=${dag}, task_id=${task}, execution_date=${compact(start)}, start_date=${compact(start)}, end_date=${compact(new Date(t))}`;
      } else if (kind < 0.8) {
        message = `Task completed - records_processed=${Math.floor(1000 + rand() * 20000)} duration=${(5 + rand() * 60).toFixed(1)}`;
      } else {
        message = isError ? 'Task failed with exception: upstream table is empty' : `Executing <Task(PythonOperator): ${task}> on ${ts}`;
      }
      if (format === 'airflow') {
        line = JSON.stringify({ timestamp: ts, logger: 'airflow.task', level: lvl, message, dag_id: dag, task_id: task, run_id: runId, execution_date: `${ts.slice(0, 10)}T00:00:00+00:00` });
      } else {
        const d = new Date(t);
        line = `[${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}, ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC] {taskinstance.py:1345} ${lvl} - ${message.includes('dag_id=') ? message : `${message}, dag_id=${dag}, task_id=${task}`}`;
      }
    }
    block.push(line);
    if (block.length >= blockLines) {
      yield block.join('\n') + '\n';
      block = [];
    }
  }
  if (block.length) yield block.join('\n') + '\n';
}
