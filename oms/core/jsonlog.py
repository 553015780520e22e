"""One JSON object per log line (LOG_FORMAT=json), for a log shipper to read without a parser.

Keys: `timestamp` (UTC, ISO 8601, milliseconds), `level`, `logger`, `message`, `request_id`
(oms/core/request_id.py: the request's, or in a task the id of the request that enqueued it),
`task_name` and `task_id` inside a Celery task, and `exc_info` / `stack_info` when the record
has them. The message is rendered after the logger's filters ran, so the secrets filters
(oms/core/logsafe.py) hold for JSON as for text.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

TASK_KEYS = ("task_name", "task_id")


class JsonLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key in TASK_KEYS:
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
