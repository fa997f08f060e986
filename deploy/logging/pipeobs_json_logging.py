"""
JSON-lines log formatters that write exactly the formats `pipeobs monitor-logs` reads, and
rotating file handlers for the /var/log/{airflow,kafka,ml,pipeline}/ layout.

Python's standard library only. Put this directory on PYTHONPATH (or copy the file next to
your code). Numbers go in `extra=`; the formatters write them as JSON numbers, times in UTC
ISO 8601 with milliseconds.

    import logging
    from kafka_consumer_logging import configure
    log = configure()            # /var/log/kafka/consumer.log, rotated at 100 MB, 5 kept
    log.info("Processed message batch", extra={"consumer_lag": 120, "topic": "orders",
             "partition": 3, "consumer_group": "etl", "latency_ms": 12.5,
             "messages_per_second": 850.0})
"""
import datetime
import json
import logging
import logging.handlers
import os

LOG_DIR = os.environ.get("PIPEOBS_LOG_DIR", "/var/log")
MAX_BYTES = int(os.environ.get("PIPEOBS_LOG_MAX_BYTES", str(100 * 1024 * 1024)))
BACKUP_COUNT = int(os.environ.get("PIPEOBS_LOG_BACKUPS", "5"))


def _utc(record):
    t = datetime.datetime.fromtimestamp(record.created, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


class _JsonFormatter(logging.Formatter):
    """One JSON object per line; `fields` are taken from the record (set with extra=)."""

    fields = ()

    def base(self, record):
        return {"timestamp": _utc(record), "level": record.levelname}

    def format(self, record):
        doc = self.base(record)
        for name in self.fields:
            value = getattr(record, name, None)
            if value is not None:
                doc[name] = value
        doc["message"] = record.getMessage()
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


class KafkaConsumerJsonFormatter(_JsonFormatter):
    fields = ("consumer_lag", "topic", "partition", "consumer_group", "latency_ms", "messages_per_second", "batch_size")

    def base(self, record):
        return {"timestamp": _utc(record), "level": record.levelname, "name": record.name}


class MlServiceJsonFormatter(_JsonFormatter):
    fields = ("model_version", "prediction_id", "input_shape", "prediction", "confidence", "latency_ms", "features_hash")

    def __init__(self, service=None, **kwargs):
        super().__init__(**kwargs)
        self.service = service or os.environ.get("PIPEOBS_ML_SERVICE", "ml-service")

    def base(self, record):
        return {"timestamp": _utc(record), "service": getattr(record, "service", self.service), "level": record.levelname}


class AirflowJsonFormatter(_JsonFormatter):
    """
    Airflow task logs as JSON lines. dag_id, task_id, run_id and execution_date come from the
    record when set, else from the AIRFLOW_CTX_* variables Airflow exports while a task runs.
    Counts and durations go in the message as key=value pairs (records_processed=15000
    duration=45.2), which is how monitor-logs reads them.
    """

    CONTEXT = {"dag_id": "AIRFLOW_CTX_DAG_ID", "task_id": "AIRFLOW_CTX_TASK_ID", "run_id": "AIRFLOW_CTX_DAG_RUN_ID", "execution_date": "AIRFLOW_CTX_EXECUTION_DATE"}

    def base(self, record):
        return {"timestamp": _utc(record), "logger": record.name, "level": record.levelname}

    def format(self, record):
        doc = self.base(record)
        doc["message"] = record.getMessage()
        for name, env in self.CONTEXT.items():
            value = getattr(record, name, None) or os.environ.get(env)
            if value:
                doc[name] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


def rotating_handler(subdir, filename, formatter):
    """A RotatingFileHandler under LOG_DIR/subdir (created if needed) with the given formatter."""
    directory = os.path.join(LOG_DIR, subdir)
    os.makedirs(directory, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(os.path.join(directory, filename), maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8")
    handler.setFormatter(formatter)
    return handler
