"""TripPlannerRunner: the pipeline every adapter feeds, end to end on the offline model."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

import pytest

from tests.channel_double import MemoryChannel
from tests.flaky_model import FlakyModel
from trip_planner.core.channel import Inbound
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core.messages import Reaction, Reply
from trip_planner.core.replies import APOLOGY, EMPTY_PROMPT, TIMEOUT_APOLOGY
from trip_planner.core.conversation_control import reaction_kind
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.core.store import inbound

SEED = [
    "I want to plan a trip to Paris in March 2025",
    "What's the weather like in March?",
    "What if I increase my budget to $2,000?",
]


async def _runner(url: str, **changes: object) -> TripPlannerRunner:
    # Per-person limits off: these tests send one person's messages in bursts on purpose.
    base = Settings(database_url=url, turn_timeout_s=30.0, max_waiting_per_person=1000, messages_per_minute=1000)
    r = TripPlannerRunner(replace(base, **changes))  # type: ignore[arg-type]
    await r.start()
    return r


async def test_seed_conversation_keeps_context(runner: TripPlannerRunner) -> None:
    first = await runner.ask("console:alice", SEED[0])
    assert first.status == "answered" and "Paris" in first.text
    second = await runner.ask("console:alice", SEED[1])
    assert "Paris" in second.text and "March" in second.text and "°C" in second.text
    third = await runner.ask("console:alice", SEED[2])
    assert "Paris" in third.text and "$2,000" in third.text
    assert third.conversation_id == first.conversation_id
    assert (first.query_num, second.query_num, third.query_num) == (1, 2, 3)
    assert await runner.sessions.get_query_count("console:alice") == 3


async def test_restart_continues_the_conversation(database_url: str) -> None:
    r1 = await _runner(database_url)
    first = await r1.ask("console:bob", SEED[0])
    await r1.ask("console:bob", SEED[1])
    await r1.close()

    r2 = await _runner(database_url)
    try:
        third = await r2.ask("console:bob", SEED[2])
        assert "Paris" in third.text and "$2,000" in third.text
        assert third.conversation_id == first.conversation_id
        assert third.query_num == 3
        assert await r2.sessions.get_query_count("console:bob") == 3
    finally:
        await r2.close()


async def test_twenty_concurrent_turns_for_one_user_run_in_order(database_url: str) -> None:
    r = await _runner(database_url)
    try:
        await r.ask("u", "I want to go to Lisbon")
        replies = await asyncio.gather(*(r.ask("u", f"What about {n} days?") for n in range(1, 21)))
        assert all(rep.status == "answered" for rep in replies), [rep.text for rep in replies if rep.status != "answered"]
        assert [rep.query_num for rep in replies] == list(range(2, 22))
        queries = await r.sessions.get_queries("u")
        assert [q["query"] for q in queries[1:]] == [f"What about {n} days?" for n in range(1, 21)]
        session = await r.sessions.get_or_create_session("u")
        full = await r.sessions.get_session_service().get_session(
            app_name=r.settings.app_name, user_id="u", session_id=session.id
        )
        assert full is not None
        user_texts = [e.content.parts[0].text for e in full.events if e.author == "user" and e.content and e.content.parts]
        assert user_texts == ["I want to go to Lisbon"] + [f"What about {n} days?" for n in range(1, 21)]
        assert len(r.locks) == 0
    finally:
        await r.close()


async def test_twenty_concurrent_first_messages_make_one_conversation(database_url: str) -> None:
    r = await _runner(database_url)
    try:
        replies = await asyncio.gather(*(r.ask("fresh", f"Trip to Rome, {n} days") for n in range(1, 21)))
        assert len({rep.conversation_id for rep in replies}) == 1
        assert sorted(rep.query_num or 0 for rep in replies) == list(range(1, 21))
    finally:
        await r.close()


async def test_users_never_see_each_others_turns(runner: TripPlannerRunner) -> None:
    a, b = await asyncio.gather(
        runner.ask("slack:T1:C1:U1", "I want to plan a trip to Tokyo"),
        runner.ask("slack:T1:C1:U2", "I want to plan a trip to Lisbon"),
    )
    assert "Tokyo" in a.text and "Lisbon" not in a.text
    assert "Lisbon" in b.text and "Tokyo" not in b.text
    a2 = await runner.ask("slack:T1:C1:U1", "What would it cost?")
    assert "Tokyo" in a2.text and "Lisbon" not in a2.text
    assert a.conversation_id != b.conversation_id


async def test_a_repeated_message_id_gets_no_second_answer_even_after_restart(database_url: str) -> None:
    r1 = await _runner(database_url)
    first = await r1.ask("u", SEED[0], message_id="slack:T1:C1:1700000000.000100")
    again = await r1.ask("u", SEED[0], message_id="slack:T1:C1:1700000000.000100")
    assert first.status == "answered"
    assert again.duplicate and again.text == first.text
    await r1.close()
    r2 = await _runner(database_url)
    try:
        after = await r2.ask("u", SEED[0], message_id="slack:T1:C1:1700000000.000100")
        assert after.duplicate
        assert await r2.sessions.get_query_count("u") == 1
    finally:
        await r2.close()


async def test_concurrent_deliveries_of_one_message_answer_once(runner: TripPlannerRunner) -> None:
    replies = await asyncio.gather(*(runner.ask("u", SEED[0], message_id="discord:42") for _ in range(5)))
    assert [rep.status for rep in replies].count("answered") == 1
    assert [rep.status for rep in replies].count("duplicate") == 4
    assert await runner.sessions.get_query_count("u") == 1


async def test_inbound_is_persisted_before_the_model_runs(sqlite_url: str) -> None:
    r = TripPlannerRunner(
        Settings(database_url=sqlite_url, turn_timeout_s=30.0),
        agent=build_concierge(FlakyModel()),
    )
    await r.start()
    try:
        task = asyncio.create_task(r.ask("u", "HANG on", message_id="m-1", reply_to={"channel": "D1"}))
        for _ in range(200):
            record = await r.sessions.store.get_inbound(message_id="m-1")
            if record is not None:
                break
            await asyncio.sleep(0.01)
        assert record is not None and record.status == "received" and record.reply_to == {"channel": "D1"}
        pending = await r.unanswered_messages()
        assert [p.message_id for p in pending] == ["m-1"]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await r.close()


async def test_model_failure_gets_an_apology_and_the_session_recovers(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    r = TripPlannerRunner(
        Settings(database_url=sqlite_url, turn_timeout_s=30.0),
        agent=build_concierge(FlakyModel()),
    )
    await r.start()
    try:
        ok = await r.ask("u", "I want to plan a trip to Paris in March")
        with caplog.at_level(logging.ERROR):
            failed = await r.ask("u", "EXPLODE please", message_id="m-fail")
        assert failed.status == "failed" and failed.text == APOLOGY
        assert ok.conversation_id and ok.conversation_id in caplog.text
        record = await r.sessions.store.get_inbound(message_id="m-fail")
        assert record is not None and record.status == "failed"
        after = await r.ask("u", "What's the weather like?")
        assert after.status == "answered" and "Paris" in after.text and "March" in after.text
    finally:
        await r.close()


async def test_turn_deadline_gets_an_apology_and_the_session_recovers(sqlite_url: str) -> None:
    r = TripPlannerRunner(
        Settings(database_url=sqlite_url, turn_timeout_s=0.5),
        agent=build_concierge(FlakyModel()),
    )
    await r.start()
    try:
        await r.ask("u", "Trip to Rome in May")
        late = await r.ask("u", "HANG")
        assert late.status == "failed" and late.text == TIMEOUT_APOLOGY
        after = await r.ask("u", "How much would it cost?")
        assert after.status == "answered" and "Rome" in after.text
    finally:
        await r.close()


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\x00\x07"])
async def test_empty_input_gets_a_prompt_without_the_model(runner: TripPlannerRunner, text: str) -> None:
    reply = await runner.ask("u", text)
    assert reply.status == "rejected" and reply.text == EMPTY_PROMPT
    assert await runner.sessions.current_conversation("u") is None  # no model work, no conversation


async def test_too_long_input_is_refused_with_the_limit(sqlite_url: str) -> None:
    r = await _runner(sqlite_url, max_message_chars=100)
    try:
        reply = await r.ask("u", "Paris " * 40)
        assert reply.status == "rejected" and "100" in reply.text
        assert await r.sessions.current_conversation("u") is None
        ok = await r.ask("u", "Paris " * 10)
        assert ok.status == "answered"
    finally:
        await r.close()


async def test_control_characters_are_stripped(runner: TripPlannerRunner) -> None:
    reply = await runner.ask("u", "Trip to Pa\x00ris\x1b in June")
    assert reply.status == "answered" and "Paris" in reply.text
    assert (await runner.sessions.get_queries("u"))[0]["query"] == "Trip to Paris in June"


async def test_new_and_end_conversation(runner: TripPlannerRunner) -> None:
    first = await runner.ask("u", "Trip to Rome")
    new_conv = await runner.new_conversation("u")
    assert new_conv != first.conversation_id
    fresh = await runner.ask("u", "How much would it cost?")
    assert fresh.conversation_id == new_conv and "Rome" not in fresh.text
    assert await runner.end_conversation("u", "satisfied") is True
    assert await runner.end_conversation("u", "satisfied") is False


@pytest.mark.parametrize(
    ("emoji", "kind"),
    [("+1", "satisfied"), ("thumbsup", "satisfied"), ("+1::skin-tone-3", "satisfied"), ("👍", "satisfied"),
     ("👍🏽", "satisfied"), ("-1", "unsatisfied"), ("👎", "unsatisfied"), ("heart", None), ("tada", None)],
)
def test_reaction_kinds(emoji: str, kind: str | None) -> None:
    assert reaction_kind(emoji) == kind


async def test_thumbs_up_on_an_answer_ends_the_conversation(runner: TripPlannerRunner) -> None:
    reply = await runner.ask("u", "Trip to Rome")
    assert reply.conversation_id
    await runner.remember_answer(user_id="u", conversation_id=reply.conversation_id, message_ref="ref-1")
    assert await runner.react(Reaction("someone-else", "ref-1", "+1")) == "ignored"
    assert await runner.react(Reaction("u", "unknown-ref", "+1")) == "ignored"
    assert await runner.react(Reaction("u", "ref-1", "heart")) == "ignored"
    assert await runner.react(Reaction("u", "ref-1", "-1")) == "unsatisfied"
    record = await runner.sessions.store.get_conversation(conversation_id=reply.conversation_id)
    assert record is not None and record.active and record.feedback == "unsatisfied"
    assert await runner.react(Reaction("u", "ref-1", "+1::skin-tone-2")) == "satisfied"
    record = await runner.sessions.store.get_conversation(conversation_id=reply.conversation_id)
    assert record is not None and (record.status, record.end_reason, record.feedback) == ("ended", "satisfied", "satisfied")
    # An answer from an ended conversation does nothing to the next one.
    nxt = await runner.ask("u", "Trip to Lisbon")
    assert await runner.react(Reaction("u", "ref-1", "+1")) == "ignored"
    assert (await runner.sessions.current_conversation("u")).conversation_id == nxt.conversation_id  # type: ignore[union-attr]


async def test_accept_stores_the_message_and_answer_runs_turns_in_arrival_order(runner: TripPlannerRunner) -> None:
    """Adapters that must acknowledge quickly store with `accept` first and answer later."""
    first = await runner.accept(Inbound("t:1", "u", "Trip to Rome in June"))
    assert first is not None
    assert [r.message_id for r in await runner.unanswered_messages()] == ["t:1"]  # safe before any model work
    assert await runner.accept(Inbound("t:1", "u", "Trip to Rome in June")) is None  # a redelivery
    second = await runner.accept(Inbound("t:2", "u", "What hotels?"))
    assert second is not None
    later = asyncio.create_task(runner.answer(second))  # started first, still runs second
    reply = await runner.answer(first)
    follow = await later
    assert (reply.query_num, follow.query_num) == (1, 2)
    assert "Rome" in follow.text
    assert len(runner.locks) == 0  # both places in the queue were given back


async def test_a_thumbs_up_while_the_answer_is_being_recorded_still_counts(runner: TripPlannerRunner) -> None:
    """The platform shows an answer before the adapter has recorded its message id; a 👍 in that gap
    waits for the record instead of being ignored."""
    reply = await runner.ask("u", "Trip to Rome")
    assert reply.conversation_id
    async with runner.posting("u"):
        # the answer is on screen now; the person reacts before the adapter has called remember_answer
        reaction = asyncio.create_task(runner.react(Reaction("u", "ref-posted", "+1")))
        done, _ = await asyncio.wait({reaction}, timeout=0.5)
        assert not done, "the reaction was judged before the answer it is on was recorded"
        await runner.remember_answer(user_id="u", conversation_id=reply.conversation_id, message_ref="ref-posted")
    assert await reaction == "satisfied"
    assert await runner.sessions.current_conversation("u") is None
    assert len(runner.deliveries.gate) == 0  # nothing kept per user once delivered


async def test_a_reaction_by_someone_else_does_not_wait_for_a_delivery(runner: TripPlannerRunner) -> None:
    reply = await runner.ask("u", "Trip to Rome")
    assert reply.conversation_id
    await runner.remember_answer(user_id="u", conversation_id=reply.conversation_id, message_ref="ref-1")
    async with runner.posting("u"):
        assert await asyncio.wait_for(runner.react(Reaction("other", "ref-1", "+1")), 5) == "ignored"


async def _worker_row(r: TripPlannerRunner, worker_id: str, *, age_s: float) -> None:
    """A worker row as another process leaves it: beating `age_s` ago (stale past 10 s)."""
    from sqlalchemy import insert as sql_insert

    from trip_planner.core.tables import workers

    async with r.sessions.store.engine.begin() as conn:
        await conn.execute(sql_insert(workers).values(worker_id=worker_id, started_at=time.time() - age_s, heartbeat_at=time.time() - age_s))


async def test_recovery_takes_what_a_dead_worker_left_and_never_a_live_workers_work(sqlite_url: str) -> None:
    r = await _runner(sqlite_url)
    channel = MemoryChannel()
    store = r.sessions.store
    try:
        await _worker_row(r, "other:live", age_s=1)
        await _worker_row(r, "other:dead", age_s=60)
        # Held by a live worker (in its queue, or in its turn now): never taken.
        assert await store.claim_inbound(message_id="t:busy", user_id="u0", text="Trip to Oslo", worker_id="other:live")
        # Held by a worker whose heartbeat went stale (SIGKILL): taken at once.
        assert await store.claim_inbound(
            message_id="t:left", user_id="u", text="Trip to Rome", reply_to={"channel": "D1"}, worker_id="other:dead"
        )
        # Held by a worker that stopped (its row is gone): taken at once too.
        assert await store.claim_inbound(message_id="t:stopped", user_id="u4", text="Trip to Kyoto", worker_id="gone:1")
        # Answered but never posted, and released for a retry that is due: posted from the stored answer.
        answered = await r.ask("u2", "Trip to Lisbon", message_id="t:unposted")
        await store.release_for_retry(message_id="t:unposted", after_s=lambda _n: 0.0)
        # Answered and posted: never touched again.
        await r.ask("u3", "Trip to Tokyo", message_id="t:done")
        await r.mark_delivered("t:done")
        # Another platform's message is that platform's adapter's to deliver.
        assert await store.claim_inbound(message_id="other:1", user_id="o", text="Trip to Oslo")

        assert await r.recover(channel) == 3
        assert set(channel.board) == {"t:left", "t:stopped", "t:unposted"}
        assert "Rome" in channel.answer("t:left") and "Kyoto" in channel.answer("t:stopped")
        assert channel.answer("t:unposted") == answered.text
        assert [c.kind for c in channel.calls if c.message_id == "t:left"][0] == "posted"  # looked before posting
        assert await r.sessions.get_query_count("u") == 1
        assert await r.recover(channel) == 0  # delivered once only
        assert len(channel.posts("t:left")) == 1
        record = await store.get_inbound(message_id="t:busy")
        assert record is not None and record.status == "received"
    finally:
        await r.close()


async def test_a_refused_post_is_retried_with_backoff(sqlite_url: str) -> None:
    from trip_planner.core.workers import backoff_s

    assert [backoff_s(n) for n in (1, 2, 3, 7, 20)] == [5, 10, 20, 300, 300]
    r = await _runner(sqlite_url)
    channel = MemoryChannel(raise_on_post=ConnectionError)
    try:
        reply = await r.handle(Inbound("t:1", "u", "Trip to Rome"), channel)
        assert reply.status == "answered"
        record = await r.sessions.store.get_inbound(message_id="t:1")
        assert record is not None and record.delivered_at is None
        channel.raise_on_post = None
        assert await r.recover(channel) == 0, "not before its backoff"
        from sqlalchemy import update as sql_update

        async with r.sessions.store.engine.begin() as conn:
            await conn.execute(sql_update(inbound).values(next_attempt_at=time.time() - 1))
        assert await r.recover(channel) == 1
        assert await r.recover(channel) == 0
    finally:
        await r.close()


async def test_a_failed_delivery_is_tried_again_later(sqlite_url: str) -> None:
    r = await _runner(sqlite_url)
    channel = MemoryChannel(raise_on_post=ConnectionError)
    try:
        await r.ask("u", "Trip to Rome", message_id="t:1")
        assert await r.recover(channel, force=True) == 0
        channel.raise_on_post = None
        assert await r.recover(channel, force=True) == 1
        assert len(channel.posts("t:1")) == 2
        assert await r.recover(channel, force=True) == 0
    finally:
        await r.close()


async def test_recovery_and_a_live_turn_never_both_answer(sqlite_url: str) -> None:
    """A sweep racing the worker that holds a message: one answer, one delivery by the sweep only if
    the sweep answered it."""
    r = await _runner(sqlite_url)
    channel = MemoryChannel()
    try:
        live, _swept = await asyncio.gather(
            r.ask("u", "Trip to Rome", message_id="t:race"), r.recover(channel, force=True)
        )
        answers = [live.text] if live.status == "answered" else []
        answers += [channel.answer(m) for m in channel.board]
        assert len(answers) == 1 and "Rome" in answers[0]
        assert await r.sessions.get_query_count("u") == 1
    finally:
        await r.close()

async def test_dedupe_records_are_kept_past_the_retry_window_then_pruned(runner: TripPlannerRunner) -> None:
    from sqlalchemy import update

    from trip_planner.core.runner import INBOUND_RETENTION_S

    await runner.ask("u", "Trip to Rome", message_id="old")
    await runner.ask("u", "Trip to Rome", message_id="recent")
    assert await runner.sessions.store.claim_inbound(message_id="unanswered-old", user_id="u", text="x")
    async with runner.sessions.engine.begin() as conn:
        await conn.execute(
            update(inbound)
            .where(inbound.c.message_id.in_(["old", "unanswered-old"]))
            .values(received_at=inbound.c.received_at - INBOUND_RETENTION_S - 60)
        )
    await runner._prune_inbound()
    assert await runner.sessions.store.get_inbound(message_id="old") is None
    assert await runner.sessions.store.get_inbound(message_id="recent") is not None
    # An unanswered message is never pruned: it still needs its answer.
    assert await runner.sessions.store.get_inbound(message_id="unanswered-old") is not None


async def test_two_workers_on_one_database_take_turns(database_url: str) -> None:
    """Two runners (as two worker processes would) answering one user concurrently: every turn lands,
    none hits ADK's StaleSessionError, and the history holds each message once."""
    w1, w2 = await _runner(database_url), await _runner(database_url)
    try:
        await w1.ask("shared", "I want to go to Lisbon")
        replies = await asyncio.gather(
            *((w1 if n % 2 else w2).ask("shared", f"Make it {n} days") for n in range(1, 11))
        )
        assert all(rep.status == "answered" for rep in replies), [rep.text for rep in replies]
        assert sorted(rep.query_num or 0 for rep in replies) == list(range(2, 12))
        session = await w1.sessions.get_or_create_session("shared")
        full = await w1.sessions.get_session_service().get_session(
            app_name=w1.settings.app_name, user_id="shared", session_id=session.id
        )
        assert full is not None
        user_texts = sorted(
            e.content.parts[0].text for e in full.events if e.author == "user" and e.content and e.content.parts
        )
        assert user_texts == sorted(["I want to go to Lisbon"] + [f"Make it {n} days" for n in range(1, 11)])
    finally:
        await w1.close()
        await w2.close()


async def test_two_processes_on_one_sqlite_file_do_not_fail(sqlite_url: str) -> None:
    """The Procfile runs Slack and Discord as two processes on one SQLite file by default."""
    w1, w2 = await _runner(sqlite_url), await _runner(sqlite_url)
    try:
        replies = await asyncio.gather(
            *(w.ask(f"{name}:{u}", text) for u in range(8) for (name, w) in (("slack", w1), ("discord", w2))
              for text in ("Trip to Rome in May", "What would it cost?"))
        )
        assert all(rep.status == "answered" for rep in replies), {rep.text for rep in replies if rep.status != "answered"}
    finally:
        await w1.close()
        await w2.close()


async def test_a_lease_held_by_a_live_worker_waits_and_one_left_by_a_dead_worker_is_taken_at_once(sqlite_url: str) -> None:
    """A live worker's lease is respected until it runs out; a dead worker's (stale heartbeat) is not
    waited for at all: the person is served again within seconds, not after the lease's minutes."""
    from trip_planner.core.tables import turn_leases

    r = await _runner(sqlite_url, turn_timeout_s=5.0)
    try:
        await _worker_row(r, "other:live", age_s=0)
        await _worker_row(r, "other:dead", age_s=60)
        from sqlalchemy import insert as sql_insert

        async with r.sessions.store.engine.begin() as conn:
            await conn.execute(sql_insert(turn_leases).values(lease_key="u", holder="other:live", expires_at=time.time() + 0.5))
            await conn.execute(sql_insert(turn_leases).values(lease_key="v", holder="other:dead", expires_at=time.time() + 600))
        assert not await r.workers.try_lease(key="u", lease_s=1)  # live, not expired
        assert await r.workers.try_lease(key="v", lease_s=1)  # dead: taken although far from expiry
        await r.workers.release_lease(key="v")
        reply = await r.ask("u", "Trip to Rome")  # waits for the live worker's lease to run out
        assert reply.status == "answered" and "Rome" in reply.text
        assert await r.workers.try_lease(key="u", lease_s=1)  # released after the turn
    finally:
        await r.close()


async def test_a_persons_earlier_message_left_by_a_dead_worker_is_answered_first(sqlite_url: str) -> None:
    """Order across workers: the dead worker's message (received first) is answered, and posted,
    before the person's next one, and the conversation's history stays in that order."""
    r = await _runner(sqlite_url)
    channel = MemoryChannel()
    try:
        await _worker_row(r, "other:dead", age_s=60)
        assert await r.sessions.store.claim_inbound(message_id="t:1", user_id="u", text="Trip to Rome in June", worker_id="other:dead")
        await r.handle(Inbound("t:2", "u", "What hotels?"), channel)
        assert [c.message_id for c in channel.calls if c.kind == "post"][:2] == ["t:1", "t:2"]
        queries = await r.sessions.get_queries("u")
        assert [q["query"] for q in queries] == ["Trip to Rome in June", "What hotels?"]
        assert "Rome" in channel.answer("t:2")
    finally:
        await r.close()


async def test_a_persons_earlier_message_held_by_a_live_worker_goes_first(sqlite_url: str) -> None:
    """Two workers took one person's two messages: the second waits for the first's answer."""
    w1, w2 = await _runner(sqlite_url), await _runner(sqlite_url)
    try:
        first = await w1.accept(Inbound("t:1", "u", "Trip to Rome in June"))
        assert first is not None
        second = asyncio.create_task(w2.handle(Inbound("t:2", "u", "What hotels?"), MemoryChannel()))
        await asyncio.sleep(0.3)
        assert not second.done(), "the later message must wait for the earlier one"
        await w1.answer(first)
        await asyncio.wait_for(second, 30)
        queries = await w1.sessions.get_queries("u")
        assert [q["query"] for q in queries] == ["Trip to Rome in June", "What hotels?"]
    finally:
        await w1.close()
        await w2.close()


async def test_more_concurrent_users_than_database_connections_all_get_answers(database_url: str) -> None:
    """60 users at once, more than the connection pool holds (40 on PostgreSQL): nothing may hold a
    connection for a whole turn, or turns starve each other into pool timeouts."""
    r = await _runner(database_url)
    try:
        replies = await asyncio.gather(*(r.ask(f"user{n}", "Trip to Rome in May") for n in range(60)))
        assert [rep.status for rep in replies] == ["answered"] * 60
        assert len({rep.conversation_id for rep in replies}) == 60
    finally:
        await r.close()


async def test_on_accepted_runs_once_the_message_is_stored_and_never_for_a_duplicate(runner: TripPlannerRunner) -> None:
    seen: list[str | None] = []

    async def show_working() -> None:
        record = await runner.sessions.store.get_inbound(message_id="slack:T1:D1:1.0")
        seen.append(record.status if record else None)

    replies = await asyncio.gather(
        *(runner.ask("u", "Trip to Rome", message_id="slack:T1:D1:1.0", on_accepted=show_working) for _ in range(3))
    )
    assert seen == ["received"]  # once, and only after the message was safely stored
    assert sorted(r.status for r in replies) == ["answered", "duplicate", "duplicate"]


async def test_a_failing_on_accepted_hook_does_not_cost_the_answer(runner: TripPlannerRunner) -> None:
    async def broken() -> None:
        raise ConnectionError("platform hiccup while showing the placeholder")

    reply = await runner.ask("u", "Trip to Rome", message_id="m-hook", on_accepted=broken)
    assert reply.status == "answered" and "Rome" in reply.text


async def test_database_connections_dropped_while_idle_are_replaced_without_a_failed_turn() -> None:
    """A PostgreSQL restart or a proxy dropping quiet connections leaves dead ones in the pool; the
    next turn gets fresh ones (pinged because idle) instead of an apology."""
    import asyncpg
    from sqlalchemy.engine import make_url

    from tests.conftest import POSTGRES_URL, reset_postgres
    from trip_planner.core.database import create_engine
    from trip_planner.core.session_manager import SessionManager

    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL not set (.ci/run sets it)")
    await reset_postgres(POSTGRES_URL)
    settings = Settings(database_url=POSTGRES_URL, turn_timeout_s=30.0)
    # Every pooled connection counts as idle here, so the test need not wait out IDLE_PING_S.
    engine = create_engine(POSTGRES_URL, idle_ping_s=0.0)
    manager = SessionManager(engine=engine, app_name=settings.app_name)
    r = TripPlannerRunner(settings, session_manager=manager)
    await r.start()
    try:
        assert (await r.ask("pg-user", "Trip to Rome in June")).status == "answered"
        plain = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
        killer = await asyncpg.connect(plain)
        try:
            killed = await killer.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
        finally:
            await killer.close()
        assert killed >= 1
        reply = await r.ask("pg-user", "What would it cost?")
        assert reply.status == "answered" and "Rome" in reply.text
    finally:
        await r.close()


async def test_a_worker_that_stops_hands_its_unanswered_messages_over_at_once(sqlite_url: str) -> None:
    """SIGTERM's last step (runner.close) removes the worker's row: another worker answers what it
    left now, not after the heartbeat goes stale; while it runs, its messages are never taken."""
    leaving, staying = await _runner(sqlite_url), await _runner(sqlite_url)
    channel = MemoryChannel()
    try:
        accepted = await leaving.accept(Inbound("t:left", "u", "Trip to Rome", reply_to={"channel": "D1"}))
        assert accepted is not None
        assert await staying.recover(channel) == 0, "the leaving worker is alive: its message is not taken"
        await leaving.close()
        assert await staying.recover(channel) == 1
        assert "Rome" in channel.answer("t:left")
    finally:
        await staying.close()


async def test_the_sweep_serves_people_side_by_side_not_one_backlog_first(sqlite_url: str) -> None:
    r = await _runner(sqlite_url)
    channel = MemoryChannel()
    store = r.sessions.store
    try:
        await _worker_row(r, "other:dead", age_s=60)
        for n in range(4):  # one person's backlog, oldest first...
            assert await store.claim_inbound(message_id=f"t:a{n}", user_id="ua", text=f"Trip to Rome, {n + 2} days", worker_id="other:dead")
        # ...and someone else's single message, left after all of them.
        assert await store.claim_inbound(message_id="t:b0", user_id="ub", text="Trip to Oslo", worker_id="other:dead")
        assert await r.recover(channel) == 5
        posted = [c.message_id for c in channel.calls if c.kind == "post"]
        assert posted.index("t:b0") < posted.index("t:a3"), posted  # not behind the whole backlog
        assert [m for m in posted if m.startswith("t:a")] == ["t:a0", "t:a1", "t:a2", "t:a3"]  # each person in order
    finally:
        await r.close()
