"""The registry's rows as the rest of the core sees them (frozen records, never SQLAlchemy rows),
and how a row becomes one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

@dataclass(frozen=True)
class ConversationRecord:
    conversation_id: str
    user_id: str
    session_id: str
    status: str
    end_reason: str | None
    feedback: str | None
    query_count: int
    last_trace_id: str | None
    created_at: float
    updated_at: float
    ended_at: float | None

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class QueryRecord:
    query_num: int
    query: str
    response: str
    created_at: float


STREAM_KEY = "_stream"  # in tp_inbound.reply_to: the ref of the message the answer streamed into
ATTACHMENTS_KEY = "_files"  # in tp_inbound.reply_to: the message carried only files (`Inbound.attachments`)
# The PostgreSQL NOTIFY channel on which `receive` processes announce stored messages (core/dispatch.py).
NEW_INBOUND_CHANNEL = "trip_planner_new_inbound"


@dataclass(frozen=True)
class InboundRecord:
    message_id: str
    user_id: str
    text: str
    status: str
    answer: str | None
    conversation_id: str | None
    reply_to: dict[str, Any] | None
    received_at: float
    answered_at: float | None = None
    delivered_at: float | None = None
    place: str | None = None
    worker_id: str | None = None  # the worker answering or posting it now


def conversation_record(row: Any) -> ConversationRecord:
    return ConversationRecord(**{c: row._mapping[c] for c in ConversationRecord.__dataclass_fields__})


def inbound_record(row: Any) -> InboundRecord:
    m = row._mapping
    return InboundRecord(
        message_id=m["message_id"],
        user_id=m["user_id"],
        text=m["text"],
        status=m["status"],
        answer=m["answer"],
        conversation_id=m["conversation_id"],
        reply_to=json.loads(m["reply_to"]) if m["reply_to"] else None,
        received_at=m["received_at"],
        answered_at=m["answered_at"],
        delivered_at=m["delivered_at"],
        place=m["place"],
        worker_id=m["worker_id"],
    )
