"""`trip-planner sessions`, driven through the CLI's main function on real databases that the real
runner filled (see tests/ops_world.py)."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.ops_world import (
    ALICE_IDS,
    ALICE_WORDS,
    BOB_ID,
    BOB_WORDS,
    DAVE_DISCORD,
    DAVE_IDS,
    NOT_DAVE_IDS,
    World,
    populate,
    rows_matching,
    rows_naming,
)
from tests.test_retention import age
from trip_planner.cli import main
from trip_planner.core.database import create_engine


class Cli:
    def __init__(self, url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        self.url, self.capsys, self.monkeypatch = url, capsys, monkeypatch
        monkeypatch.chdir(tmp_path)  # no .env from the worktree
        monkeypatch.setenv("DATABASE_URL", url)
        for name in ("TRIP_PLANNER_RETENTION_DAYS", "TRIP_PLANNER_IDLE_TIMEOUT", "OPIK_API_KEY", "OPIK_URL_OVERRIDE", "OPIK_WORKSPACE"):
            monkeypatch.delenv(name, raising=False)

    async def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        """Run `trip-planner sessions ARGV` (in a thread: it runs its own event loop)."""
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        self.capsys.readouterr()
        code = await asyncio.to_thread(main, ["sessions", *argv])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    async def json(self, *argv: str) -> Any:
        code, out, err = await self(*argv, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
async def world(database_url: str) -> World:
    return await populate(database_url)


@pytest.fixture
def cli(database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    return Cli(database_url, capsys, monkeypatch, tmp_path)


async def sessions_of(url: str, user_id: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM sessions WHERE user_id = :u").bindparams(u=user_id))).scalar_one())
    finally:
        await engine.dispose()


async def test_list_filters_newest_first(world: World, cli: Cli) -> None:
    everyone = (await cli.json("list"))["conversations"]
    assert sorted(c["conversation_id"] for c in everyone) == sorted(c for ids in world.conversations.values() for c in ids)
    started = [c["created_at"] for c in everyone]
    assert started == sorted(started, reverse=True)

    discord = (await cli.json("list", "--platform", "discord"))["conversations"]
    assert {c["user_id"] for c in discord} == set(DAVE_IDS + NOT_DAVE_IDS) and all(c["platform"] == "discord" for c in discord)

    alice = (await cli.json("list", "--user", "slack:T1ACME:*:UALICE7"))["conversations"]
    assert sorted(c["conversation_id"] for c in alice) == sorted(world.conversations[ALICE_IDS[0]] + world.conversations[ALICE_IDS[1]])

    ended = (await cli.json("list", "--status", "ended"))["conversations"]
    assert sorted((c["user_id"], c["end_reason"]) for c in ended) == sorted(
        [(ALICE_IDS[0], "satisfied"), (ALICE_IDS[1], "new_session"), (DAVE_IDS[0], "satisfied")]
    )
    engine = create_engine(cli.url)
    await age(engine, (BOB_ID,), 2)  # idle past the 24 h timeout: expired, though not yet marked
    await engine.dispose()
    expired = (await cli.json("list", "--status", "expired"))["conversations"]
    assert [(c["user_id"], c["state"]) for c in expired] == [(BOB_ID, "expired")]
    assert (await cli.json("list", "--since", "1h", "--limit", "2"))["conversations"] == everyone[:2]
    assert (await cli.json("list", "--since", "2999-01-01"))["conversations"] == []

    code, out, _err = await cli("list", "--user", ALICE_IDS[1])
    assert code == 0 and ALICE_IDS[1] in out and all(c in out for c in world.conversations[ALICE_IDS[1]])


async def test_show_a_conversation_or_a_user(world: World, cli: Cli) -> None:
    shown = (await cli.json("show", ALICE_IDS[0]))["conversations"]
    assert sorted(c["conversation_id"] for c in shown) == sorted(world.conversations[ALICE_IDS[0]])
    ended = next(c for c in shown if c["state"] == "ended")
    assert (ended["end_reason"], ended["feedback"], ended["turns"]) == ("satisfied", "satisfied", 2)
    assert [q["query"] for q in ended["queries"]] == [
        "I want to plan a trip to Zanzibar in March",
        "My home airport is JFK and I always prefer luxury hotels",
    ]
    assert all(q["response"] and q["created_at"].endswith("Z") for q in ended["queries"])
    assert ended["ended_at"] and ended["created_at"] <= ended["ended_at"]

    one = (await cli.json("show", ended["conversation_id"]))["conversations"]
    assert [c["conversation_id"] for c in one] == [ended["conversation_id"]]
    code, out, _err = await cli("show", ended["conversation_id"])
    assert code == 0 and "My home airport is JFK" in out and "satisfied" in out
    code, _out, err = await cli("show", "slack:T1ACME:C1GEN:UNOBODY")
    assert code == 1 and "No conversation" in err


async def test_end_with_and_without_feedback(world: World, cli: Cli) -> None:
    done = await cli.json("end", BOB_ID, "--feedback", "unsatisfied")
    assert (done["ended"], done["end_reason"], done["feedback"]) == (world.conversations[BOB_ID][0], "unsatisfied", "unsatisfied")
    code, _out, err = await cli("end", BOB_ID)
    assert code == 1 and "no active conversation" in err
    plain = await cli.json("end", DAVE_IDS[1])
    assert (plain["end_reason"], plain["feedback"]) == ("ended", None)
    states = {c["user_id"]: c["state"] for c in (await cli.json("list", "--status", "active"))["conversations"]}
    assert BOB_ID not in states and DAVE_IDS[1] not in states


async def test_forget_a_slack_user_across_channels_after_confirmation(world: World, cli: Cli) -> None:
    before = await rows_naming(cli.url, ALICE_WORDS)
    bob_before = await rows_naming(cli.url, BOB_WORDS)
    code, _out, err = await cli("forget", "--slack-user", "T1ACME:UALICE7", stdin="n\n")
    assert code == 1 and all(user_id in err for user_id in ALICE_IDS) and "Nothing deleted" in err
    assert sorted(await rows_naming(cli.url, ALICE_WORDS)) == sorted(before)

    code, out, _err = await cli("forget", "--slack-user", "T1ACME:UALICE7", "--json", stdin="y\n")
    assert code == 0
    erased = json.loads(out)
    assert erased["user_ids"] == sorted(ALICE_IDS)
    assert erased["conversation_ids"] == sorted(world.conversations[ALICE_IDS[0]] + world.conversations[ALICE_IDS[1]])
    assert await rows_naming(cli.url, ALICE_WORDS) == []
    assert sorted(await rows_naming(cli.url, BOB_WORDS)) == sorted(bob_before)
    code, _out, err = await cli("forget", "--slack-user", "T1ACME:UALICE7", "--yes")
    assert code == 1 and "Nothing is stored" in err


async def test_forget_a_discord_user_and_a_plain_user_id(world: World, cli: Cli) -> None:
    erased = await cli.json("forget", "--discord-user", DAVE_DISCORD, "--yes")
    assert erased["user_ids"] == sorted(DAVE_IDS)
    assert await rows_matching(cli.url, re.compile(rf"(?<!\d){DAVE_DISCORD}(?![\d:])")) == []
    assert await rows_matching(cli.url, re.compile(rf"{DAVE_DISCORD}0")) != []
    assert [await sessions_of(cli.url, u) for u in NOT_DAVE_IDS] == [1, 1]
    erased = await cli.json("forget", BOB_ID, "--yes")
    assert erased["user_ids"] == [BOB_ID] and erased["rows"]["events"] > 0
    assert await rows_naming(cli.url, BOB_WORDS) == []
    code, out, _err = await cli("forget", NOT_DAVE_IDS[0], "--yes")
    assert code == 0 and "tp_conversations" in out and NOT_DAVE_IDS[0] in out


async def test_purge_asks_and_removes_adk_sessions_and_events(world: World, cli: Cli) -> None:
    engine = create_engine(cli.url)
    await age(engine, ALICE_IDS, 100)
    await age(engine, DAVE_IDS, 30)
    await engine.dispose()
    code, _out, err = await cli("purge", stdin="no\n")
    assert code == 1 and "Delete 4 conversation(s)" in err and "90 days" in err
    assert await sessions_of(cli.url, ALICE_IDS[0]) == 2

    purged = await cli.json("purge", "--yes")
    assert sorted(purged["conversation_ids"]) == sorted(world.conversations[ALICE_IDS[0]] + world.conversations[ALICE_IDS[1]])
    assert purged["rows"]["sessions"] == 4 and purged["rows"]["events"] > 0
    assert [await sessions_of(cli.url, u) for u in ALICE_IDS] == [0, 0]
    assert await sessions_of(cli.url, DAVE_IDS[0]) == 1

    cli.monkeypatch.setenv("TRIP_PLANNER_RETENTION_DAYS", "10")
    # Dave's DM conversation ended 30 days ago; his server one has been idle (so expired) as long.
    code, out, _err = await cli("purge", "--yes")
    assert code == 0 and "Purged 2 conversation(s)" in out and "more than 10 days ago" in out
    assert [await sessions_of(cli.url, u) for u in (*DAVE_IDS, BOB_ID)] == [0, 0, 1]


async def test_stats_per_platform(world: World, cli: Cli) -> None:
    engine = create_engine(cli.url)
    await age(engine, (NOT_DAVE_IDS[0],), 2)  # idle past the timeout: counts as expired
    await engine.dispose()
    result = await cli.json("stats")
    by = {p["platform"]: p for p in result["platforms"]}
    slack, discord = by["slack"], by["discord"]
    assert slack["conversations"] == 5 and slack["turns"] == 6 and slack["turns_per_conversation"] == pytest.approx(1.2)
    assert slack["ended"] == {"active": 3, "satisfied": 1, "unsatisfied": 0, "ended": 0, "expired": 0, "new_session": 1}
    assert (slack["satisfied"], slack["unsatisfied"], slack["satisfaction_rate"]) == (1, 1, 0.5)
    assert slack["failed_turns"] == 1 and slack["median_time_to_answer_s"] > 0
    assert discord["conversations"] == 4 and discord["ended"]["satisfied"] == 1 and discord["ended"]["expired"] == 1
    assert discord["satisfaction_rate"] == 1.0 and discord["failed_turns"] == 0
    assert result["notes"] and "not stored" in result["notes"][0]
    recent = await cli.json("stats", "--since", "1d")
    assert {p["platform"]: p["conversations"] for p in recent["platforms"]} == {"slack": 5, "discord": 3}
    assert (await cli.json("stats", "--since", "2999-01-01"))["platforms"] == []
    code, out, _err = await cli("stats")
    assert code == 0 and "satisfaction rate" in out and "50%" in out and "ended: new trip" in out


@pytest.mark.parametrize(
    "argv",
    [["forget"], ["forget", "--slack-user", "UALICE7"], ["forget", "--discord-user", "dave"], ["list", "--since", "soon"], ["stats", "--since", "x"]],
)
async def test_bad_arguments_get_one_line_and_code_2(argv: list[str], cli: Cli) -> None:
    code, out, err = await cli(*argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("trip-planner sessions: ")


def test_time_is_parsed_in_utc() -> None:
    from trip_planner.ops.when import iso, parse_since

    assert parse_since("2026-01-02") == 1767312000.0
    assert parse_since("36h", now=1000000.0) == 1000000.0 - 36 * 3600
    assert iso(1767312000.0) == "2026-01-02T00:00:00Z"
    assert abs(parse_since("0m") - time.time()) < 60
