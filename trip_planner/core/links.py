"""Honest links: a link in an answer shows where it goes.

A model's answer (or text it repeats) can hold `[Reset your SSO password](https://evil.example/login)`;
posted under the bot's name as a masked link, the label would hide the destination. A label stays
alone only when it is the URL itself or names the URL's own domain; otherwise the answer shows
"label (url)". Only http(s) destinations become links at all.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SAFE_SCHEMES = ("http", "https")
# A domain-like token in a label: "example.com", "docs.python.org".
_DOMAIN = re.compile(r"(?i)\b((?:[a-z0-9-]{1,63}\.){1,8}[a-z]{2,63})\b")


def _host(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.hostname:
        return None
    return parts.hostname.lower().removeprefix("www.")


def is_web_link(url: str) -> bool:
    return _host(url) is not None


def label_is_honest(label: str, url: str) -> bool:
    """The label may stand alone: it is the URL, or every domain it names is the URL's domain."""
    host = _host(url)
    if host is None:
        return False
    bare = label.strip().rstrip("/").lower()
    if bare in (url.strip().rstrip("/").lower(), host, f"www.{host}") or bare.removeprefix("https://").removeprefix("http://").removeprefix("www.") == host:
        return True
    named = [d.lower().removeprefix("www.") for d in _DOMAIN.findall(label)]
    return bool(named) and all(d == host or host.endswith("." + d) for d in named)


# A Markdown link as models write it (one level of parentheses inside the URL, as in Wikipedia's); bounded so a hostile answer cannot make it backtrack for long.
MARKDOWN_LINK = re.compile(r"\[([^\[\]\n]{1,500})\]\(((?:[^()\s]|\([^()\s]{0,200}\)){1,2000})\)")


def honest_markdown(text: str) -> str:
    """For platforms that render Markdown links themselves (Discord): an honest link stays a link, a
    dishonest one becomes "label (<url>)", and a link to anything but http(s) becomes plain text."""

    def one(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        if label_is_honest(label, url):
            return match.group(0)
        if is_web_link(url):
            return f"{label} (<{url}>)"
        return f"{label} (`{url.replace('`', '')}`)"

    return MARKDOWN_LINK.sub(one, text)
