"""`trip-planner discord`: log in, stay connected until SIGTERM / SIGINT, drain, close."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping
from typing import Any

import aiohttp
import discord

from bots.discord.client import AnyPlannerClient, PlannerClient, ShardedPlannerClient
from bots.discord.config import DiscordSettings, configure_endpoints, load_discord_settings
from trip_planner.config import ConfigError, Settings
from trip_planner.core.health import start_health_server
from trip_planner.core.runner import TripPlannerRunner

log = logging.getLogger(__name__)


def create_client(
    runner: TripPlannerRunner, config: DiscordSettings, **options: Any
) -> AnyPlannerClient:
    """The right client for the settings; `options` go to discord.py (tests pass guild_ready_timeout)."""
    common: dict[str, Any] = {
        "server_mentions": config.server_mentions,
        "sync_commands": config.sync_commands,
        **options,
    }
    if config.sharded:
        return ShardedPlannerClient(
            runner, shard_count=config.shard_count, shard_ids=list(config.shard_ids) if config.shard_ids else None, **common
        )
    return PlannerClient(runner, **common)


async def _login(client: AnyPlannerClient, config: DiscordSettings) -> bool:
    """Log in; a rejected token is a configuration error, an unreachable API a failed start."""
    try:
        await client.login(config.token)
    except discord.LoginFailure:
        raise ConfigError(
            "DISCORD_TOKEN was rejected by Discord (401 Unauthorized); reset the token in the Developer Portal."
        ) from None
    except (aiohttp.ClientError, OSError, discord.HTTPException) as err:
        log.error("Could not log in to Discord at %s: %s", config.api_url, err)
        return False
    return True


async def serve(
    client: AnyPlannerClient, config: DiscordSettings, *, stop: asyncio.Event, force: asyncio.Event | None = None
) -> int:
    """Log in, stay connected until `stop` is set, then finish the answers in flight and close.

    `force` (a second SIGTERM / Ctrl-C) cuts the wait short.

    Returns the exit code: 0 after a requested stop, 1 when the gateway connection failed.
    """
    async with client:
        if not await _login(client, config):
            return 1
        # Ready while the gateway is up and no drain has begun (TRIP_PLANNER_HEALTH_PORT, when set).
        client.health_server = await start_health_server(
            client.runner, accepting=lambda: client.inflight.accepting and client.is_ready() and not client.is_closed()
        )
        try:
            return await _stay_connected(client, config, stop=stop, force=force)
        finally:
            if client.health_server is not None:
                await client.health_server.stop()


async def _stay_connected(
    client: AnyPlannerClient, config: DiscordSettings, *, stop: asyncio.Event, force: asyncio.Event | None
) -> int:
    """Connect and serve until `stop`; then drain and close (the body of `serve`)."""
    connection = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
    stopping = asyncio.create_task(stop.wait(), name="discord-stop")
    await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if connection.done():
        stopping.cancel()
        error = connection.exception()
        if error is not None:
            log.error("The Discord gateway connection failed: %s", error)
            return 1
        return 0
    log.info("Stopping: finishing answers in flight (up to %.0fs), then closing the gateway", config.shutdown_timeout_s)
    await client.drain(config.shutdown_timeout_s, force=force)
    await client.close()
    try:
        await connection
    except (discord.DiscordException, aiohttp.ClientError, OSError) as err:  # the socket closing under it
        log.debug("Gateway task ended with %r", err)
    log.info("Discord gateway closed")
    return 0


async def run_discord(
    settings: Settings,
    *,
    sync_commands: bool = False,
    env: Mapping[str, str] | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """`trip-planner discord`: run the bot until SIGTERM / SIGINT.

    With `sync_commands=True` it only registers the slash commands and exits (deploy step).
    """
    if settings.role != "both":
        raise ConfigError(
            f"TRIP_PLANNER_ROLE={settings.role} is for Slack only; run trip-planner discord with TRIP_PLANNER_ROLE=both "
            "(Discord waits for no acknowledgement, so there is nothing to split off)."
        )
    config = load_discord_settings(env)
    configure_endpoints(config.api_url, config.gateway_url)
    runner = TripPlannerRunner(settings)
    await runner.start()
    try:
        if sync_commands:
            return await _sync_only(runner, config)
        stop = stop or asyncio.Event()
        force = asyncio.Event()

        def on_signal() -> None:
            if stop.is_set():
                log.warning("Second stop signal: closing without waiting for answers in flight")
                force.set()
            stop.set()

        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, on_signal)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
                pass
        try:
            client = create_client(runner, config)
            shards = "" if not config.sharded else f" with shards {config.shard_ids or 'all'} of {config.shard_count or 'auto'}"
            log.info("Starting the Discord bot (%s model)%s", settings.model, shards)
            return await serve(client, config, stop=stop, force=force)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
    finally:
        await runner.close()


async def _sync_only(runner: TripPlannerRunner, config: DiscordSettings) -> int:
    client = PlannerClient(runner, server_mentions=config.server_mentions, sync_commands=False)
    async with client:
        if not await _login(client, config):
            return 1
        try:
            synced = await client.tree.sync()
        except discord.HTTPException as err:
            log.error("Could not sync app commands: %s %s", err.status, err.text)
            return 1
    log.info("Registered %d app commands: %s", len(synced), ", ".join(f"/{c.name}" for c in synced))
    return 0
