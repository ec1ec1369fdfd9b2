"""The Slack adapter's own settings, read from the environment when `trip-planner slack` starts.

They live here, not in `trip_planner.config`, because only this adapter needs them. Each bad value
raises `ConfigError` with one line that names the variable (the CLI prints it and exits 2), and no
message ever echoes a token or secret back: logs and terminals get copied into tickets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

from trip_planner.config import ConfigError, env_flag
from trip_planner.core.redact import mask_url

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_PORT = 3000
EVENTS_PATH = "/slack/events"


@dataclass(frozen=True)
class SlackConfig:
    """What the adapter needs to connect. Tokens are hidden from `repr` so they never reach a log."""

    bot_token: str = field(repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    port: int = DEFAULT_PORT
    host: str = "0.0.0.0"
    shutdown_timeout_s: float = 25.0  # Heroku-style platforms kill 30 s after SIGTERM
    # Slack's agent messaging experience (manifest `features.agent_view`): each top-level DM message
    # is a thread root and its answer goes in that thread. Off: plain DMs, answers in the DM itself.
    agent_view: bool = False

    @property
    def socket_mode(self) -> bool:
        """Socket Mode needs no public URL, so it wins whenever an app-level token is given."""
        return self.app_token is not None


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = (env.get(name) or "").strip()
    return value or None


def _token(env: Mapping[str, str], name: str, prefix: str, what: str, *, required: bool) -> str | None:
    value = _get(env, name)
    if value is None:
        if required:
            raise ConfigError(f"{name} is not set; set it to the app's {what} ({prefix}…).")
        return None
    if not value.startswith(prefix) or any(ch.isspace() for ch in value):
        # Say what is wrong without printing the value: it may be a real secret pasted in the wrong place.
        raise ConfigError(f"{name} is malformed; it must be the app's {what}, which starts with {prefix!r}.")
    return value


def load_slack_config(env: Mapping[str, str] | None = None) -> SlackConfig:
    """Read SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, PORT and
    SLACK_AGENT_VIEW (default true, as the manifest enables agent view; false for an app that has not
    switched, whose DMs stay plain)."""
    env = os.environ if env is None else env
    bot_token = _token(env, "SLACK_BOT_TOKEN", "xoxb-", "bot token (OAuth & Permissions)", required=True)
    assert bot_token is not None
    app_token = _token(env, "SLACK_APP_TOKEN", "xapp-", "app-level token (Basic Information)", required=False)
    secret = _get(env, "SLACK_SIGNING_SECRET")
    if secret is not None and any(ch.isspace() for ch in secret):
        raise ConfigError("SLACK_SIGNING_SECRET is malformed; copy it again from Basic Information > App Credentials.")
    if app_token is None and secret is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set; the Events API over HTTP needs it "
            "(or set SLACK_APP_TOKEN to use Socket Mode)."
        )
    api_url = _get(env, "SLACK_API_URL") or DEFAULT_API_URL
    parsed = urlparse(api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"SLACK_API_URL={mask_url(api_url)!r} is not an http(s) URL; use e.g. {DEFAULT_API_URL}.")
    if not api_url.endswith("/"):
        api_url += "/"
    raw_port = _get(env, "PORT")
    port = DEFAULT_PORT
    if raw_port is not None:
        try:
            port = int(raw_port)
        except ValueError:
            raise ConfigError(f"PORT={raw_port!r} is not a whole number; use e.g. {DEFAULT_PORT}.") from None
        if not 0 <= port <= 65535:
            raise ConfigError(f"PORT={raw_port!r} is out of range; use a port between 1 and 65535.")
    host = _get(env, "HOST") or "0.0.0.0"
    raw_timeout = _get(env, "SLACK_SHUTDOWN_TIMEOUT")
    try:
        shutdown_timeout_s = float(raw_timeout) if raw_timeout is not None else 25.0
    except ValueError:
        raise ConfigError(f"SLACK_SHUTDOWN_TIMEOUT={raw_timeout!r} is not a number of seconds; use e.g. 25.") from None
    if shutdown_timeout_s < 0:
        raise ConfigError(f"SLACK_SHUTDOWN_TIMEOUT={raw_timeout!r} is negative; use e.g. 25.")
    return SlackConfig(
        bot_token=bot_token, signing_secret=secret, app_token=app_token, api_url=api_url, port=port, host=host,
        shutdown_timeout_s=shutdown_timeout_s, agent_view=env_flag(env, "SLACK_AGENT_VIEW", True),
    )
