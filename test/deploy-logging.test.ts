/**
 * The logging templates under deploy/logging, run with Python's standard logging: what they
 * write (rotated files included) is exactly what monitor-logs reads, with nothing skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from './helpers/cli.js';
import { requireBinary } from './helpers/victoria.js';
import type { LogReport } from '../src/core/logs/report.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const SCRIPT = String.raw`
import logging, logging.config, os, sys
import kafka_consumer_logging, ml_service_logging, pipeline_logging
import airflow_log_config

kafka = kafka_consumer_logging.configure()
for i in range(300):
    kafka.log(logging.ERROR if i % 50 == 0 else logging.INFO, "Processed message batch",
              extra={"consumer_lag": 100 + i, "topic": "orders", "partition": i % 4, "consumer_group": "etl",
                     "latency_ms": 5.5 + i % 9, "messages_per_second": 800.0})

ml = ml_service_logging.configure(service="churn-predictor")
for i in range(120):
    ml.info("prediction", extra={"model_version": "v3.1", "prediction_id": "p%d" % i, "input_shape": [1, 16],
                                 "prediction": i % 2, "confidence": 0.55 if i < 30 else 0.97, "latency_ms": 12.0,
                                 "features_hash": "ab%02x" % i})

logging.config.dictConfig(airflow_log_config.LOGGING_CONFIG)
os.environ.update(AIRFLOW_CTX_DAG_ID="ecommerce_daily_etl", AIRFLOW_CTX_TASK_ID="load_warehouse",
                  AIRFLOW_CTX_DAG_RUN_ID="scheduled__2026-11-21", AIRFLOW_CTX_EXECUTION_DATE="2026-11-21T00:00:00+00:00")
task = logging.getLogger("airflow.task")
task.info("Loaded batch - records_processed=25000 duration=12.5")
task.info("Loaded batch - records_processed=5000 duration=3.5")
try:
    raise ValueError("upstream table is empty")
except ValueError:
    task.exception("Task failed with exception")
task.info("Marking task as UP_FOR_RETRY. dag_id=ecommerce_daily_etl, task_id=load_warehouse")

etl = pipeline_logging.configure("orders_etl")
for step, ms, n in (("extract", 120.0, 1000), ("transform", 80.5, 990), ("load", 200.0, 990)):
    etl.info("step done", extra={"step": step, "duration_ms": ms, "records": n})
`;

test('Python logging with each template writes lines monitor-logs reads exactly, rotated files included', async () => {
  const python = requireBinary('python3', 'python3');
  const logDir = tempDir('pipeobs-varlog-');
  const r = spawnSync(python, ['-c', SCRIPT], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: path.join(root, 'deploy', 'logging'), PIPEOBS_LOG_DIR: logDir, PIPEOBS_LOG_MAX_BYTES: '20000', PIPEOBS_LOG_BACKUPS: '20' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(path.join(logDir, 'kafka', 'consumer.log.1')), 'the Kafka log was rotated');
  const run = await runCli(['monitor-logs', logDir, '--map-file', path.join(root, 'deploy', 'logging', 'pipeline-map.json'), '--strict', '-o', 'json'], { cwd: root });
  assert.equal(run.code, 0, run.stderr);
  const doc = JSON.parse(run.stdout) as LogReport;
  assert.equal(doc.summary.lines_skipped, 0);
  const c = Object.fromEntries(doc.components.map((x) => [x.component, x]));
  assert.deepEqual(Object.keys(c).sort(), ['airflow', 'kafka', 'ml', 'pipeline']);
  assert.equal(c.kafka.lines, 300);
  assert.equal(c.kafka.errors, 6);
  assert.equal(c.kafka.lag!.max, 399);
  assert.equal(c.kafka.groups.length, 4);
  assert.equal(c.ml.records, 120);
  assert.equal(c.ml.confidence!.low_count, 30);
  assert.deepEqual(c.ml.groups[0].group, { service: 'churn-predictor', model_version: 'v3.1' });
  assert.deepEqual(c.airflow.groups.map((g) => g.group), [{ dag_id: 'ecommerce_daily_etl', task_id: 'load_warehouse' }]);
  assert.equal(c.airflow.records, 30_000);
  assert.equal(c.airflow.errors, 1);
  assert.deepEqual(c.airflow.tasks, { success: 0, failed: 0, retry: 1 });
  assert.equal(c.airflow.latency_ms.count, 2);
  assert.equal(c.pipeline.records, 2980);
  assert.deepEqual(c.pipeline.groups.map((g) => g.group.step), ['extract', 'load', 'transform']);
});
