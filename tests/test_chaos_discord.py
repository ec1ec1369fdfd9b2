"""Chaos: two `trip-planner discord` processes, one shard each, SIGKILLed twice while people write
DMs. Discord never redelivers: a DM sent while the shard that receives DMs is down is found by the
catch-up after it reconnects, one cut off mid-turn by the recovery sweep. Every message must be
answered exactly once, and each person's conversation must hold every message in the order sent.
The seed is printed; CHAOS_SEED replays a run.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from bots.discord.identity import answer_nonce
from tests.conftest import POSTGRES_URL, reset_postgres
from tests.standins.discord import DiscordStandIn
from tests.standins.discord_harness import TOKEN
from trip_planner.core.tables import conversations, queries

PEOPLE = 10
FIRST_ID = 430000000000000001


def _env(standin: DiscordStandIn, database_url: str, shard: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "TRIP_PLANNER_", "GOOGLE_"))}
    env.update(
        DISCORD_TOKEN=TOKEN, DISCORD_API_URL=standin.api_url, DISCORD_GATEWAY_URL=standin.gateway_url,
        DISCORD_SHARD_COUNT="2", DISCORD_SHARD_IDS=str(shard), DISCORD_SYNC_COMMANDS="false",
        DATABASE_URL=database_url, TRIP_PLANNER_MODEL="offline", TRIP_PLANNER_WORKER_NAME=f"discord.{shard}",
        OPIK_TRACK_DISABLE="true", PYTHONUNBUFFERED="1",
    )
    return env


async def _start(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "trip_planner.cli", "discord", env=env, stdout=out, stderr=out,
            stdin=asyncio.subprocess.DEVNULL, cwd=log.parent,
        )


def _dm_shard_up(standin: DiscordStandIn) -> bool:
    return any(s.open and s.identified and s.shard[0] == 0 for s in standin.sessions)


@pytest.mark.timeout(240)
async def test_two_discord_shard_processes_survive_two_kills(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL not set (.ci/run sets it)")
    await reset_postgres(POSTGRES_URL)
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(1_000_000))
    print(f"chaos seed {seed} (CHAOS_SEED={seed} replays it)")
    rng = random.Random(seed)
    async with DiscordStandIn(token=TOKEN) as standin:
        envs = [_env(standin, POSTGRES_URL, shard) for shard in (0, 1)]
        logs = [tmp_path / f"shard{shard}.log" for shard in (0, 1)]
        processes = [await _start(env, log) for env, log in zip(envs, logs)]
        people = [FIRST_ID + i for i in range(PEOPLE)]
        sent: dict[int, list[dict]] = {p: [] for p in people}
        try:
            await standin.wait_until(lambda: sum(1 for s in standin.sessions if s.open and s.identified) >= 2,
                                     timeout=90, what="both shard processes to connect")

            async def write(person: int, text: str) -> None:
                # While the shard that receives DMs is down, the message is in the channel's history
                # but no gateway session receives it.
                message = await standin.send_dm(person, text, dispatch=_dm_shard_up(standin))
                sent[person].append(message)

            # Everyone has talked to the bot once (a first-ever DM sent during downtime cannot be found).
            for person in people:
                await write(person, f"Trip to Rome in June, question 1 from {person}")
            await standin.wait_until(lambda: len(_answered(standin, sent)) >= PEOPLE, timeout=60, what="first answers")

            async def chaos() -> None:
                for _ in range(2):
                    await asyncio.sleep(rng.uniform(0.5, 3.0))
                    shard = rng.choice((0, 1))
                    os.kill(processes[shard].pid, signal.SIGKILL)
                    await processes[shard].wait()
                    processes[shard] = await _start(envs[shard], logs[shard])

            async def chatter() -> None:
                for n in range(2, 50 // PEOPLE + 2):
                    for person in rng.sample(people, len(people)):
                        await asyncio.sleep(rng.uniform(0.02, 0.15))
                        await write(person, f"What hotels, question {n} from {person}?")

            await asyncio.gather(chaos(), chatter())
            total = sum(len(m) for m in sent.values())
            try:
                await standin.wait_until(lambda: len(_answered(standin, sent)) >= total, timeout=90,
                                         what=f"all {total} messages answered")
            except AssertionError as timed_out:
                answered = _answered(standin, sent)
                missing = [(p, m["id"]) for p, ms in sent.items() for m in ms if f"discord:{m['id']}" not in answered]
                raise AssertionError(f"{timed_out}; unanswered (person, message id): {missing}") from None
            await asyncio.sleep(2)
            counts = _answered(standin, sent)
            assert all(n == 1 for n in counts.values()), {k: n for k, n in counts.items() if n != 1}
            await _check_histories(sent)
        finally:
            for process in processes:
                if process.returncode is None:
                    process.kill()
                    await process.wait()


def _answered(standin: DiscordStandIn, sent: dict[int, list[dict]]) -> Counter[str]:
    """Answers (first pieces, found by their nonce) per inbound message."""
    wanted = {answer_nonce(f"discord:{m['id']}", 0): f"discord:{m['id']}" for ms in sent.values() for m in ms}
    counted: Counter[str] = Counter()
    for message in standin.sent_messages():
        key = wanted.get(str(message.get("nonce") or ""))
        if key is not None:
            counted[key] += 1
    return counted


async def _check_histories(sent: dict[int, list[dict]]) -> None:
    assert POSTGRES_URL
    engine = create_async_engine(POSTGRES_URL)
    try:
        async with engine.connect() as conn:
            for person, messages in sent.items():
                rows = (
                    await conn.execute(
                        select(queries.c.query)
                        .join(conversations, conversations.c.conversation_id == queries.c.conversation_id)
                        .where(conversations.c.user_id == f"discord:{person}")
                        .order_by(conversations.c.created_at, queries.c.query_num)
                    )
                ).all()
                assert [r.query for r in rows] == [m["content"] for m in messages], f"{person}'s history"
    finally:
        await engine.dispose()
