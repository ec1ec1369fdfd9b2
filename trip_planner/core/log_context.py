"""Which turn a log line belongs to: conversation id, platform and message id, as context variables.

The runner sets them around each turn (`turn_context`) and once the conversation is known
(`bind_conversation`); a logging filter (`ContextFilter`) copies them onto every record, so the JSON
log format can print them without any call site passing them along. Context variables follow the
asyncio task (and `asyncio.to_thread`), so turns running side by side never mix their ids.
Ids only: never message text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

_conversation_id: ContextVar[str | None] = ContextVar("tp_conversation_id", default=None)
_platform: ContextVar[str | None] = ContextVar("tp_platform", default=None)
_message_id: ContextVar[str | None] = ContextVar("tp_message_id", default=None)

# Platforms a key can name; anything else (a script's `local:` id) is "other", so a label or a log
# field never carries a value someone else chose.
PLATFORMS = ("slack", "discord", "console")


class Keyed(Protocol):
    """An inbound message as the core or its store holds it."""

    @property
    def user_id(self) -> str: ...

    @property
    def message_id(self) -> str: ...


def platform_of(key: str | None) -> str:
    """The platform a user id or message id belongs to, from its prefix (`slack:…`, `discord:…`)."""
    prefix = (key or "").partition(":")[0]
    return prefix if prefix in PLATFORMS else "other"


@contextmanager
def turn_context(inbound: Keyed) -> Iterator[None]:
    """Log lines inside carry the message's platform and id; the conversation id starts unknown."""
    tokens = (
        _platform.set(platform_of(inbound.user_id)),
        _message_id.set(inbound.message_id),
        _conversation_id.set(None),
    )
    try:
        yield
    finally:
        _conversation_id.reset(tokens[2])
        _message_id.reset(tokens[1])
        _platform.reset(tokens[0])


def bind_conversation(conversation_id: str | None) -> None:
    """The turn's conversation is known now; undone when the enclosing `turn_context` ends."""
    _conversation_id.set(conversation_id)


def current() -> dict[str, str]:
    """The ids known in this task, without the unknown ones."""
    values = {"conversation_id": _conversation_id.get(), "platform": _platform.get(), "message_id": _message_id.get()}
    return {k: v for k, v in values.items() if v is not None}


class ContextFilter(logging.Filter):
    """Put the current turn's ids on every record (as attributes; None when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.conversation_id = _conversation_id.get()
        record.platform = _platform.get()
        record.message_id = _message_id.get()
        return True
