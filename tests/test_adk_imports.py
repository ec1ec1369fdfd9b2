"""ADK's imports inside a turn: its optional remote-agent module, marked absent when its extra is not
installed (the import ADK tries on every turn fails at once, as ADK expects, and agents still build
and answer), and the modules it imports in a process's first turn, imported before it."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trip_planner.core.adk_imports import NEEDS_A2A, remember_missing_adk_extras


def test_without_a2a_the_remote_agent_module_is_remembered_as_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("a2a") is not None:
        pytest.skip("a2a is installed here: the module imports for real")
    for name in NEEDS_A2A:
        monkeypatch.delitem(sys.modules, name, raising=False)
    remember_missing_adk_extras()
    for name in NEEDS_A2A:
        assert sys.modules[name] is None
        with pytest.raises(ImportError):
            importlib.import_module(name)


def test_agents_still_build_with_the_module_marked_absent() -> None:
    from google.adk.workflow.utils._workflow_graph_utils import build_node

    from trip_planner.agents.concierge import build_concierge
    from trip_planner.models.offline import OfflinePlannerModel

    remember_missing_adk_extras()
    assert build_node(build_concierge(OfflinePlannerModel())) is not None


# Run in a fresh interpreter: this test process has imported everything long ago.
_TURNS_IMPORT_NOTHING = """
import asyncio, json, sys
from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner

async def main(url):
    runner = TripPlannerRunner(Settings(database_url=url))
    await runner.start()
    before = set(sys.modules)
    for text in ("Plan a trip to Lisbon in May for two", "and what should we pack?"):
        reply = await runner.ask("slack:T1:D1:U1", text)
        assert reply.status == "answered", reply
    await runner.close()
    print(json.dumps(sorted(set(sys.modules) - before)))

asyncio.run(main(sys.argv[1]))
"""


def test_a_turn_imports_no_adk_module_on_the_event_loop(tmp_path: Path) -> None:
    """What ADK imports inside a turn is imported before the runner takes messages: the first turn
    of a fresh process used to import ADK's workflow package (and FastAPI with it) on the event loop,
    stopping every conversation and acknowledgement for a third of a second. ADK still imports a few
    dozen small modules of its own in a first turn (about 20 ms in all), so the check is on what was
    slow: the workflow package and FastAPI behind it."""
    done = subprocess.run(
        [sys.executable, "-c", _TURNS_IMPORT_NOTHING, f"sqlite+aiosqlite:///{tmp_path / 'first.db'}"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "OPIK_TRACK_DISABLE": "true"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert "google.adk.workflow._workflow" not in imported
    assert [name for name in imported if name.split(".")[0] in ("fastapi", "starlette", "authlib")] == []
