"""Structured JSON logs: one object per line, with correlation ids and only whitelisted fields.

Only the fields named in ``FIELDS`` leave a log record, so nothing a handler happens to attach
(a form, a reason quoting input) can reach the log by accident.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from consumers.logcontext import current

FIELDS = (
    "command",
    "outcome",
    "rule",
    "reason",
    "topic",
    "partition",
    "offset",
    "events",
    "position",
    "group",
    "ce_id",
)  # correlation ids (command_id, case_id, request_id, …) come from consumers.logcontext


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **current(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["error"] = record.exc_info[0].__name__ if record.exc_info[0] else "unknown"
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("kafka").setLevel(logging.WARNING)
    # fontTools reports every glyph table it subsets while a letter's PDF is made, at INFO
    logging.getLogger("fontTools").setLevel(logging.WARNING)
