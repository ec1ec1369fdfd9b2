"""Chaos: a `trip-planner slack` worker streaming a Gemini answer (through the stand-in's
streamGenerateContent?alt=sse) is SIGKILLed mid-answer, after a random number of chunks; the worker
that takes its place must turn the half-written message into the answer, in place: one message in
the thread, never a second one. The seed is printed; CHAOS_SEED replays a run."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.standins.gemini import GeminiStandIn, say
from tests.standins.slack import SlackStandIn, wait_until
from tests.test_chaos_slack import POSTING, Worker, _env, _free_port, _seed, _wait_listening
from tests.test_streaming_slack import PLAN

ALICE, DM = "U0ALICE001", "D0ALICEDM1"


@pytest.mark.timeout(120)
async def test_a_worker_killed_mid_stream_leaves_one_answer_in_place(tmp_path: Path) -> None:
    seed = _seed()
    print(f"chaos seed {seed} (CHAOS_SEED={seed} replays it)")
    cut_after = random.Random(seed).randint(1, 4)  # stream calls seen before the kill
    gemini, slack = GeminiStandIn(), SlackStandIn()
    await gemini.start()
    await slack.start()
    gemini.words_per_chunk, gemini.stream_every_s = 2, 0.25  # about 5 s of words
    gemini.plan(say(PLAN), say(PLAN))  # the cut turn, then the recovered one
    worker = Worker("web.0", _free_port(), {}, tmp_path / "web.0.log")
    worker.env = _env(slack, f"sqlite+aiosqlite:///{tmp_path / 'chaos.db'}", worker.name, worker.port)
    worker.env.pop("GOOGLE_GENAI_USE_VERTEXAI", None)
    worker.env.update(TRIP_PLANNER_MODEL="gemini-2.5-flash", GOOGLE_API_KEY="test-key",
                      GOOGLE_GEMINI_BASE_URL=gemini.base_url, SLACK_AGENT_VIEW="true")
    try:
        await worker.start()
        await _wait_listening([worker])
        await wait_until(lambda: slack.calls_to("auth.test"), timeout=60, what="the worker's auth.test")
        message = slack.user_message(user=ALICE, channel=DM, text="Plan Lisbon in May")
        status, _ = await slack.send_event(worker.url, message)
        assert status == 200

        def stream_calls() -> int:
            return len(slack.calls_to("chat.startStream")) + len(slack.calls_to("chat.appendStream"))

        await wait_until(lambda: stream_calls() >= cut_after, timeout=30, what=f"{cut_after} stream call(s)")
        await worker.kill()
        [cut] = slack.bot_messages(DM, thread_ts=message["ts"])
        assert (DM, cut["ts"]) in slack.streaming and "metadata" not in cut  # half-written, still open

        await worker.start()  # the same name: it takes over the dead worker's message at once

        def answered() -> bool:
            found = slack.bot_messages(DM, thread_ts=message["ts"])
            return any((m.get("metadata") or {}).get("event_type") == POSTING for m in found)

        await wait_until(answered, timeout=60, what="the recovered answer")
        await wait_until(lambda: not slack.statuses, timeout=10, what="no status line left")
        [answer] = slack.bot_messages(DM, thread_ts=message["ts"])  # in place: the same message, only one
        assert answer["ts"] == cut["ts"] and "*slow*" in answer["text"] and (DM, answer["ts"]) not in slack.streaming
        assert answer["metadata"]["event_payload"]["part"] == "0"
        assert slack.calls_to("chat.postMessage") == []
    finally:
        await worker.stop()
        await slack.close()
        await gemini.stop()
