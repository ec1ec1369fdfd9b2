"""An in-memory `Channel` that records what the core asked of it (like Rasa's collecting output
channel): the core's routines are unit-tested through it, without a platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from trip_planner.core.channel import Channel, Inbound, PlaceGone, Posted


@dataclass
class Call:
    kind: str  # post | progress | clear | note | posted
    message_id: str
    part: int | None = None
    text: str | None = None


@dataclass
class MemoryChannel(Channel):
    platform: str = "t"
    limit: int = 4000
    calls: list[Call] = field(default_factory=list)
    # message id -> part -> text: what is "on the platform"; posting a part twice keeps the first.
    board: dict[str, dict[int, str]] = field(default_factory=dict)
    fail_parts: set[tuple[str, int]] = field(default_factory=set)  # (message id, part) refused once each
    raise_on_post: type[Exception] | None = None
    gone: set[str] = field(default_factory=set)  # message ids whose place is gone
    history: dict[str, list[Inbound]] = field(default_factory=dict)  # place -> messages, oldest first
    blind: bool = False  # `posted` cannot tell

    def render(self, text: str) -> list[str]:
        from trip_planner.core.splitting import split_markdown

        return split_markdown(text, self.limit) if len(text) > self.limit else [text]

    async def show_progress(self, inbound: Inbound) -> Any:
        self.calls.append(Call("progress", inbound.message_id))
        return f"progress:{inbound.message_id}"

    async def clear_progress(self, inbound: Inbound, progress: Any) -> None:
        self.calls.append(Call("clear", inbound.message_id))

    async def post(self, inbound: Inbound, part: int, text: str, *, progress: Any = None) -> str | None:
        self.calls.append(Call("post", inbound.message_id, part, text))
        if inbound.message_id in self.gone:
            raise PlaceGone("the place is gone")
        if self.raise_on_post is not None:
            raise self.raise_on_post("platform down")
        if (inbound.message_id, part) in self.fail_parts:
            self.fail_parts.discard((inbound.message_id, part))
            return None
        self.board.setdefault(inbound.message_id, {}).setdefault(part, text)
        return f"{inbound.message_id}#{part}"

    async def note(self, inbound: Inbound, text: str, *, progress: Any = None) -> None:
        self.calls.append(Call("note", inbound.message_id, None, text))

    async def posted(self, inbound: Inbound) -> Posted | None:
        self.calls.append(Call("posted", inbound.message_id))
        if self.blind:
            return None
        on_board = self.board.get(inbound.message_id, {})
        return Posted(parts={part: f"{inbound.message_id}#{part}" for part in on_board})

    def catches_up(self, place: Inbound) -> bool:
        return place.place in self.history

    async def read_after(self, last: Inbound, *, limit: int) -> AsyncIterator[Inbound]:
        for message in self.history.get(last.place or "", [])[:limit]:
            yield message

    def posts(self, message_id: str) -> list[Call]:
        return [c for c in self.calls if c.kind == "post" and c.message_id == message_id]

    def answer(self, message_id: str) -> str:
        parts = self.board.get(message_id, {})
        return "\n".join(parts[i] for i in sorted(parts))
