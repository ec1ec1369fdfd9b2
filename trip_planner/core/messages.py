"""What the core hands back to adapters: small, platform-free values (the inbound side is
`trip_planner.core.channel.Inbound`; the words are in `trip_planner.core.replies`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from trip_planner.core.trip_card import TripCard

ReplyStatus = Literal["answered", "duplicate", "rejected", "refused", "failed"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Reply:
    """The core's answer to one inbound message.

    `status` tells the adapter what to do: post `text` for answered / rejected / failed; post nothing
    for a duplicate (the first delivery was, or is being, answered). `card` is the trip at a glance,
    set when this turn changed the trip's facts (platforms with cards show it with the answer); it
    is not stored, so an answer posted by the recovery sweep goes out as text only.
    """

    text: str
    status: ReplyStatus
    conversation_id: str | None = None
    query_num: int | None = None
    card: TripCard | None = None

    @property
    def duplicate(self) -> bool:
        return self.status == "duplicate"


@dataclass(frozen=True)
class Reaction:
    user_id: str
    message_ref: str
    emoji: str


# "not_owner": someone else's click on a feedback button (only `react(..., button=True)` says so;
# a stranger's emoji reaction is simply "ignored").
ReactionOutcome = Literal["satisfied", "unsatisfied", "ignored", "not_owner"]


def clean_text(text: str) -> str:
    """Strip control characters (keeping newlines and tabs) and surrounding whitespace."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", text or "")).strip()

