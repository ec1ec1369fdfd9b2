"""Times as an operator types them and reads them back: UTC everywhere, never local time."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}


def parse_since(value: str, *, now: float | None = None) -> float:
    """'7d', '24h', '30m', '2w', or an ISO date/time ('2026-11-01', '2026-11-01T12:00', UTC unless
    it names a zone) as epoch seconds. Raises ValueError with the accepted forms."""
    now = time.time() if now is None else now
    relative = _RELATIVE.match(value)
    if relative:
        return now - float(relative.group(1)) * _UNIT_S[relative.group(2)]
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a time; use e.g. 7d, 24h, 30m or 2026-11-01") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC, for JSON."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def short(epoch: float | None) -> str:
    """Epoch seconds as a compact UTC time for tables."""
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
