"""Keep Python's full garbage collections short in a long-running gateway.

After start-up the heap holds about 100,000 tracked objects that live as long
as the process (numpy, scikit-learn, onnxruntime, the Google clients, Qt, the
loaded profiles and models). Every full collection walked them all: about
80 ms on the edge computer, a stall of the one event loop that polls the
devices. Frozen once start-up is done, they are never scanned again.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze_startup_heap() -> int:
    """Collect what start-up left behind, then move the survivors out of the collector's way.

    Call once, when the gateway (and the window) are up; returns how many
    objects are frozen.
    """
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("start-up heap frozen", extra={"objects": frozen})
    return frozen
