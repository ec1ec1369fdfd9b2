"""Split roles (TRIP_PLANNER_ROLE): `receive` processes store and acknowledge, `answer` processes
take the stored messages and answer them (core/dispatch.py). On PostgreSQL, which they need.

The core's routines through the in-memory channel first, then Slack end to end: the real Bolt app in
a receive process, another SlackBot as the answer process, both against the Slack stand-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import select, update

from bots.slack import SlackBot, SlackConfig
from tests.channel_double import MemoryChannel
from tests.conftest import POSTGRES_URL, reset_postgres
from tests.standins.slack import SlackStandIn, slack_standin, wait_until  # noqa: F401  (the `slack` fixture)
from trip_planner.config import ConfigError, Settings, load_settings
from trip_planner.core.channel import Inbound
from trip_planner.core.dispatch import Dispatcher
from trip_planner.core.inflight import InFlight
from trip_planner.core.replies import FILES_NOTE, PLACEHOLDER
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.core.tables import inbound
from trip_planner.core.workers import STALE_S


@pytest.fixture
async def postgres_url() -> str:
    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL not set (.ci/run sets it)")
    await reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@contextlib.asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[TripPlannerRunner]:
    runner = TripPlannerRunner(settings)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.close()


async def holders(runner: TripPlannerRunner) -> dict[str, str | None]:
    async with runner.sessions.engine.connect() as conn:
        rows = (await conn.execute(select(inbound.c.message_id, inbound.c.worker_id))).all()
    return {row.message_id: row.worker_id for row in rows}


# -- configuration ---------------------------------------------------------------------------------


def test_split_roles_need_postgresql_and_a_known_name() -> None:
    pg = "postgresql+asyncpg://u@h/db"
    assert load_settings({}, dotenv=False).role == "both"
    assert load_settings({"TRIP_PLANNER_ROLE": "Receive", "DATABASE_URL": pg}, dotenv=False).role == "receive"
    assert not load_settings({"TRIP_PLANNER_ROLE": "receive", "DATABASE_URL": pg}, dotenv=False).answers_here
    assert load_settings({"TRIP_PLANNER_ROLE": "answer", "DATABASE_URL": pg}, dotenv=False).answers_here
    with pytest.raises(ConfigError, match="TRIP_PLANNER_ROLE=answer needs a PostgreSQL DATABASE_URL"):
        load_settings({"TRIP_PLANNER_ROLE": "answer"}, dotenv=False)
    with pytest.raises(ConfigError, match="use both, receive or answer"):
        load_settings({"TRIP_PLANNER_ROLE": "web", "DATABASE_URL": pg}, dotenv=False)


async def test_discord_refuses_a_split_role_with_the_fix() -> None:
    from bots.discord.run import run_discord

    settings = Settings(database_url="postgresql+asyncpg://u@h/db", role="answer")
    with pytest.raises(ConfigError, match="TRIP_PLANNER_ROLE=answer is for Slack only"):
        await run_discord(settings, env={})


# -- the core, through the in-memory channel ---------------------------------------------------------


async def test_what_a_receive_process_stores_an_answer_process_answers_once_in_order(postgres_url: str) -> None:
    """The answer process polls only once an hour here: it hears of each message by NOTIFY."""
    base = Settings(database_url=postgres_url, turn_timeout_s=20.0)
    channel = MemoryChannel()
    async with started(replace(base, role="receive")) as receiver, started(replace(base, role="answer")) as answerer:
        dispatcher = Dispatcher(answerer, channel, InFlight("t"), poll_s=3600.0)
        dispatching = asyncio.create_task(dispatcher.run())
        try:
            await asyncio.sleep(0.2)  # LISTEN is in place before the first message
            took = InFlight("receive")
            for n, (user, text) in enumerate([("t:ann", "Trip to Rome"), ("t:bob", "Trip to Oslo"), ("t:ann", "What hotels?")]):
                assert await receiver.take(Inbound(f"t:{n}", user, text), channel, took)
            assert len(took) == 0  # the receive process answers nothing itself
            await wait_until(lambda: len(channel.board) == 3, what="three answers")
            assert dispatcher.taken == 3
            posted = [c.message_id for c in channel.calls if c.kind == "post"]
            assert posted.index("t:0") < posted.index("t:2")  # one person's messages in order
            assert set((await holders(receiver)).values()) == {answerer.workers.worker_id}
            # Delivered once: a second look takes nothing, and the same delivery again is a duplicate.
            assert await answerer.workers.adopt_new(prefix="t:", limit=10) == []
            assert not await receiver.take(Inbound("t:1", "t:bob", "Trip to Oslo"), channel, took)
        finally:
            dispatching.cancel()
            await asyncio.gather(dispatching, return_exceptions=True)
    assert len([c for c in channel.calls if c.kind == "post"]) == 3


async def test_a_message_of_files_only_keeps_that_mark_on_its_way_through_the_database(postgres_url: str) -> None:
    base = Settings(database_url=postgres_url, turn_timeout_s=20.0)
    channel = MemoryChannel()
    async with started(replace(base, role="receive")) as receiver, started(replace(base, role="answer")) as answerer:
        assert await receiver.take(Inbound("t:f", "t:ann", "", attachments=True), channel, InFlight("r"))
        dispatcher = Dispatcher(answerer, channel, InFlight("t"), poll_s=0.05)
        dispatching = asyncio.create_task(dispatcher.run())
        try:
            await wait_until(lambda: "t:f" in channel.board, what="the answer")
        finally:
            dispatching.cancel()
            await asyncio.gather(dispatching, return_exceptions=True)
    assert channel.board["t:f"][0] == FILES_NOTE


async def test_the_recovery_sweep_leaves_fresh_unheld_messages_to_answer_processes(postgres_url: str) -> None:
    """Taken by a sweep only once no answer process took it within STALE_S (none is running)."""
    channel = MemoryChannel()
    async with started(Settings(database_url=postgres_url, turn_timeout_s=20.0)) as runner:
        assert await runner.sessions.store.claim_inbound(message_id="t:u", user_id="t:ann", text="Trip to Rome")
        assert await runner.recover(channel) == 0
        async with runner.sessions.engine.begin() as conn:
            await conn.execute(update(inbound).values(received_at=time.time() - STALE_S - 1))
        assert await runner.recover(channel) == 1
    assert list(channel.board) == ["t:u"]


async def test_two_answer_processes_share_a_backlog_without_taking_a_message_twice(postgres_url: str) -> None:
    base = Settings(database_url=postgres_url, turn_timeout_s=20.0, max_waiting_per_person=50, messages_per_minute=600)
    async with started(replace(base, role="receive")) as receiver, started(replace(base, role="answer")) as one, started(
        replace(base, role="answer")
    ) as two:
        for n in range(40):
            assert await receiver.take(Inbound(f"t:{n}", f"t:p{n % 8}", "Trip to Rome"), MemoryChannel(), InFlight("r"))
        first, second = await asyncio.gather(
            one.workers.adopt_new(prefix="t:", limit=25), two.workers.adopt_new(prefix="t:", limit=25)
        )
    ids = [r.message_id for r in first] + [r.message_id for r in second]
    assert sorted(ids) == sorted(f"t:{n}" for n in range(40))  # all taken, none twice
    assert len(first) <= 25 and len(second) <= 25


# -- Slack end to end ------------------------------------------------------------------------------


def _config(slack: SlackStandIn) -> SlackConfig:
    return SlackConfig(bot_token=slack.bot_token, signing_secret=slack.signing_secret, api_url=slack.api_url, port=0, host="127.0.0.1")


async def test_slack_receive_process_acknowledges_and_the_answer_process_posts(postgres_url: str, slack: SlackStandIn) -> None:
    base = Settings(database_url=postgres_url, turn_timeout_s=20.0)
    async with started(replace(base, role="receive")) as receiver, started(replace(base, role="answer")) as answerer:
        front, back = SlackBot(receiver, _config(slack), drain_timeout_s=5.0), SlackBot(answerer, _config(slack), drain_timeout_s=5.0)
        await front.start()
        await back.start()
        try:
            assert back.http_port is None  # takes no events
            url = f"http://127.0.0.1:{front.http_port}/slack/events"
            status, _ = await slack.send_event(url, slack.user_message(user="U0ANN00001", channel="D0ANNDM001", text="Trip to Lisbon in May"))
            assert status == 200
            assert front.in_flight == 0  # acknowledged and nothing running here

            def answered() -> bool:
                return any(m["text"] != PLACEHOLDER for m in slack.bot_messages("D0ANNDM001"))

            await wait_until(answered, what="the answer in the DM")
            assert "Lisbon" in slack.bot_messages("D0ANNDM001")[-1]["text"]
            assert set((await holders(receiver)).values()) == {answerer.workers.worker_id}
        finally:
            await front.stop()
            await back.stop()
