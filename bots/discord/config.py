"""The Discord adapter's own settings, read when `trip-planner discord` starts.

The core's `Settings` knows nothing about Discord. Each bad value raises `ConfigError` with one line
naming the variable, and never echoes the token.

- DISCORD_TOKEN (required): the bot token from the Developer Portal.
- DISCORD_API_URL (default https://discord.com/api/v10) and DISCORD_GATEWAY_URL (default
  wss://gateway.discord.gg/): REST proxies and tests point these elsewhere.
- DISCORD_SHARD_COUNT: unset for one connection; a number, or `auto` to ask Discord, for large
  installs. DISCORD_SHARD_IDS (e.g. `0,1`) picks the shards this process runs.
- DISCORD_SERVER_MENTIONS (default true): answer @mentions in server channels, not only DMs.
- DISCORD_SYNC_COMMANDS (default true): register the app commands at start-up.
- DISCORD_SHUTDOWN_TIMEOUT (default 25 s): how long SIGTERM waits for answers in flight.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import discord
import yarl

from trip_planner.config import ConfigError
from trip_planner.core.redact import mask_url

DEFAULT_API_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"

# Three dot-separated base64url segments: user id, timestamp, HMAC. Checked only for shape, so a
# pasted "Bot …" prefix, a quoted value or a client secret is caught before any network call.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class DiscordSettings:
    """What the adapter needs beyond the core's Settings. `token` never appears in repr or logs."""

    token: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    gateway_url: str = DEFAULT_GATEWAY_URL
    sharded: bool = False
    shard_count: int | None = None  # None with sharded=True: ask GET /gateway/bot ("auto")
    shard_ids: tuple[int, ...] | None = None
    server_mentions: bool = True
    sync_commands: bool = True
    shutdown_timeout_s: float = 25.0


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a yes/no value; use true or false.")


def _url(env: Mapping[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    raw = (env.get(name) or "").strip() or default
    try:
        url = yarl.URL(raw)
        valid = url.scheme in schemes and bool(url.host)
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError(f"{name}={mask_url(raw)!r} is not a {' or '.join(schemes)} URL; the default is {default}.")
    return raw


def check_token(raw: str | None) -> str:
    """Refuse a missing or obviously malformed token with one line that never echoes the token."""
    token = (raw or "").strip()
    if not token:
        raise ConfigError(
            "DISCORD_TOKEN is not set; copy the bot token from the Discord Developer Portal "
            "(your application > Bot > Reset Token) into DISCORD_TOKEN."
        )
    if token.lower().startswith("bot "):
        raise ConfigError("DISCORD_TOKEN starts with 'Bot '; set the token alone, without the prefix.")
    if not _TOKEN_SHAPE.match(token):
        raise ConfigError(
            "DISCORD_TOKEN does not look like a bot token (three dot-separated parts); copy it again from "
            "the Developer Portal (Bot > Reset Token), not the client secret or the public key."
        )
    return token


def _shards(env: Mapping[str, str]) -> tuple[bool, int | None, tuple[int, ...] | None]:
    raw_count = (env.get("DISCORD_SHARD_COUNT") or "").strip().lower()
    raw_ids = (env.get("DISCORD_SHARD_IDS") or "").strip()
    if not raw_count:
        if raw_ids:
            raise ConfigError("DISCORD_SHARD_IDS is set without DISCORD_SHARD_COUNT; set the total shard count too.")
        return False, None, None
    if raw_count == "auto":
        if raw_ids:
            raise ConfigError("DISCORD_SHARD_IDS needs a fixed DISCORD_SHARD_COUNT, not 'auto'.")
        return True, None, None
    try:
        count = int(raw_count)
    except ValueError:
        raise ConfigError(
            f"DISCORD_SHARD_COUNT={raw_count!r} is not a whole number; use e.g. 2, or 'auto'."
        ) from None
    if count < 1:
        raise ConfigError(f"DISCORD_SHARD_COUNT={raw_count!r} is too small; use at least 1.")
    if not raw_ids:
        return True, count, None
    try:
        ids = tuple(int(part) for part in raw_ids.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"DISCORD_SHARD_IDS={raw_ids!r} is not a comma-separated list of shard numbers.") from None
    if not ids or any(not 0 <= i < count for i in ids) or len(set(ids)) != len(ids):
        raise ConfigError(
            f"DISCORD_SHARD_IDS={raw_ids!r} must list distinct shard numbers from 0 to {count - 1}."
        )
    return True, count, ids


def load_discord_settings(env: Mapping[str, str] | None = None) -> DiscordSettings:
    """Read the adapter's settings (from the process environment by default, after `.env`)."""
    env = os.environ if env is None else env
    token = check_token(env.get("DISCORD_TOKEN"))
    sharded, count, ids = _shards(env)
    timeout_raw = (env.get("DISCORD_SHUTDOWN_TIMEOUT") or "").strip()
    try:
        timeout = float(timeout_raw) if timeout_raw else 25.0
    except ValueError:
        raise ConfigError(f"DISCORD_SHUTDOWN_TIMEOUT={timeout_raw!r} is not a number of seconds.") from None
    if timeout < 0:
        raise ConfigError(f"DISCORD_SHUTDOWN_TIMEOUT={timeout_raw!r} is negative; use e.g. 25.")
    return DiscordSettings(
        token=token,
        api_url=_url(env, "DISCORD_API_URL", DEFAULT_API_URL, ("http", "https")).rstrip("/"),
        gateway_url=_url(env, "DISCORD_GATEWAY_URL", DEFAULT_GATEWAY_URL, ("ws", "wss")),
        sharded=sharded,
        shard_count=count,
        shard_ids=ids,
        server_mentions=_bool(env, "DISCORD_SERVER_MENTIONS", True),
        sync_commands=_bool(env, "DISCORD_SYNC_COMMANDS", True),
        shutdown_timeout_s=timeout,
    )


def configure_endpoints(api_url: str, gateway_url: str) -> None:
    """Point discord.py at the REST base and the gateway.

    discord.py keeps both as class attributes, so this is process-wide: one bot per process, which is
    how it is deployed (a `discord:` process). A plain Client connects to DEFAULT_GATEWAY directly; an
    AutoShardedClient with a fixed shard count does too (with `auto` it uses the URL /gateway/bot gives).
    """
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
