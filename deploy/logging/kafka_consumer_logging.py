"""Logging for a Python Kafka consumer: JSON lines in /var/log/kafka/consumer.log, rotated."""
import logging

from pipeobs_json_logging import KafkaConsumerJsonFormatter, rotating_handler


def configure(name="kafka.consumer", filename="consumer.log", level=logging.INFO):
    log = logging.getLogger(name)
    log.setLevel(level)
    log.addHandler(rotating_handler("kafka", filename, KafkaConsumerJsonFormatter()))
    return log
