"""The audit trail: who changed an experiment, what, when and why, oldest first."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

# The actor of automatic actions (rollbacks, ramp steps).
AUTOMATIC_ACTOR = "banditd"
MAX_ENTRIES = 10_000
MAX_ACTOR_BYTES = 128


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at_unix_ms: int
    actor: str
    action: str
    arm: str = ""
    detail: str = ""
    # The config epoch the change produced.
    epoch: int = 0

    def at_epoch(self, epoch: int) -> HistoryEntry:
        return replace(self, epoch=epoch)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> HistoryEntry:
        return cls(**json.loads(text))


def clean_actor(actor: str) -> str:
    """The caller-supplied actor name, trimmed to something safe to store and print."""
    printable = "".join(c for c in actor if c.isprintable()).strip()
    return printable.encode()[:MAX_ACTOR_BYTES].decode(errors="ignore") or "admin"
