"""The start-up heap is frozen out of the garbage collector's passes (in a child process,
since freezing is process-wide and pytest's own heap must stay collectable)."""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import gc, json
import numpy, grpc
from bandit_service.heap import freeze_start_up_heap
before = len(gc.get_objects())
frozen = freeze_start_up_heap()
after = len(gc.get_objects())
cycle = []
cycle.append(cycle)
del cycle
print(json.dumps({"before": before, "frozen": frozen, "after": after,
                  "collected": gc.collect()}))
"""


def test_freezing_leaves_only_new_objects_to_collect() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, check=True
    )
    seen = json.loads(done.stdout)
    assert seen["frozen"] >= seen["before"] // 2, seen
    # What a full pass walks now is what was made after the freeze, not the imports.
    assert seen["after"] < seen["before"] // 20, seen
    # Garbage made after the freeze is still collected.
    assert seen["collected"] >= 1, seen
