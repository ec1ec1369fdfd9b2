"""Answers as Discord messages: Discord renders the model's Markdown as it is, so only the length
needs care (and links: the core's honest-link rule; Discord rejects content over 2,000 characters with a 400, and discord.py does not check)."""

from __future__ import annotations

import discord

from trip_planner.core.links import honest_markdown
from trip_planner.core.splitting import split_markdown

MESSAGE_LIMIT = 2000
# Sent with every message (and set on the client): a model's "@everyone" or "<@id>" pings nobody.
NO_MENTIONS = discord.AllowedMentions.none()


def render(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The answer as Discord-sized messages, in order (the core's one splitter)."""
    return split_markdown(honest_markdown(text), limit)
