"""
Airflow logging that also writes task logs as JSON lines to /var/log/airflow/tasks.json.log
(rotated), for `pipeobs monitor-logs`, next to Airflow's own task log files.

    cp deploy/logging/airflow_log_config.py deploy/logging/pipeobs_json_logging.py $AIRFLOW_HOME/config/
    export AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS=airflow_log_config.LOGGING_CONFIG

Airflow's plain-text task logs ($AIRFLOW_HOME/logs/dag_id=…/run_id=…/task_id=…/attempt=N.log)
are read by monitor-logs as they are; this adds the JSON stream with dag_id and task_id on
every line.
"""
import copy
import os

from pipeobs_json_logging import BACKUP_COUNT, LOG_DIR, MAX_BYTES

try:  # Airflow's defaults, when running inside Airflow
    from airflow.config_templates.airflow_local_settings import DEFAULT_LOGGING_CONFIG
except ImportError:  # outside Airflow (tests, other schedulers): Python's defaults
    DEFAULT_LOGGING_CONFIG = {"version": 1, "disable_existing_loggers": False, "formatters": {}, "handlers": {}, "loggers": {"airflow.task": {"handlers": [], "level": "INFO", "propagate": False}}}

os.makedirs(os.path.join(LOG_DIR, "airflow"), exist_ok=True)

LOGGING_CONFIG = copy.deepcopy(DEFAULT_LOGGING_CONFIG)
LOGGING_CONFIG["formatters"]["pipeobs_json"] = {"()": "pipeobs_json_logging.AirflowJsonFormatter"}
LOGGING_CONFIG["handlers"]["pipeobs_json"] = {
    "class": "logging.handlers.RotatingFileHandler",
    "formatter": "pipeobs_json",
    "filename": os.path.join(LOG_DIR, "airflow", "tasks.json.log"),
    "maxBytes": MAX_BYTES,
    "backupCount": BACKUP_COUNT,
    "encoding": "utf-8",
}
task_logger = LOGGING_CONFIG["loggers"].setdefault("airflow.task", {"handlers": [], "level": "INFO", "propagate": False})
task_logger["handlers"] = list(task_logger.get("handlers", [])) + ["pipeobs_json"]
