"""ConversationStore.latest_inbound_per_place: where an adapter resumes reading a channel after a
reconnect. Runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import time

from sqlalchemy import update

from trip_planner.core.database import create_engine
from trip_planner.core.store import ConversationStore, inbound


async def test_newest_inbound_message_per_channel(database_url: str) -> None:
    engine = create_engine(database_url)
    store = ConversationStore(engine)
    now = time.time()

    async def message(message_id: str, channel: str | None, age_s: float, user: str = "discord:1") -> None:
        reply_to = {"platform": "discord", "channel_id": channel, "guild_id": None, "message_id": message_id}
        assert await store.claim_inbound(
            message_id=message_id, user_id=user, text="hi", reply_to=reply_to if channel else None,
            place=f"discord:{channel}" if channel else None,
        )
        async with engine.begin() as conn:
            await conn.execute(
                update(inbound).where(inbound.c.message_id == message_id).values(received_at=now - age_s)
            )

    try:
        await message("discord:101", "10", age_s=300)
        await message("discord:102", "10", age_s=200)  # channel 10's newest
        await message("discord:201", "20", age_s=250)  # channel 20's only one
        await message("discord:301", "30", age_s=100)  # the most recently active place
        await message("discord:401", "40", age_s=3 * 86400)  # outside the window
        await message("discord:501", None, age_s=50)  # no place recorded: cannot be resumed
        await message("slack:T1:C1:1.0", "10", age_s=10, user="slack:T1:U1")  # another platform

        places = await store.latest_inbound_per_place(prefix="discord:", since_s=86400, limit=10)
        assert [p.message_id for p in places] == ["discord:301", "discord:102", "discord:201"]
        assert places[1].reply_to == {
            "platform": "discord", "channel_id": "10", "guild_id": None, "message_id": "discord:102"
        }
        assert places[1].user_id == "discord:1" and places[1].text == "hi" and places[1].place == "discord:10"

        # At most `limit` places, the most recently active first.
        limited = await store.latest_inbound_per_place(prefix="discord:", since_s=86400, limit=2)
        assert [p.message_id for p in limited] == ["discord:301", "discord:102"]

        # Messages received from `received_before` on do not count: channel 30 has none before it,
        # and channel 10's starting point is the message before the cut.
        cut = now - 150
        earlier = await store.latest_inbound_per_place(prefix="discord:", since_s=86400, limit=10, received_before=cut)
        assert [p.message_id for p in earlier] == ["discord:102", "discord:201"]

        assert await store.latest_inbound_per_place(prefix="discord:", since_s=10, limit=10) == []
        assert await store.latest_inbound_per_place(prefix="discord_", since_s=86400, limit=10) == []
    finally:
        await engine.dispose()
