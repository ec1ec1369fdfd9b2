"""Discord's limits on embeds, as the stand-in enforces them: a message over any of them is refused
with 400 and code 50035 (Invalid Form Body), as Discord does, so a card that breaks one would cost
its answer in tests as it would in production.

Limits (Discord's "Embed Limits"): at most 10 embeds; title 256, description 4,096, 25 fields, a
field's name 256 and value 1,024 (both required), footer text 2,048, author name 256, and 6,000
characters over all of a message's embeds."""

from __future__ import annotations

from typing import Any

MAX_EMBEDS, TITLE, DESCRIPTION, FIELDS, FIELD_NAME, FIELD_VALUE, FOOTER, AUTHOR, TOTAL = (
    10, 256, 4096, 25, 256, 1024, 2048, 256, 6000)


def embeds_error(body: dict[str, Any]) -> str | None:
    """Why Discord would refuse the embeds of a message body (None: it would take them)."""
    embeds = body.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        return "too many embeds"
    total = 0
    for embed in embeds:
        title, description = embed.get("title") or "", embed.get("description") or ""
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        fields = embed.get("fields") or []
        if len(title) > TITLE or len(description) > DESCRIPTION or len(footer) > FOOTER or len(author) > AUTHOR:
            return "embed text too long"
        if len(fields) > FIELDS:
            return "too many fields"
        for field in fields:
            name, value = field.get("name") or "", field.get("value") or ""
            if not name or not value or len(name) > FIELD_NAME or len(value) > FIELD_VALUE:
                return "invalid field"
            total += len(name) + len(value)
        total += len(title) + len(description) + len(footer) + len(author)
    return "embeds over 6000 characters" if total > TOTAL else None
