"""The model's Markdown, made into Slack mrkdwn that renders well and can never ping anyone.

Why a converter and not `markdown_text`: with our own converter the safety rule is checkable here,
in one function with tests — every `&`, `<` and `>` from the model is escaped, so no `<!channel>`,
`<!here>`, `<!everyone>`, `<@U…>`, `<!subteam^…>` or `<#C…>` can reach Slack as markup, and bare
`@here`-style words get an invisible joiner (we also post with `parse="none"` and no `link_names`).
Links are rebuilt by us, only for http(s) targets, and show their destination unless the label names it.
"""

from __future__ import annotations

import re

from trip_planner.core.links import is_web_link, label_is_honest
from trip_planner.core.splitting import split_markdown

# Slack's section text limit is 3,000 and it recommends messages under 4,000 characters; staying under
# the smaller keeps every chunk valid whether it goes out as `text` or inside a block.
MAX_CHARS = 3000

_WORD_JOINER = "\u2060"
_FENCE = "```"
_BROADCAST = re.compile(r"@(?=(channel|here|everyone)\b)", re.IGNORECASE)
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.MULTILINE)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_BOLD_MARK = "\x00"


def escape(text: str) -> str:
    """Slack's three control characters, escaped as Slack documents; and broadcast words defused."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + _WORD_JOINER, text)


def _link(match: re.Match[str]) -> str:
    """Honest links (the core's rule): the label alone only when it names the URL's own domain."""
    label, url = match.group(1), match.group(2)
    if not is_web_link(url) or "|" in url:
        return f"{label} ({url})"
    if label_is_honest(label, url):
        return f"<{url}|{label.replace('|', '/')}>"
    return f"{label} (<{url}>)"


def _inline(text: str) -> str:
    """Convert the Markdown of one non-code line group (already escaped)."""
    text = _HEADING.sub(lambda m: f"{_BOLD_MARK}{m.group(1).strip('*_ ')}{_BOLD_MARK}", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    # Protect inline code from the emphasis rules, then convert.
    codes: list[str] = []

    def stash(match: re.Match[str]) -> str:
        codes.append(match.group(0))
        return f"\x01{len(codes) - 1}\x01"

    text = _INLINE_CODE.sub(stash, text)
    text = _LINK.sub(_link, text)
    text = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m.group(2)}{_BOLD_MARK}", text)
    text = _ITALIC.sub(lambda m: f"_{m.group(1)}_", text)
    text = _STRIKE.sub(lambda m: f"~{m.group(1)}~", text)
    text = text.replace(_BOLD_MARK, "*")
    return re.sub(r"\x01(\d+)\x01", lambda m: codes[int(m.group(1))], text)


def to_mrkdwn(markdown: str) -> str:
    """Standard Markdown (what models write) to Slack mrkdwn, escaped so it can ping no one."""
    text = markdown.replace("\r\n", "\n").replace(_BOLD_MARK, "").replace("\x01", "")
    parts = text.split(_FENCE)
    out: list[str] = []
    for index, part in enumerate(parts):
        if index % 2 == 1:  # inside a fenced block: drop the language tag, keep the text verbatim
            first, newline, rest = part.partition("\n")
            body = rest if newline and re.fullmatch(r"[\w+-]*", first.strip()) else part
            out.append(_FENCE + "\n" + escape(body.strip("\n")) + "\n" + _FENCE)
        else:
            out.append(_inline(escape(part)))
    if len(parts) % 2 == 0:  # an unclosed fence: close it so the rest of the message renders
        out.append(_FENCE)
    return "".join(out).strip()


def render(markdown: str, limit: int = MAX_CHARS) -> list[str]:
    """The model's answer as the Slack messages to post, in order (split by the core's one splitter)."""
    return split_markdown(to_mrkdwn(markdown), limit) or [""]
