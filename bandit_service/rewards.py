"""Where a reward lands in Redis: verify its decision id, validate it, record it exactly once.

Rewards are not buffered in the replica: a caller is told a reward is accepted only after
Redis has it, so a client knows exactly what to resend after a failure.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from .domain import Experiment, RewardType
from .engine import Engine, now_ms
from .errors import AlreadyExistsError, BanditError, InvalidArgumentError
from .guardrails import latency_bucket
from .stats import time_bucket
from .store import (
    OBSERVATION_CONFLICT,
    REWARD_CONFLICT,
    REWARD_DUPLICATE,
    RewardWrite,
    StateStore,
)
from .tokens import DecisionSigner, DecisionToken

MAX_EVENT_ID_BYTES = 128
MAX_EVENTS_PER_BATCH = 10_000


class RewardEvent(NamedTuple):
    """What one decision earned: a reward, guardrail outcomes (error, latency), or both.

    A tuple: a reward stream builds tens of thousands per second."""

    decision_id: str
    reward: float | None
    event_id: str
    error: bool | None = None
    latency_ms: float | None = None


# The outcome of one event: None when newly recorded, DUPLICATE when seen before,
# or the error that refused it.
DUPLICATE = "duplicate"
Outcome = BanditError | str | None


class RewardRecorder:
    def __init__(
        self, engine: Engine, store: StateStore, signer: DecisionSigner, ttl_s: int
    ) -> None:
        self._engine = engine
        self._store = store
        self._signer = signer
        self._ttl_s = ttl_s

    def _validate(
        self,
        event: RewardEvent,
        token: DecisionToken | BanditError,
        experiments: dict[str, tuple[Experiment, tuple[str, ...]]],
    ) -> tuple[str, RewardWrite]:
        if not event.event_id:
            raise InvalidArgumentError("event_id is required (any id unique per reward event)")
        # A character is at most 4 bytes: short ids need no encoding to be measured.
        if len(event.event_id) > MAX_EVENT_ID_BYTES // 4 and (
            len(event.event_id.encode()) > MAX_EVENT_ID_BYTES
        ):
            raise InvalidArgumentError(
                f"event_id is {len(event.event_id.encode())} bytes; at most "
                f"{MAX_EVENT_ID_BYTES} allowed"
            )
        reward, error, latency_ms = event.reward, event.error, event.latency_ms
        if reward is None and error is None and latency_ms is None:
            raise InvalidArgumentError(
                "the event carries nothing: set reward, error or latency_ms (or several)"
            )
        if reward is not None and not math.isfinite(reward):
            raise InvalidArgumentError(f"reward must be a finite number, got {reward}")
        if latency_ms is not None and not (math.isfinite(latency_ms) and latency_ms >= 0):
            raise InvalidArgumentError(f"latency_ms must be a finite number >= 0, got {latency_ms}")
        if isinstance(token, BanditError):
            raise token
        experiment, arm_names = self._experiment(token.experiment, experiments)
        if token.arm_index >= len(arm_names):
            # A valid signature over an unknown arm means the experiment was re-created.
            raise InvalidArgumentError(
                f"decision_id names arm #{token.arm_index}, which experiment "
                f"'{experiment.name}' does not have"
            )
        if reward is not None:
            experiment.check_reward(reward)
        write = RewardWrite(
            hour=token.decided_unix_ms // 3_600_000,
            nonce=token.nonce,
            event_id=event.event_id,
            arm=arm_names[token.arm_index],
            reward=reward,
            error=error,
            latency_bucket=None if latency_ms is None else latency_bucket(latency_ms),
            segment=token.segment,
            time_bucket=(
                time_bucket(experiment.timing, token.decided_unix_ms)
                if reward is not None and experiment.timing.bucketed
                else None
            ),
        )
        return experiment.name, write

    def _experiment(
        self, name: str, seen: dict[str, tuple[Experiment, tuple[str, ...]]]
    ) -> tuple[Experiment, tuple[str, ...]]:
        """The experiment and its arm names, looked up once per batch (seen)."""
        found = seen.get(name)
        if found is None:
            experiment = self._engine.experiment(name)
            found = seen[name] = (experiment, tuple(experiment.arm_names))
        return found

    def record(self, events: Sequence[RewardEvent]) -> list[Outcome]:
        """Records events; returns one outcome per event, in order.

        Raises StoreUnavailableError if Redis fails: then nothing of this call may be
        assumed recorded, and the caller resends it all (duplicates are recognised).
        """
        if len(events) > MAX_EVENTS_PER_BATCH:
            raise InvalidArgumentError(
                f"events: at most {MAX_EVENTS_PER_BATCH} per batch, got {len(events)}"
            )
        tokens = self._signer.verify_many([event.decision_id for event in events], now_ms())
        outcomes: list[Outcome] = [None] * len(events)
        groups: dict[str, list[tuple[int, RewardWrite]]] = defaultdict(list)
        experiments: dict[str, tuple[Experiment, tuple[str, ...]]] = {}
        for index, (event, token) in enumerate(zip(events, tokens, strict=True)):
            try:
                name, write = self._validate(event, token, experiments)
            except BanditError as exc:
                outcomes[index] = exc
                continue
            groups[name].append((index, write))
        for name, items in groups.items():
            experiment, _ = experiments[name]
            codes = self._store.record_rewards(
                name,
                [write for _, write in items],
                track_squares=experiment.reward_type is RewardType.CONTINUOUS,
                ttl_s=self._ttl_s,
                max_segments=experiment.segmentation.max_values,
            )
            for (index, write), code in zip(items, codes, strict=True):
                if code == REWARD_DUPLICATE:
                    outcomes[index] = DUPLICATE
                elif code == REWARD_CONFLICT:
                    outcomes[index] = AlreadyExistsError(
                        f"the decision was already rewarded by another event (event_id "
                        f"'{write.event_id}' is new); a decision earns one reward"
                    )
                elif code == OBSERVATION_CONFLICT:
                    outcomes[index] = AlreadyExistsError(
                        f"the decision already has guardrail outcomes from another event "
                        f"(event_id '{write.event_id}' is new); report error and latency once "
                        "per decision"
                    )
        return outcomes
