"""`TRIP_PLANNER_LOG_FORMAT=json`: one JSON object per line, for log platforms that index fields.

Each line has `time` (UTC, ISO 8601 with milliseconds), `level`, `logger` and `message`, plus
`conversation_id`, `platform` and `message_id` when the line was logged inside a turn (see
`log_context`), and `exception` with the traceback when there is one. A small formatter rather than
a dependency: the standard library's `json` does all the escaping, so a value can never break a line
in two or forge a field. The log-hygiene filter still runs first (credentials masked, control
characters escaped), so both formats say the same thing.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

CONTEXT_FIELDS = ("conversation_id", "platform", "message_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)
