"""Health, readiness and metrics over real HTTP: on Slack's HTTP app, and on TRIP_PLANNER_HEALTH_PORT
for Socket Mode and Discord. Real bots against the stand-ins, real runners; the scrape is parsed
with prometheus-client's own parser."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bots.slack import SlackBot, SlackConfig
from tests.channel_double import MemoryChannel
from tests.standins.discord import DiscordStandIn
from tests.standins.discord_harness import TOKEN, running_bot
from tests.standins.opik import OpikStandIn
from tests.standins.opik_env import point_opik_at
from tests.standins.slack import SlackStandIn, slack_standin, wait_until  # noqa: F401  (the `slack` fixture)
from trip_planner.config import ConfigError, Settings, load_settings
from trip_planner.core.channel import Inbound
from trip_planner.core.health import Health, HealthServer
from trip_planner.core.inflight import InFlight
from trip_planner.core.metrics import Metrics
from trip_planner.core.replies import PLACEHOLDER
from trip_planner.core.runner import TripPlannerRunner

ALICE, DM = "U0ALICE001", "D0ALICEDM1"
DISCORD_ALICE = 420000000000000001
LISBON = "I want to go to Lisbon for 4 days in May"


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text(), response.headers.get("Content-Type", "")


def sample(scrape: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus text scrape (None when absent)."""
    for family in text_string_to_metric_families(scrape):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


async def metric(base: str, name: str, **labels: str) -> float | None:
    return sample((await get(f"{base}/metrics"))[1], name, **labels)


async def eventually(base: str, name: str, value: float, **labels: str) -> None:
    """Poll the scrape until the sample has `value` (no sleeps followed by assertions)."""
    for _ in range(500):
        if await metric(base, name, **labels) == value:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{name}{labels} never reached {value}; last {await metric(base, name, **labels)}")


def answers(slack: SlackStandIn, channel: str) -> list[dict]:
    return [m for m in slack.bot_messages(channel) if m["text"] != PLACEHOLDER]


# -- Slack over HTTP: the routes sit beside /slack/events ---------------------------------------------


async def test_slack_http_app_serves_health_readiness_and_metrics_after_a_turn(
    runner: TripPlannerRunner, slack: SlackStandIn
) -> None:
    config = SlackConfig(bot_token=slack.bot_token, signing_secret=slack.signing_secret, api_url=slack.api_url, port=0, host="127.0.0.1")
    bot = SlackBot(runner, config, drain_timeout_s=10)
    await bot.start()
    base = f"http://127.0.0.1:{bot.http_port}"
    try:
        assert (await get(f"{base}/healthz"))[:2] == (200, "ok\n")
        assert (await get(f"{base}/readyz"))[:2] == (200, "ready\n")
        status, scrape, content_type = await get(f"{base}/metrics")
        assert status == 200 and content_type.startswith("text/plain") and "version=" in content_type
        assert sample(scrape, "trip_planner_turns_total", platform="slack", status="answered") is None
        assert sample(scrape, "trip_planner_opik_breaker_state", state="off") == 1.0  # Opik not configured

        event = slack.user_message(user=ALICE, channel=DM, text=LISBON)
        assert (await slack.send_event(f"{base}/slack/events", event))[0] == 200
        await wait_until(lambda: len(answers(slack, DM)) == 1 and bot.in_flight == 0, what="the answer")
        assert (await slack.send_event(f"{base}/slack/events", event))[0] == 200  # Slack's retry: a duplicate
        await eventually(base, "trip_planner_turns_total", 1.0, platform="slack", status="duplicate")
        reaction = slack.reaction_added(user=ALICE, channel=DM, ts=answers(slack, DM)[0]["ts"])
        assert (await slack.send_event(f"{base}/slack/events", reaction))[0] == 200
        await eventually(base, "trip_planner_feedback_total", 1.0, platform="slack", kind="satisfied")

        scrape = (await get(f"{base}/metrics"))[1]
        assert sample(scrape, "trip_planner_turns_total", platform="slack", status="answered") == 1.0
        assert sample(scrape, "trip_planner_turn_seconds_count", platform="slack") == 1.0
        assert (sample(scrape, "trip_planner_turn_seconds_sum", platform="slack") or 0) > 0
        assert sample(scrape, "trip_planner_queued_turns", platform="slack") == 0.0
        # Closed label sets only: nobody's ids or words.
        for private in (ALICE, DM, "Lisbon", slack.team_id):
            assert private not in scrape

        bot.pause()  # the first step of a SIGTERM: no new work, so not ready
        status, body, _ = await get(f"{base}/readyz")
        assert (status, body) == (503, "not taking work (starting or draining)\n")
        assert (await get(f"{base}/healthz"))[0] == 200  # alive all the same
    finally:
        await bot.stop()


async def test_socket_mode_serves_them_on_the_health_port(settings: Settings, slack: SlackStandIn) -> None:
    runner = TripPlannerRunner(replace(settings, health_port=0))
    await runner.start()
    bot = SlackBot(runner, SlackConfig(bot_token=slack.bot_token, app_token=slack.app_token, api_url=slack.api_url), drain_timeout_s=10)
    try:
        await bot.start()
        assert bot.health_server is not None and bot.health_server.port
        base = f"http://127.0.0.1:{bot.health_server.port}"
        assert (await get(f"{base}/readyz"))[0] == 200
        envelope = await slack.send_envelope(slack.event_callback(slack.user_message(user=ALICE, channel=DM, text=LISBON)))
        await asyncio.wait_for(envelope.acked.wait(), 5)
        await eventually(base, "trip_planner_turns_total", 1.0, platform="slack", status="answered")
        bot.pause()
        assert (await get(f"{base}/readyz"))[0] == 503
    finally:
        await bot.stop()
        await runner.close()
    with pytest.raises(aiohttp.ClientConnectionError):  # stopped with the bot
        await get(f"{base}/healthz")


async def test_http_mode_needs_no_health_port(runner: TripPlannerRunner, slack: SlackStandIn) -> None:
    bot = SlackBot(runner, SlackConfig(bot_token=slack.bot_token, app_token=slack.app_token, api_url=slack.api_url))
    await bot.start()
    try:
        assert bot.health_server is None  # TRIP_PLANNER_HEALTH_PORT unset: nothing extra listens
    finally:
        await bot.stop()


# -- Discord: the health port, and readiness falling while answers drain -------------------------------


@pytest.fixture
async def discord_standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(token=TOKEN) as standin:
        yield standin


async def test_discord_health_port_goes_unready_while_draining(discord_standin: DiscordStandIn, settings: Settings) -> None:
    async with running_bot(discord_standin, replace(settings, health_port=0)) as bot:
        server = bot.client.health_server
        assert server is not None and server.port
        base = f"http://127.0.0.1:{server.port}"
        assert (await get(f"{base}/readyz"))[:2] == (200, "ready\n")
        channel = discord_standin.dm_channel(DISCORD_ALICE)
        await discord_standin.send_dm(DISCORD_ALICE, "Plan a trip to Rome")
        await discord_standin.wait_until(lambda: discord_standin.sent_messages(channel), what="the first answer")
        await eventually(base, "trip_planner_turns_total", 1.0, platform="discord", status="answered")

        # An answer held in flight; a stop begins: the process drains and says it is not ready.
        gate = discord_standin.hold("POST", rf"/channels/{channel}/messages")
        await discord_standin.send_dm(DISCORD_ALICE, "And then Florence")
        await discord_standin.wait_until(lambda: len(discord_standin.calls_to("POST", rf"/channels/{channel}/messages")) == 2,
                                         what="the second answer to be on its way")
        bot.stop.set()
        for _ in range(500):
            if (await get(f"{base}/readyz"))[0] == 503:
                break
            await asyncio.sleep(0.02)
        assert (await get(f"{base}/readyz"))[0] == 503
        assert (await get(f"{base}/healthz"))[0] == 200
        gate.set()
        assert await bot.shutdown() == 0
        assert len(discord_standin.sent_messages(channel)) == 2
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(f"{base}/healthz")


# -- the runner's metrics over a bare health server -----------------------------------------------


@contextlib.asynccontextmanager
async def health_of(runner: TripPlannerRunner) -> AsyncIterator[str]:
    server = HealthServer(Health(runner), port=0, host="127.0.0.1")
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


async def test_queued_turns_and_recovered_messages(runner: TripPlannerRunner) -> None:
    async with health_of(runner) as base:
        channel = MemoryChannel(platform="console", fail_parts={("console:1", 0)})
        inflight = InFlight("test")
        # The second message waits behind the first in the person's queue; both count while there.
        first = Inbound(message_id="console:1", user_id="console:ann", text="Trip to Rome in June")
        second = Inbound(message_id="console:2", user_id="console:ann", text="And Naples after")
        assert await runner.take(first, channel, inflight) and await runner.take(second, channel, inflight)
        assert await metric(base, "trip_planner_queued_turns", platform="console") == 2.0
        assert await inflight.drain(30)
        assert await metric(base, "trip_planner_queued_turns", platform="console") == 0.0
        assert await metric(base, "trip_planner_turns_total", platform="console", status="answered") == 2.0
        # The first answer's post was refused: a sweep delivers it, and says so.
        assert await runner.recover(channel, force=True) == 1
        assert await metric(base, "trip_planner_recovered_messages_total", platform="console") == 1.0


async def test_turns_held_for_a_late_event_loop_are_counted(runner: TripPlannerRunner) -> None:
    async with health_of(runner) as base:
        assert await metric(base, "trip_planner_turns_held_total") == 0.0
        reply = await runner.ask("console:ann", "Trip to Rome in June")
        assert reply.status == "answered"
        assert await metric(base, "trip_planner_turns_held_total") == 0.0  # an idle loop holds nothing
        runner.pressure.late_s = -1.0  # from now on every look finds the loop late
        runner.pressure.longest_hold_s = 0.01
        reply = await runner.ask("console:ann", "And Naples after")
        assert reply.status == "answered"  # held, then started by the floor
        assert await metric(base, "trip_planner_turns_held_total") == 1.0


async def test_rejected_and_refused_turns_are_counted(runner: TripPlannerRunner) -> None:
    async with health_of(runner) as base:
        channel = MemoryChannel(platform="console")
        too_long = "x" * (runner.settings.max_message_chars + 1)
        for n, text in enumerate(("   ", too_long)):
            reply = await runner.handle(Inbound(message_id=f"console:{n}", user_id="console:bob", text=text), channel)
            assert reply.status == "rejected"
        assert await metric(base, "trip_planner_turns_total", platform="console", status="rejected") == 2.0
        # Over the per-minute limit: refused (stored as such, so counted once each).
        limit = runner.limits.per_minute
        for n in range(limit + 1):
            await runner.handle(Inbound(message_id=f"console:flood{n}", user_id="console:eve", text="Rome?"), channel)
        assert await metric(base, "trip_planner_turns_total", platform="console", status="refused") == 1.0
        # A script's own ids (`local:`) are "other", never the id itself.
        assert (await runner.ask("console:someone", "Trip to Oslo")).status == "answered"
        assert await metric(base, "trip_planner_turns_total", platform="other", status="answered") == 1.0


async def test_breaker_state_follows_the_opik_tracer(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    with OpikStandIn("ok") as opik:
        point_opik_at(monkeypatch, opik.url)
        runner = TripPlannerRunner(settings)
        await runner.start()
        try:
            async with health_of(runner) as base:
                assert await metric(base, "trip_planner_opik_breaker_state", state="closed") == 1.0
                assert await metric(base, "trip_planner_opik_breaker_state", state="off") == 0.0
        finally:
            await runner.close()
            runner.tracer.shutdown()  # type: ignore[attr-defined]


def test_breaker_state_is_one_of_a_closed_set() -> None:
    for state in ("closed", "open", "half_open"):
        scrape = Metrics(breaker=lambda state=state: state).render().decode()
        assert sample(scrape, "trip_planner_opik_breaker_state", state=state) == 1.0
        others = {"closed", "open", "half_open", "off"} - {state}
        assert all(sample(scrape, "trip_planner_opik_breaker_state", state=o) == 0.0 for o in others)


def test_health_port_setting() -> None:
    assert load_settings({}, dotenv=False).health_port is None
    assert load_settings({"TRIP_PLANNER_HEALTH_PORT": "8081"}, dotenv=False).health_port == 8081
    for bad in ("http", "0", "70000"):
        with pytest.raises(ConfigError, match="TRIP_PLANNER_HEALTH_PORT"):
            load_settings({"TRIP_PLANNER_HEALTH_PORT": bad}, dotenv=False)


# -- readiness when the database goes away (PostgreSQL through a proxy we can cut) ------------------


class TcpProxy:
    """Forwards 127.0.0.1:port to the database; `cut()` closes every connection and stops listening."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()


async def test_readiness_is_false_while_the_database_is_down(settings: Settings) -> None:
    """On PostgreSQL (a database reached over TCP, so a proxy can cut it); .ci/run always sets it."""
    from sqlalchemy.engine import make_url

    from tests.conftest import POSTGRES_URL, reset_postgres

    assert POSTGRES_URL, "TEST_DATABASE_URL not set (.ci/run sets it)"
    await reset_postgres(POSTGRES_URL)
    database_url = POSTGRES_URL

    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    runner = TripPlannerRunner(replace(settings, database_url=url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)))
    await runner.start()
    try:
        async with health_of(runner) as base:
            assert (await get(f"{base}/readyz"))[0] == 200
            await proxy.cut()
            status, body, _ = await get(f"{base}/readyz")
            assert (status, body) == (503, "database unreachable\n")
            assert (await get(f"{base}/healthz"))[0] == 200
    finally:
        with contextlib.suppress(Exception):
            await runner.close()
