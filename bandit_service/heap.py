"""Keeps the garbage collector's full passes short and off the request path.

CPython's full (oldest-generation) collection walks every tracked object with the GIL
held. A serving process holds two kinds of long-lived objects: what it imported before
its first request (numpy, numba, llvmlite, grpc, redis: tens of thousands of objects)
and the snapshots of every experiment it serves (about a hundred objects each, so a
million and more with 10,000 experiments). Measured on a 2-core machine, a full pass
took 30-90 ms over the start-up heap alone and 250-320 ms with 10,000 experiments
loaded, every few seconds under load: that pause was the p99 of a 3 ms call.

So the process freezes what survives: the start-up heap before it reports SERVING, and
after every full pass whatever that pass kept. Frozen objects sit in the permanent
generation, which no pass walks, so the next full pass only walks what was promoted
since the last one. Reference counting still frees frozen objects; what freezing gives
up is collecting reference cycles among objects that were frozen while alive. banditd's
serving state forms almost none (a test checks it), and once an hour everything is
thawed so that the next full pass walks the whole heap and frees any there are.
"""

from __future__ import annotations

import gc
import time
from typing import Any

# How often a full pass sees the whole heap, to free cycles among once-frozen objects.
WHOLE_HEAP_PASS_EVERY_S = 3600.0


def freeze_start_up_heap() -> int:
    """Collects once, then freezes every surviving object; returns how many were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class FreezeAfterFullPasses:
    """A gc callback: after each full pass, freezes the survivors (see the module's doc)."""

    def __init__(self, whole_heap_every_s: float = WHOLE_HEAP_PASS_EVERY_S) -> None:
        self._whole_heap_every_s = whole_heap_every_s
        self._last_thaw = time.monotonic()
        self.full_passes = 0
        self.thaws = 0

    def install(self) -> FreezeAfterFullPasses:
        gc.callbacks.append(self._after_pass)
        return self

    def uninstall(self) -> None:
        if self._after_pass in gc.callbacks:
            gc.callbacks.remove(self._after_pass)

    def _after_pass(self, phase: str, info: dict[str, Any]) -> None:
        # Passes never overlap (CPython runs one at a time, callbacks included), so no lock.
        if phase != "stop" or info["generation"] != 2:
            return
        self.full_passes += 1
        now = time.monotonic()
        if now - self._last_thaw >= self._whole_heap_every_s:
            # The next full pass walks everything once; it is frozen again after it.
            self._last_thaw = now
            self.thaws += 1
            gc.unfreeze()
        else:
            gc.freeze()


def keep_full_passes_short() -> tuple[int, FreezeAfterFullPasses]:
    """For a process that serves: freezes the start-up heap and installs the callback.
    Returns how many start-up objects were frozen, and the callback."""
    frozen = freeze_start_up_heap()
    return frozen, FreezeAfterFullPasses().install()
