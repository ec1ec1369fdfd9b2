"""The start-up freeze: start-up's objects move out of the collector's way, and young garbage is
collected first, so a freeze never keeps garbage for the life of the process."""

from __future__ import annotations

import gc
import weakref

from trip_planner.core.interpreter import freeze_what_start_up_made


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector can free it


def test_young_garbage_is_collected_before_the_freeze_and_live_objects_are_frozen() -> None:
    gc.collect()
    kept = _Node()
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage
    frozen_before = gc.get_freeze_count()
    try:
        freeze_what_start_up_made()
        assert gone() is None  # collected, not frozen with the rest
        assert gc.get_freeze_count() > frozen_before
        assert not any(obj is kept for obj in gc.get_objects())  # frozen: no generation holds it
    finally:
        gc.unfreeze()
    assert any(obj is kept for obj in gc.get_objects())
