"""Logging for an ML prediction service: JSON lines in /var/log/ml/predictions.log, rotated."""
import logging

from pipeobs_json_logging import MlServiceJsonFormatter, rotating_handler


def configure(service, name="ml.predictions", filename="predictions.log", level=logging.INFO):
    log = logging.getLogger(name)
    log.setLevel(level)
    log.addHandler(rotating_handler("ml", filename, MlServiceJsonFormatter(service=service)))
    return log
