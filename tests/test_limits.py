"""Per-person limits and the process-wide cap, through the in-memory channel."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from tests.channel_double import MemoryChannel
from trip_planner.config import Settings
from trip_planner.core import replies
from trip_planner.core.channel import Inbound
from trip_planner.core.runner import TripPlannerRunner


async def _runner(settings: Settings, **changes: object) -> TripPlannerRunner:
    r = TripPlannerRunner(replace(settings, **changes))  # type: ignore[arg-type]
    await r.start()
    return r


async def test_a_backlog_past_the_limit_is_refused_once_and_never_answered(settings: Settings) -> None:
    r = await _runner(settings, max_waiting_per_person=2)
    channel = MemoryChannel()
    try:
        accepted = [await r.accept(Inbound(f"t:{n}", "t:u", f"Trip to Rome, question {n}")) for n in range(5)]
        assert all(a is not None for a in accepted)
        replies_ = await asyncio.gather(*(r.answer(a, channel) for a in accepted if a is not None))
        assert [x.status for x in replies_] == ["answered", "answered", "refused", "refused", "refused"]
        # One short reply for the burst, no model work for any refused message.
        assert channel.answer("t:2") == replies.BUSY and "t:3" not in channel.board and "t:4" not in channel.board
        assert await r.sessions.get_query_count("t:u") == 2
        # Stored as refused: a redelivery, or a sweep, answers nothing.
        assert (await r.handle(Inbound("t:3", "t:u", "again"), channel)).duplicate
        assert await r.recover(channel) == 0
        record = await r.sessions.store.get_inbound(message_id="t:4")
        assert record is not None and record.status == "refused" and record.delivered_at is not None
        # Another person is not affected.
        assert (await r.handle(Inbound("t:other", "t:v", "Trip to Oslo"), channel)).status == "answered"
    finally:
        await r.close()


async def test_more_than_the_rate_in_a_minute_is_refused(settings: Settings) -> None:
    r = await _runner(settings, messages_per_minute=3)
    channel = MemoryChannel()
    try:
        statuses = [(await r.handle(Inbound(f"t:{n}", "t:u", "Trip to Rome"), channel)).status for n in range(5)]
        assert statuses == ["answered"] * 3 + ["refused"] * 2
        assert channel.answer("t:3") == replies.SLOW_DOWN and "t:4" not in channel.board
    finally:
        await r.close()


async def test_new_trips_per_hour_are_bounded(settings: Settings) -> None:
    r = await _runner(settings, new_trips_per_hour=2)
    try:
        assert await r.command("t:u", "new") == replies.NEW_TRIP
        assert await r.command("t:u", "new") == replies.NEW_TRIP
        assert await r.command("t:u", "new") == replies.TOO_MANY_TRIPS
        assert (await r.ask("t:u", "start over")).text == replies.TOO_MANY_TRIPS
    finally:
        await r.close()


async def test_progress_appears_when_a_persons_turn_starts_not_when_queued(settings: Settings) -> None:
    r = await _runner(settings)
    channel = MemoryChannel()
    try:
        first = await r.accept(Inbound("t:1", "t:u", "Trip to Rome in June"))
        second = await r.accept(Inbound("t:2", "t:u", "What hotels?"))
        assert first is not None and second is not None
        await asyncio.gather(r.answer(first, channel), r.answer(second, channel))
        order = [(c.kind, c.message_id) for c in channel.calls if c.kind in ("progress", "post")]
        assert order == [("progress", "t:1"), ("post", "t:1"), ("progress", "t:2"), ("post", "t:2")]
    finally:
        await r.close()


async def test_turns_at_once_are_capped_process_wide(settings: Settings) -> None:
    r = await _runner(settings, max_concurrent_turns=2)
    running = peak = 0
    original = r._run

    async def counting(user_id: str, session_id: str, text: str, *rest: Any) -> tuple[str, bool]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await asyncio.sleep(0.05)
            return await original(user_id, session_id, text, *rest)
        finally:
            running -= 1

    r._run = counting  # type: ignore[method-assign]
    try:
        answers = await asyncio.gather(*(r.ask(f"t:u{n}", "Trip to Rome") for n in range(6)))
        assert all(a.status == "answered" for a in answers) and peak == 2
    finally:
        await r.close()
