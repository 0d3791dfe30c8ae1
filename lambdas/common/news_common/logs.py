"""JSON logging with redaction: secrets are registered once and masked in every log record.

Code never logs a secret on purpose; redaction is the second line of defence for values that
reach a log through an exception or a third-party library (botocore logs response bodies at
DEBUG). It is installed as the record factory, so it covers every logger and every handler,
including the ones the Lambda runtime adds.
"""

import json
import logging
import sys
from typing import Any

_secrets: set[str] = set()
MASK = "***"


def register_secret(value: str) -> None:
    """Mask this value in every log record from now on."""
    if value:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, MASK)
    return text


_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    if _secrets:
        record.msg = redact(record.getMessage())
        record.args = None
    return record


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


def get_logger(name: str) -> logging.Logger:
    logging.setLogRecordFactory(_redacting_factory)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    return logging.getLogger(name)
