"""Answers as Discord messages: Discord renders the model's Markdown as it is, so only the length
needs care (and links: the core's honest-link rule; Discord rejects content over 2,000 characters with a 400, and discord.py does not check)."""

from __future__ import annotations

import discord

from trip_planner.core.channel import StreamUpdate
from trip_planner.core.links import honest_markdown
from trip_planner.core.splitting import split_markdown

MESSAGE_LIMIT = 2000
# Sent with every message (and set on the client): a model's "@everyone" or "<@id>" pings nobody.
NO_MENTIONS = discord.AllowedMentions.none()


def render(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The answer as Discord-sized messages, in order (the core's one splitter)."""
    return split_markdown(honest_markdown(text), limit)


def stream_content(update: StreamUpdate) -> str:
    """An answer still being written, as one message: its steps as small lines (Discord's `-#`
    subtext), then the first piece of its words, marked when more follows."""
    steps = "\n".join(f"-# {'✓' if step.done else '…'} {step.title[:200]}" for step in update.steps[-5:])
    if not update.text:
        return steps
    room = MESSAGE_LIMIT - len(steps) - 3
    pieces = render(update.text, room)
    words = pieces[0] + (" …" if len(pieces) > 1 else "")
    return f"{steps}\n{words}" if steps else words
