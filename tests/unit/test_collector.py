"""A streaming process's collector: its startup heap left out of later passes, young passes rarer."""

from __future__ import annotations

import gc

from consumers.collector import YOUNG_EVERY, settle_collector


def test_settling_freezes_what_the_process_holds_and_spaces_out_young_passes() -> None:
    before = gc.get_threshold()
    # Python's defaults, whatever ran in this process before (a CLI test settles it too)
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    held = [object() for _ in range(1000)]  # what a process holds once it has set up
    try:
        settle_collector()
        assert gc.get_freeze_count() >= len(held)
        assert gc.get_threshold()[0] == YOUNG_EVERY
        garbage: list[object] = []
        garbage.append(garbage)  # a cycle made later is still collected
        del garbage
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
