"""The core's routines through the in-memory channel: delivery, recovery, catch-up, drain, the
deadline helper, thread subscriptions, the restart words and notes. No platform involved."""

from __future__ import annotations

import asyncio

import pytest

from tests.channel_double import MemoryChannel
from trip_planner.core import replies
from trip_planner.core.catch_up import CatchUp
from trip_planner.core.channel import Inbound
from trip_planner.core.deadline import reply_within
from trip_planner.core.inflight import InFlight
from trip_planner.core.messages import Reaction
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.core.splitting import split_markdown

LONG = "\n\n".join(f"Day {i}: " + "walk and eat " * 8 for i in range(1, 15))


def inbound(n: int, text: str = "Trip to Rome in June", user: str = "t:u1", **extra: object) -> Inbound:
    return Inbound(message_id=f"t:{n}", user_id=user, text=text, **extra)  # type: ignore[arg-type]


async def test_delivery_posts_parts_in_order_remembers_each_and_marks_delivered(runner: TripPlannerRunner) -> None:
    channel = MemoryChannel(limit=200)
    reply = await runner.handle(inbound(1), channel)
    assert reply.status == "answered"
    posts = channel.posts("t:1")
    assert [c.part for c in posts] == list(range(len(posts))) and len(posts) > 1
    assert [c.kind for c in channel.calls][:1] == ["progress"] and channel.calls[-1].kind == "clear"
    for call in posts:  # every part is an answer a 👍 counts on
        assert await runner.conversation_of(f"t:1#{call.part}") == reply.conversation_id
    record = await runner.sessions.store.get_inbound(message_id="t:1")
    assert record is not None and record.delivered_at is not None


async def test_a_refused_part_stops_the_rest_and_the_sweep_finishes_it_in_order(runner: TripPlannerRunner) -> None:
    channel = MemoryChannel(limit=200, fail_parts={("t:1", 1)})
    await runner.handle(inbound(1), channel)
    assert [c.part for c in channel.posts("t:1")] == [0, 1]  # part 2 and later wait
    record = await runner.sessions.store.get_inbound(message_id="t:1")
    assert record is not None and record.delivered_at is None
    assert await runner.recover(channel, force=True) == 1
    # Part 0 was already there (the channel said so); 1 and the rest are posted now, in order.
    later = [c.part for c in channel.posts("t:1")][2:]
    assert later == list(range(1, len(later) + 1))
    assert await runner.recover(channel, force=True) == 0


async def test_a_place_that_is_gone_is_given_up_once_loudly(runner: TripPlannerRunner, caplog: pytest.LogCaptureFixture) -> None:
    channel = MemoryChannel(gone={"t:1"})
    await runner.handle(inbound(1), channel)
    assert any("Giving up on the answer to message t:1" in r.getMessage() for r in caplog.records)
    assert await runner.recover(channel, force=True) == 0
    assert len(channel.posts("t:1")) == 1


async def test_recovery_does_not_post_when_the_platform_cannot_say_what_it_has(runner: TripPlannerRunner) -> None:
    channel = MemoryChannel(raise_on_post=ConnectionError)
    await runner.handle(inbound(1), channel)
    channel.raise_on_post, channel.blind = None, True
    assert await runner.recover(channel, force=True) == 0
    assert len(channel.posts("t:1")) == 1  # only the failed live attempt
    channel.blind = False
    assert await runner.recover(channel, force=True) == 1


async def test_notes_and_restart_words_go_through_the_core_with_no_progress(runner: TripPlannerRunner) -> None:
    channel = MemoryChannel()
    first = await runner.handle(inbound(1), channel)
    files = await runner.handle(inbound(2, "", attachments=True), channel)
    assert files.text == replies.FILES_NOTE and channel.answer("t:2") == replies.FILES_NOTE
    restart = await runner.handle(inbound(3, "Start over!"), channel)
    assert restart.text == replies.NEW_TRIP and restart.conversation_id != first.conversation_id
    progress = [c.message_id for c in channel.calls if c.kind == "progress"]
    assert progress == ["t:1"], "a note needs no 'working on it'"
    # A redelivery of the restart message starts nothing new: the core stored it.
    assert (await runner.handle(inbound(3, "Start over!"), channel)).duplicate
    current = await runner.sessions.current_conversation("t:u1")
    assert current is not None and current.conversation_id == restart.conversation_id


async def test_a_thread_is_followed_from_the_moment_its_first_message_is_stored(runner: TripPlannerRunner) -> None:
    assert not await runner.follows("t:thread-1")
    accepted = await runner.accept(inbound(1, follows="t:thread-1"))
    assert accepted is not None
    assert await runner.follows("t:thread-1")  # before any answer: a quick follow-up counts
    await runner.answer(accepted)
    assert not await runner.follows("t:thread-2")


async def test_storage_down_mid_turn_shows_an_apology_in_place_of_progress(runner: TripPlannerRunner) -> None:
    channel = MemoryChannel()
    accepted = await runner.accept(inbound(1))
    assert accepted is not None

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise ConnectionError("database down")

    # The turn has started (progress shown) when the conversation is read: the database goes away then.
    runner.sessions.conversation_for_turn = broken  # type: ignore[method-assign,assignment]
    reply = await runner.answer(accepted, channel)
    assert reply.text == replies.APOLOGY
    assert [c.kind for c in channel.calls] == ["progress", "note"]


async def test_catch_up_takes_what_no_process_received_once(runner: TripPlannerRunner) -> None:
    channel = MemoryChannel()
    await runner.handle(inbound(1, place="t:dm"), channel)
    missed = [inbound(2, "What hotels?", place="t:dm"), inbound(3, "And museums?", place="t:dm")]
    channel.history["t:dm"] = missed
    inflight = InFlight("t")
    catch_up = CatchUp(runner, channel, inflight, wait_for_answers=True)
    assert await catch_up.run() == 2
    assert "t:2" in channel.board and "t:3" in channel.board
    assert await catch_up.run() == 0  # read again: all stored, nothing answered twice
    assert [c.part for c in channel.posts("t:3")] == [0]


async def test_drain_waits_for_work_in_flight_then_cancels_what_is_left() -> None:
    inflight = InFlight("t")
    done: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.01)
        done.append("quick")

    async def stuck() -> None:
        await asyncio.Event().wait()

    inflight.spawn(quick(), "quick")
    task = inflight.spawn(stuck(), "stuck")
    assert await inflight.drain(0.2) is False
    assert done == ["quick"] and task.cancelled() and not inflight.accepting and len(inflight) == 0


async def test_reply_within_answers_at_once_or_defers_and_follows_up() -> None:
    said: list[str] = []

    async def reply(text: str) -> None:
        said.append(f"reply:{text}")

    async def defer() -> None:
        said.append("defer")

    async def follow_up(text: str) -> None:
        said.append(f"follow:{text}")

    async def quick() -> str:
        return "done"

    async def slow() -> str:
        await asyncio.sleep(0.2)
        return "later"

    async def broken() -> str:
        raise RuntimeError("boom")

    await reply_within(quick(), deadline_s=1, reply=reply, defer=defer, follow_up=follow_up)
    await reply_within(slow(), deadline_s=0.01, reply=reply, defer=defer, follow_up=follow_up)
    await reply_within(broken(), deadline_s=1, reply=reply, defer=defer, follow_up=follow_up)
    assert said == ["reply:done", "defer", "follow:later", f"reply:{replies.COMMAND_FAILED}"]


async def test_commands_are_answered_by_the_core_in_the_same_words_everywhere(runner: TripPlannerRunner) -> None:
    assert await runner.command("t:u1", "end") == replies.NOTHING_TO_END
    await runner.ask("t:u1", "Trip to Rome")
    assert await runner.command("t:u1", "end") == replies.SATISFIED
    assert await runner.command("t:u1", "new") == replies.NEW_TRIP


async def test_a_thumbs_up_on_a_part_of_a_fresh_answer_closes_the_trip(runner: TripPlannerRunner) -> None:
    channel = MemoryChannel(limit=200)
    await runner.handle(inbound(1), channel)
    assert await runner.react(Reaction("t:u1", "t:1#1", "+1")) == "satisfied"


@pytest.mark.parametrize("limit", [50, 64, 2000, 3000])
def test_the_one_splitter_keeps_fences_and_lines(limit: int) -> None:
    text = "Intro line\n\n```python\n" + "\n".join(f"x = {i}" for i in range(300)) + "\n```\n\n" + LONG
    pieces = split_markdown(text, limit)
    assert all(len(p) <= limit for p in pieces)
    assert all(p.count("```") % 2 == 0 for p in pieces), "every piece renders on its own"
    assert split_markdown("  \n ", limit) == []


async def test_feedback_controls_go_on_an_answers_last_part_only_and_only_where_declared(runner: TripPlannerRunner) -> None:
    """`feedback_controls`: the core asks for buttons on the last part of an answer in a conversation
    (not on a rejection, which ends nothing), and never passes the keyword to a channel without them."""

    class WithControls(MemoryChannel):
        feedback_controls = True

        def __init__(self, **kwargs: object) -> None:
            super().__init__(**kwargs)  # type: ignore[arg-type]
            self.controls: dict[tuple[str, int], bool] = {}

        async def post(self, inbound: Inbound, part: int, text: str, *, progress: object = None, controls: bool = False) -> str | None:
            self.controls[(inbound.message_id, part)] = controls
            return await super().post(inbound, part, text, progress=progress)

    channel = WithControls(limit=200)
    await runner.handle(inbound(1), channel)
    parts = sorted(p for (m, p) in channel.controls if m == "t:1")
    assert len(parts) > 1 and [channel.controls[("t:1", p)] for p in parts] == [False] * (len(parts) - 1) + [True]
    await runner.handle(inbound(2, text=""), channel)  # rejected: "what would you like to plan?"
    assert channel.controls[("t:2", 0)] is False
    plain = MemoryChannel(limit=200)  # its `post` takes no `controls`: it would raise if passed one
    assert (await runner.handle(inbound(3), plain)).status == "answered" and plain.answer("t:3")
