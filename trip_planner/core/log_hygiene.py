"""Log lines nobody can forge: control characters in logged values are escaped.

Values that reach a log line can come from anyone (a message id, a channel name, an error text that
quotes a request). A newline in one would start a fake log line; an escape sequence could rewrite a
terminal; a bidi override could make a line read differently from what it says. Every string
argument of every record (and the message itself) has them escaped, as `\\n`, `\\x1b`, `\\u202e`.
Credentials are masked too (`redact`). Installed on the handlers by `install`, so third-party
loggers are covered as well.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from trip_planner.core.redact import redact

_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        char = match.group(0)
        if char == "\n":
            return "\\n"
        if char == "\r":
            return "\\r"
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE.sub(one, text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return escape(redact(value))
    return value


class LogHygiene(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _clean(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        return True


def install(handlers: list[logging.Handler] | None = None) -> None:
    """Add the filter to `handlers` (default: the root logger's), once each."""
    for handler in handlers if handlers is not None else logging.getLogger().handlers:
        if not any(isinstance(f, LogHygiene) for f in handler.filters):
            handler.addFilter(LogHygiene())
