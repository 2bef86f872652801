"""The `banditd` command's entry point: `banditd serve` runs on the C allocator.

CPython's small-object allocator (pymalloc) serves each allocation from a pool of its size
class, and frees it back there. Loading thousands of experiments interleaves long-lived
objects with short-lived ones, leaving pools all over the heap with a few free slots each;
afterwards every request's objects land in a different pool, on a cold cache line, and the
whole server runs slower. Measured with 10,000 experiments loaded on a 2-core machine:
Decide's CPU per call went from 1.12x an empty handler's to 1.23-1.29x, and the same
happened to a replica with no experiments after 100 MB of fragmented ballast. With
PYTHONMALLOC=malloc (glibc's allocator, which reuses the blocks a thread freed last) it
stayed at 1.12x, and an unfragmented server was no slower.

The allocator is chosen when the interpreter starts, so `banditd serve` re-executes itself
with PYTHONMALLOC=malloc, before importing anything heavy, unless PYTHONMALLOC is set
already (an operator's choice is kept). The process keeps its PID.
"""

from __future__ import annotations

import os
import sys

ALLOCATOR_ENV = "PYTHONMALLOC"
SERVE_ALLOCATOR = "malloc"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["serve"] and ALLOCATOR_ENV not in os.environ:
        env = {**os.environ, ALLOCATOR_ENV: SERVE_ALLOCATOR}
        os.execve(sys.executable, [sys.executable, "-m", "bandit_service", *args], env)
    from .cli import main as cli_main

    return cli_main(args)
