"""An Opik backend stand-in: the REST endpoints the opik SDK's background sender calls.

It runs aiohttp on 127.0.0.1 (random port) in its own thread with its own event loop. That matters:
the SDK sends from background threads with a synchronous HTTP client, and `Opik.flush()` blocks its
caller; a stand-in on the test's own loop would be starved by any flush the code under test does on
that loop, and the test would measure the stand-in rather than the product.

Modes:
- "ok": record every request and answer like Opik does (204 / 200 with small JSON bodies).
- "500": pass the health ping, then answer every other request with HTTP 500 (and record it), so
  the SDK really sends, fails and retries rather than parking everything after a failed ping.
- "down": nothing listens on the port (connection refused), like a backend that is not running.
- "hang": accept every connection and never answer, like a backend behind a dead load balancer.

`set_mode()` switches a running stand-in to another mode on the same URL (a backend going down,
failing or recovering): switching to "down" closes the listening socket, switching away from it
listens again.

Point the SDK at it with ``OPIK_URL_OVERRIDE=standin.url`` (the base ends in ``/api`` as a real
self-hosted Opik does). Request bodies arrive gzip-compressed JSON and are stored decoded.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from aiohttp import web

log = logging.getLogger(__name__)

Mode = Literal["ok", "500", "down", "hang"]


@dataclass(frozen=True)
class Recorded:
    """One request as the stand-in received it."""

    method: str
    path: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    gzipped: bool = False


def _free_port() -> int:
    """A port nothing listens on right now (used as-is for mode "down")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OpikStandIn:
    """Records what the opik SDK sends; `traces()` / `spans()` fold creates and patches by id."""

    def __init__(self, mode: Mode = "ok") -> None:
        self.mode: Mode = mode
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._port = _free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None  # lets "hang" handlers finish at stop

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The value for OPIK_URL_OVERRIDE."""
        return f"http://127.0.0.1:{self._port}/api"

    def start(self) -> Self:
        if self.mode == "down":
            return self  # nothing listens: every connection is refused
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start_site())
            except BaseException as exc:  # noqa: BLE001 - re-raised in the starting thread
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._stop_site())
            loop.close()

        self._thread = threading.Thread(target=serve, name="opik-standin", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("Opik stand-in did not start")
        if errors:
            raise errors[0]
        return self

    def set_mode(self, mode: Mode) -> None:
        """Switch to `mode` on the same port; returns once the new mode is in effect."""
        if mode == self.mode:
            return
        previous = self.mode
        if previous != "down" and mode == "down":
            self.stop()  # nothing listens any more: connections are refused
            self.mode = mode
            return
        self.mode = mode  # requests arriving from now on are answered in the new mode
        if previous == "hang" and self._loop is not None and self._release is not None:
            release = self._release
            self._loop.call_soon_threadsafe(self._renew_release)  # for a later switch back to "hang"
            self._loop.call_soon_threadsafe(release.set)  # let the hung requests end (503)
        if previous == "down":
            self.start()

    def _renew_release(self) -> None:
        self._release = asyncio.Event()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            if self._release is not None:
                self._loop.call_soon_threadsafe(self._release.set)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = None
        self._thread = None

    async def _start_site(self) -> None:
        self._release = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._port).start()

    async def _stop_site(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- the protocol -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        gzipped = request.headers.get("Content-Encoding", "").lower() == "gzip"
        # aiohttp already inflates a gzip body it is told about; inflate here only what it left.
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        with self._lock:
            self.requests.append(Recorded(request.method, request.path, body, dict(request.headers), gzipped))
        if self.mode == "hang":
            assert self._release is not None
            await self._release.wait()
            return web.Response(status=503)
        path = request.path
        if path == "/api/is-alive/ping":
            return web.json_response({"healthy": True})
        if self.mode == "500":
            return web.json_response({"errors": ["stand-in answers 500"]}, status=500)
        if path == "/api/is-alive/ver":
            return web.json_response({"version": "1.9.0"})
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            return web.Response(status=204)
        # Any GET the SDK might make (project lookups and the like): an empty page.
        return web.json_response({"content": [], "page": 1, "size": 0, "total": 0})

    # -- what was recorded ------------------------------------------------------------------------

    def recorded(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]

    def _fold(self, kind: str) -> dict[str, dict[str, Any]]:
        """Creates (batch and single) and PATCH updates of `kind` ("traces"/"spans"), merged by id."""
        merged: dict[str, dict[str, Any]] = {}
        prefix = f"/api/v1/private/{kind}"
        for r in self.recorded():
            if r.method == "POST" and r.path == f"{prefix}/batch" and isinstance(r.body, dict):
                items = r.body.get(kind, [])
            elif r.method == "POST" and r.path == prefix and isinstance(r.body, dict):
                items = [r.body]
            elif r.method == "PATCH" and r.path.startswith(prefix + "/") and isinstance(r.body, dict):
                items = [{**r.body, "id": r.path.rsplit("/", 1)[1]}]
            else:
                continue
            for item in items:
                current = merged.setdefault(item["id"], {})
                current.update({k: v for k, v in item.items() if v is not None})
        return merged

    def traces(self) -> dict[str, dict[str, Any]]:
        return self._fold("traces")

    def spans(self) -> dict[str, dict[str, Any]]:
        return self._fold("spans")

    def trace_scores(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for r in self.recorded("PUT", "/api/v1/private/traces/feedback-scores"):
            out.extend(r.body.get("scores", []) if isinstance(r.body, dict) else [])
        return out

    def thread_scores(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for r in self.recorded("PUT", "/api/v1/private/traces/threads/feedback-scores"):
            out.extend(r.body.get("scores", []) if isinstance(r.body, dict) else [])
        return out

    def wait_for(self, predicate: Any, timeout_s: float = 10.0) -> bool:
        """Poll until `predicate()` is true (the SDK sends from a background thread)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return bool(predicate())

    async def until(self, predicate: Any, timeout_s: float = 10.0) -> bool:
        """`wait_for` for async tests: polls without blocking the test's event loop."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return True
            await asyncio.sleep(0.05)
        return bool(predicate())

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
