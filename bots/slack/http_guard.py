"""The edge of Slack's HTTP mode: refuse what should never reach Bolt, without a traceback.

- A body over `max_body` bytes is refused with 413 before it is read in full or parsed (Bolt would
  read up to aiohttp's 1 MiB and parse it).
- A correctly signed body that is not valid JSON (or a form whose `payload` is not) gets 400 and one
  WARNING line, instead of Bolt's 500 and a traceback.
- The signature is checked here, once: a request without a valid one (or too old) gets Bolt's own 401
  answer and one line without the body, and Bolt's verification is off in HTTP mode (it checked the
  same HMAC a second time on the acknowledgement's path). Its verification logger, which logs the raw
  body at INFO (so anyone could forge log lines), is held at WARNING all the same.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 256 * 1024
# Bolt's loggers that log request bodies at INFO (slack_bolt.middleware.request_verification).
BODY_LOGGERS = ("slack_bolt.AsyncRequestVerification", "slack_bolt.RequestVerification")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _parses(body: str, content_type: str) -> bool:
    """Whether Bolt's `parse_body` would get a dict out of it (the same rules, no exception)."""
    try:
        if content_type == "application/json" or body.startswith("{"):
            return isinstance(json.loads(body), dict)
        params = dict(parse_qsl(body, keep_blank_values=True))
        if "payload" in body and params.get("payload") is not None:
            return isinstance(json.loads(params["payload"]), dict)
        return True
    except (ValueError, TypeError):
        return False


def install(web_app: web.Application, *, signing_secret: str, max_body: int = DEFAULT_MAX_BODY) -> None:
    """Put the guard in front of Bolt's handlers on the aiohttp app from `AsyncApp.web_app()`."""
    verifier = SignatureVerifier(signing_secret)
    for name in BODY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST":
            return await handler(request)
        if request.content_length is not None and request.content_length > max_body:
            log.warning("Refused a Slack request of %d bytes (the limit is %d)", request.content_length, max_body)
            return web.Response(status=413)
        raw = await request.content.read(max_body + 1)
        if len(raw) > max_body:
            log.warning("Refused a Slack request over %d bytes", max_body)
            return web.Response(status=413)
        request._read_bytes = raw  # aiohttp serves request.read()/text() from this (Bolt reads text())
        body = raw.decode("utf-8", errors="replace")
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not verifier.is_valid(body=raw, timestamp=timestamp, signature=signature):
            log.warning("Refused a Slack request with a missing or bad signature (%d bytes)", len(raw))
            return web.json_response({"error": "invalid request"}, status=401)  # as Bolt answers it
        if not _parses(body, request.content_type):
            log.warning("Refused a correctly signed Slack request whose body is not valid JSON (%d bytes)", len(raw))
            return web.Response(status=400)
        return await handler(request)

    web_app.middlewares.append(guard)
