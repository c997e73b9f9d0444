"""Log set-up for the command line: readable lines by default, one JSON object per line on request.

JSON lines carry the standard fields (``ts``, ``level``, ``logger``, ``message``) plus whatever a
call passes in ``extra`` (progress lines add ``event``, ``units_done``, ``samples``, ``eta_s`` ...),
so a log shipper can index them without parsing the message.
"""

from __future__ import annotations

import json
import logging
import os
import time

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}

FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD and not key.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str, log_format: str | None = None) -> None:
    """Root logging for one CLI call; ``log_format`` None reads FIGCURATE_LOG_FORMAT (default text)."""
    log_format = log_format or os.environ.get("FIGCURATE_LOG_FORMAT", "text")
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r}: choose one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
        _route_ray_console_logs_to_root()
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Never let request-level logs (which can carry credentials) through.
    for name in ("botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger(name).level))


def _route_ray_console_logs_to_root() -> None:
    """Ray and Ray Data print their progress through console handlers of their own; hand those lines to
    the root handler instead, so that a JSON log has no text lines in it (their file logs stay)."""
    import ray.data  # noqa: F401 - configures the "ray.data" loggers, which must exist before they are rerouted

    for name in ("ray", "ray.data"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [h for h in logger.handlers if isinstance(h, logging.FileHandler) or not isinstance(h, logging.StreamHandler)]
        logger.propagate = True
