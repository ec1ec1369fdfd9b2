"""Settings from the environment and a `.env` file.

Every setting has an embedded default so `make chat` works on a fresh clone with no keys. A bad value
stops start-up with one line that names the variable and says how to fix it, instead of a traceback
from deep inside SQLAlchemy or ADK minutes later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

from trip_planner.core.redact import mask_url

APP_NAME = "trip_planner_concierge"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/trip_planner.db"
DEFAULT_MODEL = "offline"
DEFAULT_GEMINI_MODEL = "gemini-2.5-flash"

_ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}


class ConfigError(ValueError):
    """A setting is missing or malformed; the message is the one line the operator sees."""


@dataclass(frozen=True)
class Settings:
    model: str = DEFAULT_MODEL
    google_api_key: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    app_name: str = APP_NAME
    opik_project: str = "AI Travel Planner"
    turn_timeout_s: float = 60.0
    max_message_chars: int = 4000
    conversation_idle_timeout_s: float = 24 * 3600.0
    recent_events: int = 60
    model_context_invocations: int = 12
    # A stable name per process slot (e.g. the platform's dyno name): a restarted process then takes
    # over its predecessor's unfinished work at once instead of after its heartbeat goes stale.
    worker_name: str | None = None
    # Per-person limits and the process-wide cap on turns running at once (see trip_planner/core/limits.py).
    max_waiting_per_person: int = 5
    messages_per_minute: int = 20
    new_trips_per_hour: int = 10
    max_concurrent_turns: int = 32
    # Ended and expired conversations older than this many days are deleted with their ADK sessions
    # and events (see trip_planner/core/retention.py); 0 turns the daily purge off.
    retention_days: int = 90
    # /healthz, /readyz and /metrics on their own port (Socket Mode, Discord); None: not served there.
    health_port: int | None = None
    log_format: str = "text"  # "json": one JSON object per line (see trip_planner/core/json_logs.py)
    # Start-up upgrades an older schema of our tables; off, it refuses and `trip-planner db upgrade` does it.
    auto_migrate: bool = True
    # Answers grow on screen as the model writes them, where the platform and the model can stream
    # (see trip_planner/core/answer_stream.py); off, every answer is posted whole.
    stream_answers: bool = True
    # What this process does with a platform's messages (see `ROLES`): take and answer them (`both`),
    # only take them (`receive`: store and acknowledge), or only answer what others took (`answer`).
    role: str = "both"

    @property
    def answers_here(self) -> bool:
        """Whether messages taken by this process are answered by it (not left to `answer` processes)."""
        return self.role != "receive"

    @property
    def takes_events(self) -> bool:
        """Whether this process takes the platform's events (not an `answer` process)."""
        return self.role != "answer"

    @property
    def is_offline(self) -> bool:
        return self.model == "offline"


def _float(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; set it to a number of seconds such as {default:g}.") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} is too small; use at least {minimum:g}.")
    return value


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; set it to a whole number such as {default}.") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} is too small; use at least {minimum}.")
    return value


LOG_FORMATS = ("text", "json")


def _port(env: Mapping[str, str], name: str) -> int | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a port number; use e.g. 8081, or leave it unset.") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name}={raw!r} is out of range; use a port between 1 and 65535.")
    return port


ROLES = ("both", "receive", "answer")


def role_of(env: Mapping[str, str], database_url: str) -> str:
    """TRIP_PLANNER_ROLE. Split roles share their work through the database, so they need one that
    several processes can write at once: SQLite fails a write made on a stale snapshot outright."""
    raw = (env.get("TRIP_PLANNER_ROLE") or "").strip().lower() or "both"
    if raw not in ROLES:
        raise ConfigError(f"TRIP_PLANNER_ROLE={raw!r} is not known; use both, receive or answer.")
    if raw != "both" and not database_url.startswith("postgresql"):
        raise ConfigError(
            f"TRIP_PLANNER_ROLE={raw} needs a PostgreSQL DATABASE_URL (postgresql+asyncpg://…); "
            "on SQLite run one process with TRIP_PLANNER_ROLE=both."
        )
    return raw


def log_format_of(env: Mapping[str, str]) -> str:
    """TRIP_PLANNER_LOG_FORMAT: `text` (the default) or `json`."""
    raw = (env.get("TRIP_PLANNER_LOG_FORMAT") or "").strip().lower() or "text"
    if raw not in LOG_FORMATS:
        raise ConfigError(f"TRIP_PLANNER_LOG_FORMAT={raw!r} is not known; use text or json.")
    return raw


def load_log_format(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> str:
    """The log format alone, read before logging is configured (and so before `load_settings`,
    whose errors are logged in that format)."""
    if env is None:
        if dotenv:
            load_dotenv(Path.cwd() / ".env", override=False)
        env = os.environ
    return log_format_of(env)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A true/false setting; anything else is refused with the fix."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE | _FALSE:
        return raw in _TRUE
    raise ConfigError(f"{name}={env.get(name)!r} is not true or false; set it to true or false.")


def check_database_url(url: str) -> str:
    """Refuse synchronous or unknown drivers here, with the fix, rather than deep in ADK."""
    scheme, sep, _rest = url.partition("://")
    if not sep:
        raise ConfigError(
            f"DATABASE_URL is not a URL (it has no scheme://); use e.g. {DEFAULT_DATABASE_URL} or "
            "postgresql+asyncpg://user@host:5432/dbname."
        )
    backend, _, driver = scheme.partition("+")
    if backend == "postgres":
        backend = "postgresql"
    if backend not in _ASYNC_DRIVERS:
        raise ConfigError(
            f"DATABASE_URL uses {mask_url(scheme)!r}, which is not supported; use sqlite+aiosqlite:// or postgresql+asyncpg://."
        )
    wanted = _ASYNC_DRIVERS[backend]
    if driver != wanted:
        raise ConfigError(
            f"DATABASE_URL uses the synchronous or unsupported driver {scheme!r}; "
            f"use {backend}+{wanted}:// instead (e.g. {backend}+{wanted}://{_rest_hint(url)})."
        )
    return url


def _rest_hint(url: str) -> str:
    rest = url.partition("://")[2]
    # Never echo a password back into a log line.
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.partition(":")[0]
        return f"{user}@{host}" if user else host
    return rest


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Read settings; `env` defaults to the process environment after loading `.env` from the cwd."""
    if env is None:
        if dotenv:
            load_dotenv(Path.cwd() / ".env", override=False)
        env = os.environ
    api_key = (env.get("GOOGLE_API_KEY") or "").strip() or None
    model = (env.get("TRIP_PLANNER_MODEL") or "").strip()
    if not model:
        model = DEFAULT_GEMINI_MODEL if api_key else DEFAULT_MODEL
    if model.startswith("gemini") and not api_key:
        raise ConfigError(
            f"TRIP_PLANNER_MODEL={model!r} needs GOOGLE_API_KEY; set the key or use TRIP_PLANNER_MODEL=offline."
        )
    if model != DEFAULT_MODEL and not model.startswith(("gemini", "litellm/")):
        raise ConfigError(
            f"TRIP_PLANNER_MODEL={model!r} is not known; use 'offline', a Gemini model name such as "
            f"{DEFAULT_GEMINI_MODEL}, or litellm/<provider>/<model>."
        )
    database_url = check_database_url((env.get("DATABASE_URL") or "").strip() or DEFAULT_DATABASE_URL)
    project = (env.get("OPIK_PROJECT_NAME") or "").strip() or "AI Travel Planner"
    return Settings(
        model=model,
        google_api_key=api_key,
        database_url=database_url,
        opik_project=project,
        turn_timeout_s=_float(env, "TRIP_PLANNER_TURN_TIMEOUT", 60.0, minimum=0.01),
        worker_name=(env.get("TRIP_PLANNER_WORKER_NAME") or "").strip() or None,
        max_message_chars=_int(env, "TRIP_PLANNER_MAX_MESSAGE_CHARS", 4000, minimum=1),
        max_waiting_per_person=_int(env, "TRIP_PLANNER_MAX_WAITING", 5, minimum=1),
        messages_per_minute=_int(env, "TRIP_PLANNER_MESSAGES_PER_MINUTE", 20, minimum=1),
        new_trips_per_hour=_int(env, "TRIP_PLANNER_NEW_TRIPS_PER_HOUR", 10, minimum=1),
        max_concurrent_turns=_int(env, "TRIP_PLANNER_MAX_TURNS", 32, minimum=1),
        conversation_idle_timeout_s=_float(env, "TRIP_PLANNER_IDLE_TIMEOUT", 24 * 3600.0, minimum=1.0),
        recent_events=_int(env, "TRIP_PLANNER_RECENT_EVENTS", 60, minimum=4),
        model_context_invocations=_int(env, "TRIP_PLANNER_CONTEXT_TURNS", 12, minimum=1),
        retention_days=_int(env, "TRIP_PLANNER_RETENTION_DAYS", 90, minimum=0),
        health_port=_port(env, "TRIP_PLANNER_HEALTH_PORT"),
        log_format=log_format_of(env),
        auto_migrate=env_flag(env, "TRIP_PLANNER_AUTO_MIGRATE", True),
        stream_answers=env_flag(env, "TRIP_PLANNER_STREAM_ANSWERS", True),
        role=role_of(env, database_url),
    )
