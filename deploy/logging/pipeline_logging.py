"""
Logging for any other pipeline job: JSON lines in /var/log/pipeline/<job>.log with the fields
that deploy/logging/pipeline-map.json maps for `pipeobs monitor-logs --map-file`:
timestamp, level, job, step, duration_ms and records.
"""
import logging

from pipeobs_json_logging import _JsonFormatter, _utc, rotating_handler


class PipelineJsonFormatter(_JsonFormatter):
    fields = ("step", "duration_ms", "records")

    def __init__(self, job, **kwargs):
        super().__init__(**kwargs)
        self.job = job

    def base(self, record):
        return {"timestamp": _utc(record), "level": record.levelname, "job": self.job}


def configure(job, level=logging.INFO):
    log = logging.getLogger("pipeline." + job)
    log.setLevel(level)
    log.addHandler(rotating_handler("pipeline", job + ".log", PipelineJsonFormatter(job)))
    return log
