"""Credentials out of errors and logs: configuration errors and start-up lines are copied into
tickets and chat, so a URL's password or a token must never be in them."""

from __future__ import annotations

import re

_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]{0,30}://[^:/@\s]{0,256}:)(?P<secret>[^@\s]{1,512})(?P<at>@)")
_TOKENS = re.compile(r"\b(?P<prefix>xox[abposr]-|xapp-|sk-|AIza)[A-Za-z0-9_\-]{4,}")
# Discord bot tokens: three dot-separated base64url parts.
_DISCORD = re.compile(r"\b[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}\b")


def mask_url(url: str) -> str:
    """`postgresql+asyncpg://user:secret@host/db` → `postgresql+asyncpg://user:****@host/db`."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}****{m['at']}", url)


def redact(text: str) -> str:
    """Mask every URL password and known token shape in free text (an error, a log line)."""
    text = mask_url(text)
    text = _TOKENS.sub(lambda m: f"{m['prefix']}****", text)
    return _DISCORD.sub("****", text)
