"""The doctor's checks of the platforms: Slack's tokens and scopes, Discord's token and intents."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import discord
import yaml
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.discord.client import build_intents
from bots.discord.config import load_discord_settings
from bots.doctor.result import Check, failed, passed, skipped
from bots.slack.config import SlackConfig, load_slack_config
from trip_planner.config import ConfigError
from trip_planner.core.redact import mask_url, redact

TIMEOUT_S = 10.0
MANIFEST = Path(__file__).resolve().parents[2] / "slack-app-manifest.yaml"
SLACK_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")

# Discord application flags (GET /applications/@me): each privileged intent is on when either its
# full flag (verified apps) or its "limited" flag (apps in fewer than 100 servers) is set.
PRIVILEGED = {
    "presences": ("Presence Intent", 1 << 12, 1 << 13),
    "members": ("Server Members Intent", 1 << 14, 1 << 15),
    "message_content": ("Message Content Intent", 1 << 18, 1 << 19),
}


def manifest_scopes(path: Path = MANIFEST) -> set[str] | None:
    """The bot scopes slack-app-manifest.yaml asks for (None when the file is not beside the code)."""
    if not path.exists():
        return None
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    return set(((data.get("oauth_config") or {}).get("scopes") or {}).get("bot") or [])


async def check_slack(env: Mapping[str, str], *, manifest: Path = MANIFEST) -> list[Check]:
    if not any((env.get(name) or "").strip() for name in SLACK_VARIABLES):
        return [skipped("Slack", "not configured (SLACK_BOT_TOKEN unset); skipped")]
    try:
        config = load_slack_config(env)
    except ConfigError as err:
        return [failed("Slack configuration", redact(str(err)), "correct the variable named above")]
    client = AsyncWebClient(token=config.bot_token, base_url=config.api_url, timeout=int(TIMEOUT_S))
    try:
        response = await client.auth_test()
    except SlackApiError as err:
        error = err.response.get("error") if err.response is not None else "unknown"
        return [failed("Slack bot token", f"refused by Slack ({error})",
                       "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions into SLACK_BOT_TOKEN")]
    except Exception as err:
        return [failed("Slack bot token", f"cannot reach Slack at {mask_url(config.api_url)} ({type(err).__name__})",
                       "check the network (or SLACK_API_URL)")]
    checks = [passed("Slack bot token", f"@{response.get('user')} in {response.get('team')} ({response.get('team_id')})")]
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    checks.append(_scopes(headers.get("x-oauth-scopes"), await asyncio.to_thread(manifest_scopes, manifest)))
    checks.append(await _app_token(config))
    return checks


def _scopes(header: str | None, wanted: set[str] | None) -> Check:
    name = "Slack scopes"
    if wanted is None:
        return skipped(name, "slack-app-manifest.yaml not found beside the code; scopes not compared")
    if header is None:
        return skipped(name, "Slack did not say which scopes the token has (no x-oauth-scopes header)")
    granted = {s.strip() for s in header.split(",") if s.strip()}
    missing = sorted(wanted - granted)
    if missing:
        return failed(name, f"the token lacks {', '.join(missing)}",
                      "add them under OAuth & Permissions > Bot Token Scopes (or update the app from "
                      "slack-app-manifest.yaml), then reinstall the app to the workspace")
    return passed(name, f"all {len(wanted)} scopes of the manifest granted")


async def _app_token(config: SlackConfig) -> Check:
    """Socket Mode: the app-level token opens a connection URL (no socket is opened)."""
    name = "Slack app token"
    if config.app_token is None:
        return passed("Slack mode", "Events API over HTTP (signing secret set; Slack checks it on every request)")
    client = AsyncWebClient(token=config.app_token, base_url=config.api_url, timeout=int(TIMEOUT_S))
    try:
        await client.apps_connections_open(app_token=config.app_token)
    except SlackApiError as err:
        error = err.response.get("error") if err.response is not None else "unknown"
        return failed(name, f"refused by Slack ({error})",
                      "create an app-level token with connections:write (Basic Information > App-Level Tokens) "
                      "and set SLACK_APP_TOKEN; Socket Mode must be on")
    except Exception as err:
        return failed(name, f"cannot reach Slack ({type(err).__name__})", "check the network (or SLACK_API_URL)")
    return passed(name, "Socket Mode connection allowed")


async def check_discord(env: Mapping[str, str], *, intents: discord.Intents | None = None) -> list[Check]:
    """The token (GET /users/@me) and the privileged intents the bot asks for (GET /applications/@me).
    `intents` defaults to what the bot requests with these settings."""
    if not (env.get("DISCORD_TOKEN") or "").strip():
        return [skipped("Discord", "not configured (DISCORD_TOKEN unset); skipped")]
    try:
        config = load_discord_settings(env)
    except ConfigError as err:
        return [failed("Discord configuration", redact(str(err)), "correct the variable named above")]
    wanted = intents or build_intents(server_mentions=config.server_mentions)
    headers = {"Authorization": f"Bot {config.token}"}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S), headers=headers) as session:
            status, me = await _get(session, f"{config.api_url}/users/@me")
            if status == 401:
                return [failed("Discord bot token", "rejected by Discord (401 Unauthorized)",
                               "reset the token (Developer Portal > your application > Bot > Reset Token) into DISCORD_TOKEN")]
            if status != 200:
                return [failed("Discord bot token", f"Discord answered HTTP {status}", "try again; check Discord's status page")]
            app_status, application = await _get(session, f"{config.api_url}/applications/@me")
    except (aiohttp.ClientError, TimeoutError, OSError) as err:
        return [failed("Discord bot token", f"cannot reach Discord at {mask_url(config.api_url)} ({type(err).__name__})",
                       "check the network (or DISCORD_API_URL)")]
    checks = [passed("Discord bot token", f"{me.get('username')} (id {me.get('id')})")]
    if app_status != 200:
        checks.append(failed("Discord intents", f"cannot read the application (HTTP {app_status})", "try again"))
        return checks
    checks.append(_intents(wanted, int(application.get("flags") or 0)))
    return checks


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with session.get(url) as response:
        body = await response.json(content_type=None) if response.status == 200 else {}
        return response.status, body if isinstance(body, dict) else {}


def _intents(wanted: discord.Intents, flags: int) -> Check:
    name = "Discord intents"
    needed = [(label, full, limited) for attr, (label, full, limited) in PRIVILEGED.items() if getattr(wanted, attr)]
    missing = [label for label, full, limited in needed if not flags & (full | limited)]
    if missing:
        return failed(name, f"the bot asks for {', '.join(missing)}, which the application does not have",
                      "turn it on under Developer Portal > your application > Bot > Privileged Gateway Intents")
    if not needed:
        return passed(name, "no privileged intent needed (DMs and mentions carry their text without one)")
    return passed(name, f"{', '.join(label for label, _, _ in needed)} enabled")
