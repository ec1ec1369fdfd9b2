"""ADK's optional remote-agent module, marked absent when its extra is not installed: the import ADK
tries on every turn fails at once, as ADK expects, and agents still build and answer."""

from __future__ import annotations

import importlib
import importlib.util
import sys

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
