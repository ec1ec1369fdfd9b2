"""Event delivery as Slack does it, for chaos tests: several app URLs behind a load balancer, a 3 s
timeout, and up to 3 retries after 1, 2 and 4 seconds on anything but HTTP 200, each retry carrying
`X-Slack-Retry-Num` and `X-Slack-Retry-Reason` (Slack's Events API documentation, "Retries").

`deliver` picks a random URL per attempt from a seeded RNG (the test prints the seed), records every
attempt, and says whether the event was acknowledged at all: only acknowledged messages are the app's
to answer.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.standins.slack import SlackStandIn, sign

RETRY_DELAYS_S = (1.0, 2.0, 4.0)
TIMEOUT_S = 3.0


@dataclass
class Attempt:
    url: str
    retry_num: int
    outcome: str  # "200", another status, "http_timeout" or "connection_failed"


@dataclass
class Delivery:
    event: dict[str, Any]
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return any(a.outcome == "200" for a in self.attempts)


class SlackDelivery:
    def __init__(self, slack: SlackStandIn, urls: list[str], rng: random.Random) -> None:
        self.slack, self.urls, self.rng = slack, urls, rng
        self.deliveries: list[Delivery] = []
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))

    async def close(self) -> None:
        await self._session.close()

    async def deliver(self, event: dict[str, Any]) -> Delivery:
        self.slack.record_message(event)
        body = json.dumps(self.slack.event_callback(event)).encode()
        delivery = Delivery(event)
        self.deliveries.append(delivery)
        reason = ""
        for retry_num in range(len(RETRY_DELAYS_S) + 1):
            if retry_num:
                await asyncio.sleep(RETRY_DELAYS_S[retry_num - 1])
            url = self.rng.choice(self.urls)
            outcome = await self._post(url, body, retry_num, reason)
            delivery.attempts.append(Attempt(url, retry_num, outcome))
            if outcome == "200":
                break
            reason = outcome if outcome in ("http_timeout", "connection_failed") else "http_error"
        return delivery

    async def _post(self, url: str, body: bytes, retry_num: int, reason: str) -> str:
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(self.slack.signing_secret, ts, body),
        }
        if retry_num:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = reason
        try:
            async with self._session.post(url, data=body, headers=headers) as response:
                await response.read()
                return str(response.status)
        except asyncio.TimeoutError:
            return "http_timeout"
        except aiohttp.ClientError:
            return "connection_failed"
