"""The start-up heap is frozen out of the collector's way; what comes later is still collected."""

from __future__ import annotations

import gc

from bessai.core.runtime.heap import freeze_startup_heap


class Marker:
    """A plain object, tracked by the collector."""


def tracked(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_startup_objects_leave_the_collector_and_later_ones_stay() -> None:
    before = Marker()
    assert tracked(before)
    try:
        frozen = freeze_startup_heap()
        assert frozen == gc.get_freeze_count() > 0
        assert not tracked(before)  # a full collection no longer walks it
        after = Marker()
        assert tracked(after)
        cycle: list[object] = []
        cycle.append(cycle)  # garbage made after start-up is still found
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
    assert tracked(before)
