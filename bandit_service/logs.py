"""The one place logging is configured (by the `banditd` command, never on import)."""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    # numba logs every compilation step at DEBUG.
    logging.getLogger("numba").setLevel(logging.WARNING)
