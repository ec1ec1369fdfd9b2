"""The doctor's checks of the core's needs: settings, database, model key, Opik."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from bots.doctor.result import Check, failed, passed, skipped
from trip_planner.config import ConfigError, Settings, load_settings
from trip_planner.core.database import create_engine
from trip_planner.core.redact import mask_url, redact
from trip_planner.core.tables import metadata
from trip_planner.core.tracing import opik_configured

TIMEOUT_S = 10.0
ADK_TABLES = ("sessions", "events", "app_states", "user_states")
CREATE_FIX = "start the bot once (it creates its tables), or run `trip-planner db upgrade` when TRIP_PLANNER_AUTO_MIGRATE=false"


def check_configuration(env: Mapping[str, str]) -> tuple[Settings | None, Check]:
    try:
        settings = load_settings(env, dotenv=False)
    except ConfigError as err:
        return None, failed("Configuration", redact(str(err)), "correct the variable named above (in the environment or .env)")
    return settings, passed(
        "Configuration", f"model {settings.model}, database {mask_url(settings.database_url)}, logs {settings.log_format}"
    )


async def check_database(database_url: str) -> Check:
    """Connect, run `SELECT 1`, and look for our tables and ADK's; never creates anything."""
    name = "Database"
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        if path not in ("", ":memory:") and not Path(path).expanduser().exists():
            return failed(name, f"no SQLite file at {path}", CREATE_FIX)
    engine = create_engine(database_url)
    try:
        async with asyncio.timeout(TIMEOUT_S):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                present = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    except Exception as err:
        return failed(
            name,
            f"cannot connect to {mask_url(database_url)} ({type(err).__name__}: {redact(str(err))[:200]})",
            "check DATABASE_URL (host, port, database name, user and password) and that the server is up",
        )
    finally:
        await engine.dispose()
    wanted = set(metadata.tables) | set(ADK_TABLES)
    missing = sorted(wanted - present)
    if missing:
        return failed(name, f"connected, but tables are missing: {', '.join(missing)}", CREATE_FIX)
    return passed(name, f"connected to {mask_url(database_url)}; all {len(wanted)} tables present")


async def check_model(settings: Settings) -> Check:
    name = "Model"
    if settings.is_offline:
        return passed(name, "the embedded offline planner (no key needed)")
    if settings.model.startswith("litellm/"):
        return skipped(name, f"{settings.model}: not checked (LiteLLM reads the provider's key at the first call)")
    from google import genai
    from google.genai import errors, types

    client = genai.Client(api_key=settings.google_api_key, http_options=types.HttpOptions(timeout=int(TIMEOUT_S * 1000)))
    try:
        model = await client.aio.models.get(model=settings.model)
    except errors.ClientError as err:
        if err.code == 404:
            return failed(name, f"{settings.model} is not a model this key can use (404)",
                          "set TRIP_PLANNER_MODEL to an available Gemini model, e.g. gemini-2.5-flash")
        return failed(name, f"GOOGLE_API_KEY was refused ({err.code} {err.status})",
                      "create a key at https://aistudio.google.com/apikey and set GOOGLE_API_KEY")
    except Exception as err:
        return failed(name, f"cannot reach the Gemini API ({type(err).__name__})",
                      "check the network (or GOOGLE_GEMINI_BASE_URL), or use TRIP_PLANNER_MODEL=offline")
    finally:
        await client.aio.aclose()
    return passed(name, f"{settings.model}: key accepted, model available ({model.display_name or model.name})")


def _opik_target() -> tuple[str, dict[str, str]]:
    """Where the SDK would send traces and with which credentials (its own config rules)."""
    from opik.config import OpikConfig

    config = OpikConfig()
    headers: dict[str, str] = {}
    if config.api_key:
        headers["authorization"] = config.api_key
    if config.workspace:
        headers["Comet-Workspace"] = config.workspace
    return config.url_override.rstrip("/"), headers


async def check_opik(env: Mapping[str, str]) -> Check:
    """Only when configured: the same API request the circuit breaker's probe makes."""
    name = "Opik"
    if not opik_configured(env):
        return skipped(name, "not configured (tracing off); set OPIK_API_KEY or OPIK_URL_OVERRIDE to turn it on")
    try:
        base, headers = await asyncio.to_thread(_opik_target)
    except Exception as err:
        return failed(name, f"the Opik configuration cannot be read ({type(err).__name__})",
                      "check OPIK_URL_OVERRIDE, OPIK_API_KEY, OPIK_WORKSPACE and ~/.opik.config")
    status: Any = None
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(f"{base}/v1/private/projects", params={"page": "1", "size": "1"}, headers=headers) as response:
                status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as err:
        return failed(name, f"cannot reach {mask_url(base)} ({type(err).__name__})",
                      "check OPIK_URL_OVERRIDE and that the Opik server is up (the bot runs without it, untraced)")
    if status in (401, 403):
        return failed(name, f"{mask_url(base)} refused the credentials ({status})", "check OPIK_API_KEY and OPIK_WORKSPACE")
    if status >= 400:
        return failed(name, f"{mask_url(base)} answered HTTP {status}",
                      "check the Opik server's health (the bot runs without it, untraced)")
    return passed(name, f"{mask_url(base)} answers")
