"""The core's answer streams, through an in-memory channel: chunks merged to the channel's pace and
whole words only, the stream's ref stored before anything more is shown, nothing sent after
`finish`, and the delivery handing the stream to the answer's first part (live and when recovering)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

from tests.channel_double import MemoryChannel
from tests.streaming_model import echo_stream_agent
from trip_planner.config import Settings
from trip_planner.core.answer_stream import AnswerStream, whole_words
from trip_planner.core.channel import PENDING_STREAM, Inbound, StreamStep, StreamUpdate
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.core.turns import inbound_of


@dataclass
class StreamingChannel(MemoryChannel):
    streams: bool = True
    stream_every_s: float = 0.05
    shown: list[tuple[str, str]] = field(default_factory=list)  # ("start" | "append", words)
    updates: list[StreamUpdate] = field(default_factory=list)
    stream_parts: list[str | None] = field(default_factory=list)  # the `stream` each part 0 was handed
    refuse: bool = False

    def can_stream(self, inbound: Inbound, progress: Any) -> bool:
        return not self.refuse

    async def start_stream(self, inbound: Inbound, progress: Any, update: StreamUpdate) -> str | None:
        self.shown.append(("start", update.text))
        self.updates.append(update)
        return f"stream:{inbound.message_id}"

    async def append_stream(self, inbound: Inbound, stream: str, update: StreamUpdate) -> bool:
        self.shown.append(("append", update.added))
        self.updates.append(update)
        return True

    async def post(self, inbound: Inbound, part: int, text: str, *, progress: Any = None, stream: str | None = None) -> str | None:
        if part == 0:
            self.stream_parts.append(stream)
        return await super().post(inbound, part, text, progress=progress)


INBOUND = Inbound(message_id="t:1", user_id="t:alice", text="hi")


def test_only_whole_words_are_shown() -> None:
    assert whole_words("Tell @chan") == "Tell "
    assert whole_words("one two\nthr") == "one two\n"
    assert whole_words("word") == ""


async def test_chunks_are_merged_to_the_channels_pace_and_the_ref_is_stored_first() -> None:
    channel = StreamingChannel()
    stored: list[tuple[str, int]] = []  # what was stored, and how many calls the channel had had then

    async def remember(ref: str) -> None:
        await asyncio.sleep(0.03)  # a slow write: nothing more may be shown meanwhile
        stored.append((ref, len(channel.shown)))

    stream = AnswerStream(channel, INBOUND, None, remember=remember)
    text = ""
    for n in range(40):  # a chunk every 5 ms: 200 ms in all, four times the channel's pace
        text += f"w{n} "
        stream.feed(text)
        await asyncio.sleep(0.005)
    assert await stream.finish() == "stream:t:1"
    after = len(channel.shown)
    stream.feed(text + "more words ")
    await asyncio.sleep(0.1)
    assert len(channel.shown) == after  # nothing after finish
    assert channel.shown[0][0] == "start" and all(kind == "append" for kind, _ in channel.shown[1:])
    assert 2 <= len(channel.shown) <= 8  # merged: far fewer calls than the 40 chunks
    assert "".join(t for _, t in channel.shown) == text[: len("".join(t for _, t in channel.shown))]
    # The mark before the start (a crash right after it leaves something to look for), the ref right
    # after it, before any append.
    assert stored == [(PENDING_STREAM, 0), ("stream:t:1", 1)]


async def test_a_channel_that_cannot_stream_here_gets_nothing_more() -> None:
    channel = StreamingChannel(refuse=True)
    stored: list[str] = []

    async def remember(ref: str) -> None:
        stored.append(ref)

    stream = AnswerStream(channel, INBOUND, None, remember=remember)
    for n in range(10):
        stream.feed("word " * (n + 1))
        await asyncio.sleep(0.01)
    assert await stream.finish() is None
    assert channel.shown == [] and stored == []  # not even the mark: answers that cannot stream cost no write


async def test_the_streamed_message_becomes_the_first_part_live_and_after_a_crash(settings: Settings) -> None:
    runner = TripPlannerRunner(replace(settings, turn_timeout_s=10), agent=echo_stream_agent(every_s=0.03))
    await runner.start()
    try:
        channel = StreamingChannel()
        inbound = Inbound(message_id="t:live", user_id="t:alice", text="one two three four five six seven eight nine ten")
        reply = await runner.handle(inbound, channel)
        assert reply.text == inbound.text  # the stored answer is the final text
        assert channel.stream_parts == ["stream:t:live"] and channel.board["t:live"][0] == inbound.text
        record = await runner.sessions.store.get_inbound(message_id="t:live")
        assert record is not None and record.answer == inbound.text
        recovered = inbound_of(record)
        assert recovered.stream == "stream:t:live" and "_stream" not in recovered.reply_to

        # A message whose stream was stored but whose answer never went out: the sweep hands it on.
        await runner.sessions.store.claim_inbound(message_id="t:cut", user_id="t:bob", text="hello there friend",
                                                  reply_to={"where": "here"})
        await runner.sessions.store.note_stream(message_id="t:cut", stream="stream:t:cut")
        assert await runner.recover(channel, force=True) == 1
        assert channel.stream_parts[-1] == "stream:t:cut"
    finally:
        await runner.close()


async def test_steps_show_with_the_first_words_and_live_after_them() -> None:
    channel = StreamingChannel()

    async def remember(ref: str) -> None:
        return None

    stream = AnswerStream(channel, INBOUND, None, remember=remember)
    stream.step("Estimating flights from London")
    stream.step("Estimating flights from London")  # the same work again is not a new step
    stream.step("Checking hotels in Kyoto")
    await asyncio.sleep(0.08)
    assert channel.updates == []  # no words yet: nothing streams (a model that does not stream never does)
    stream.feed("Here is your plan ")
    await asyncio.sleep(0.08)
    stream.step("Adding up the budget")
    await asyncio.sleep(0.08)
    stream.feed("Here is your plan and the budget ")
    await asyncio.sleep(0.08)
    await stream.finish()
    first, second, third = channel.updates
    assert first.text == "Here is your plan " and first.changed == (
        StreamStep("step-1", "Estimating flights from London", done=True), StreamStep("step-2", "Checking hotels in Kyoto", done=True))
    assert second.added == "" and second.changed == (StreamStep("step-3", "Adding up the budget"),)
    assert third.added == "and the budget " and third.changed == (StreamStep("step-3", "Adding up the budget", done=True),)
