"""An answer part as Block Kit: the trip's card on top (when the turn changed the trip), the part's
mrkdwn in sections (one per headed paragraph, so flights, hotels and the budget read as sections),
and the feedback buttons last.

Why blocks at all: Slack shows blocks instead of `text` when both are given, so the text must be in
the blocks too; `text` stays the whole part as the plain fallback for notifications, search and
clients that show no blocks. Slack refuses a message it cannot show (`invalid_blocks`), which would
cost the answer, so every limit is kept here: at most 50 blocks, a header of 150 characters, ten
fields of 2,000, sections of 3,000 (parts are already cut to that by `formatting.render`).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import DividerBlock, HeaderBlock, MarkdownTextObject, PlainTextObject, SectionBlock

from bots.slack.feedback import feedback_block
from bots.slack.formatting import MAX_CHARS, escape
from trip_planner.core.trip_card import TripCard

MAX_BLOCKS = 50
HEADER_CHARS = 150
MAX_FIELDS = 10
FIELD_CHARS = 2000


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def card_blocks(card: TripCard) -> list[dict[str, Any]]:
    """The trip at a glance: its places as the header, its known facts as fields, then a divider."""
    blocks = [HeaderBlock(text=PlainTextObject(text=_cut(card.title, HEADER_CHARS), emoji=True)).to_dict()]
    fields = [
        MarkdownTextObject(text=_cut(f"*{escape(label)}*\n{escape(value)}", FIELD_CHARS), verbatim=True)
        for label, value in card.fields()[:MAX_FIELDS]
    ]
    if fields:
        blocks.append(SectionBlock(fields=fields).to_dict())
    blocks.append(DividerBlock().to_dict())
    return blocks


def _paragraph_groups(text: str, room: int) -> list[str]:
    """The part's paragraphs grouped into at most `room` sections: a paragraph that opens with a bold
    heading starts a new one; the last takes whatever is left (a part is within 3,000 anyway)."""
    groups: list[str] = []
    for paragraph in (p for p in text.split("\n\n") if p.strip()):
        heading = paragraph.lstrip().startswith("*")
        fits = bool(groups) and len(groups[-1]) + 2 + len(paragraph) <= MAX_CHARS
        if groups and (not heading or len(groups) >= room) and fits:
            groups[-1] += "\n\n" + paragraph
        else:
            groups.append(paragraph)
    return [_cut(g, MAX_CHARS) for g in groups[:room]] or [_cut(text, MAX_CHARS) or " "]


def part_blocks(text: str, *, card: TripCard | None = None, controls: bool = False) -> list[dict[str, Any]] | None:
    """Blocks for one part of an answer (`text` already mrkdwn, escaped and within 3,000 characters),
    or None when plain text shows it as well (no card, no buttons)."""
    if card is None and not controls:
        return None
    head = card_blocks(card) if card is not None else []
    tail = [feedback_block()] if controls else []
    room = MAX_BLOCKS - len(head) - len(tail)
    body = [SectionBlock(text=MarkdownTextObject(text=group, verbatim=True)).to_dict() for group in _paragraph_groups(text, room)]
    return head + body + tail
