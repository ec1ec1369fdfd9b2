"""A malformed gateway event costs one WARNING, never the connection.

discord.py parses each DISPATCH on the gateway task (`ConnectionState.parse_*`): a payload with a
missing field or a wrong type raises there (KeyError, TypeError, ValueError…), the exception leaves
`Client.connect`, and the bot drops off Discord (our `serve` returns 1). Real Discord sends
well-formed events, but a proxy, an API change or a bug on either side must not take the bot down:
each parser is wrapped so a payload it cannot read is logged (the event name and the kind of error,
never the payload, which holds people's messages) and dropped, and the next event is read as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from typing import Any

log = logging.getLogger(__name__)

Parser = Callable[[Any], None]


def _guarded(event: str, parse: Parser) -> Parser:
    def guarded(data: Any) -> None:
        try:
            parse(data)
        except Exception as err:
            log.warning("Dropped a malformed Discord %s event (%s)", event, type(err).__name__)

    guarded.__wrapped__ = parse  # type: ignore[attr-defined]
    return guarded


def guard_parsers(parsers: MutableMapping[str, Parser]) -> None:
    """Wrap every gateway event parser in place (discord.py's websocket reads this very dict)."""
    for event, parse in list(parsers.items()):
        if not hasattr(parse, "__wrapped__"):
            parsers[event] = _guarded(event, parse)
