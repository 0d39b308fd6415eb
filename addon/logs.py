"""Logging set-up: key-value lines in a terminal, JSON lines in production.

Log records carry ids in `extra`; this formatter prints them after the
message so every line shows its context.
"""

from __future__ import annotations

import json
import logging
import os
import sys

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = f"{record.levelname.lower()} {record.name}: {record.getMessage()}"
        context = " ".join(f"{key}={value}" for key, value in _extras(record).items())
        line = f"{base} {context}" if context else base
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(_extras(record))
        return json.dumps(payload, default=str)


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


def configure_logging(verbosity: int = 0) -> None:
    """Send Tandem's loggers to stderr; -v shows info, -vv debug."""
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbosity, 2)]
    handler = logging.StreamHandler(sys.stderr)
    as_json = os.environ.get("TANDEM_LOG_FORMAT", "").lower() == "json"
    handler.setFormatter(JsonFormatter() if as_json else KeyValueFormatter())
    for name in ("addon", "calendar_sync", "mail_templates", "workers"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
