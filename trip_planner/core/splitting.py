"""One Markdown-aware splitter for every platform: whole lines, code fences kept, one limit each.

A long answer must become several messages that each render on their own: a cut prefers a blank
line, then a line break, then a space; a code block cut in two is closed at the end of one piece and
reopened (with its language) at the start of the next. Platforms differ only in the limit (Discord
2,000 characters, Slack 3,000 per section) and in the markup they are given, which each adapter
converts before splitting.
"""

from __future__ import annotations

FENCE = "```"
_RESERVE = 32  # room for a reopened fence at the top and a closing one at the bottom of a piece


def _toggles_fence(line: str) -> bool:
    return line.count(FENCE) % 2 == 1


def _safe_cut(line: str, at: int) -> int:
    """Never cut inside an HTML entity such as `&amp;` (Slack's escaping)."""
    amp = line.rfind("&", max(0, at - 6), at)
    if amp > 0 and ";" not in line[amp:at]:
        return amp
    return at


def _hard_split(line: str, width: int) -> list[str]:
    """Split one over-long line at spaces when possible, else at `width` characters."""
    pieces: list[str] = []
    while len(line) > width:
        cut = line.rfind(" ", width // 2, width)
        if cut <= 0:
            cut = _safe_cut(line, width)
        pieces.append(line[:cut].rstrip())
        line = line[cut:].lstrip(" ")
    pieces.append(line)
    return pieces


def split_markdown(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, in order; [] for blank text."""
    if limit < 20:
        raise ValueError(f"limit {limit} is too small to split messages")
    reserve = min(_RESERVE, limit // 2)
    text = text.strip("\n")
    if len(text) <= limit:
        return [text] if text.strip() else []
    lines: list[str] = []
    open_after: list[str | None] = []  # the fence open after each line, if any
    opener: str | None = None
    for raw in text.split("\n"):
        for line in _hard_split(raw, limit - reserve):
            if _toggles_fence(line):
                opener = None if opener else (FENCE + line.strip().removeprefix(FENCE).split(FENCE)[0])[:20]
            lines.append(line)
            open_after.append(opener)

    def piece(start: int, end: int) -> str:
        carried = open_after[start - 1] if start > 0 else None
        body = ([carried] if carried else []) + lines[start:end]
        if open_after[end - 1]:
            body.append(FENCE)
        return "\n".join(body).strip("\n")

    pieces: list[str] = []
    start = 0
    end = start + 1
    while start < len(lines):
        if end <= len(lines) and (end == start + 1 or len(piece(start, end)) <= limit):
            end += 1
            continue
        stop = end - 1  # lines[start:stop] fits (or is the last piece)
        if end <= len(lines):
            # Over the limit: break at the last blank line outside code if the piece stays useful.
            for b in range(stop - 1, start, -1):
                if lines[b].strip() == "" and open_after[b] is None and len(piece(start, b)) >= limit // 2:
                    stop = b
                    break
        chunk = piece(start, stop)
        if chunk.strip():
            pieces.append(chunk)
        start = stop
        while start < len(lines) and lines[start].strip() == "" and open_after[start] is None:
            start += 1
        end = start + 1
    return pieces
