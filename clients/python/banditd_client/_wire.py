"""Protobuf in and out of the data plane, shared by BanditClient and AsyncBanditClient.

The clients only make the calls; building requests and turning responses into Decisions
happens here, once.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

from banditd.v1 import common_pb2, decisions_pb2

from banditd_client.decision import Decision, ShadowDecision

# The generated modules are untyped for mypy (see pyproject.toml); messages are Any here.
Message = Any

_POLICIES: Final[list[tuple[common_pb2.Policy, str]]] = [
    (common_pb2.POLICY_UNSPECIFIED, "unspecified"),
    (common_pb2.POLICY_THOMPSON, "thompson"),
    (common_pb2.POLICY_UCB1, "ucb1"),
    (common_pb2.POLICY_KL_UCB, "kl_ucb"),
    (common_pb2.POLICY_EPSILON_GREEDY, "epsilon_greedy"),
    (common_pb2.POLICY_FIXED, "fixed"),
    (common_pb2.POLICY_GAUSSIAN_THOMPSON, "gaussian_thompson"),
]
POLICY_NAMES: Final[dict[int, str]] = {value: name for value, name in _POLICIES}
POLICY_BY_NAME: Final[dict[str, common_pb2.Policy]] = {name: value for value, name in _POLICIES}

# DecideBatchRequest.count's range, from decisions.proto.
MAX_BATCH_DECISIONS: Final = 10_000


def policy_name(policy: int) -> str:
    """The name of a Policy enum value; an unknown value (newer server) reads "policy_<n>"."""
    return POLICY_NAMES.get(policy, f"policy_{policy}")


def policy_value(name: str) -> common_pb2.Policy:
    """The Policy enum value for a name such as "kl_ucb" or "kl-ucb"."""
    key = name.strip().lower().replace("-", "_")
    if key not in POLICY_BY_NAME or key == "unspecified":
        choices = ", ".join(n for n in POLICY_BY_NAME if n != "unspecified")
        raise ValueError(f"unknown policy {name!r}; choose one of: {choices}")
    return POLICY_BY_NAME[key]


def new_event_id() -> str:
    """A fresh event id for a reward that the caller did not name."""
    return uuid.uuid4().hex


def decide_request(
    experiment: str, unit_id: str | None, attributes: Mapping[str, str] | None
) -> Message:
    return decisions_pb2.DecideRequest(
        experiment=experiment, unit_id=unit_id or "", attributes=dict(attributes or {})
    )


def decide_batch_request(
    experiment: str,
    count: int | None,
    unit_ids: Sequence[str] | None,
    attributes: Mapping[str, str] | None,
) -> Message:
    if unit_ids is not None:
        if isinstance(unit_ids, str):
            raise TypeError("unit_ids must be a sequence of unit ids, not one string")
        if count is not None and count != len(unit_ids):
            raise ValueError(
                f"count={count} but {len(unit_ids)} unit_ids given; pass one of them "
                "(with unit_ids there is one decision per unit id)"
            )
        return decisions_pb2.DecideBatchRequest(
            experiment=experiment, unit_ids=list(unit_ids), attributes=dict(attributes or {})
        )
    if count is None:
        raise ValueError("decide_batch needs count=N or unit_ids=[...]")
    if not 1 <= count <= MAX_BATCH_DECISIONS:
        raise ValueError(f"count must be 1 to {MAX_BATCH_DECISIONS}, got {count}")
    return decisions_pb2.DecideBatchRequest(
        experiment=experiment, count=count, attributes=dict(attributes or {})
    )


def check_decision_id(decision_id: str) -> None:
    """Refuses a reward the server could only reject, before it is queued or sent."""
    if not decision_id:
        raise ValueError(
            "decision_id is empty: a fallback Decision (fallback=True) has no decision id, "
            "so its reward cannot be reported; skip rewards for fallback decisions"
        )


def reward_outcome(
    reward: float | None, error: bool | None, latency_ms: float | None
) -> tuple[float | None, bool | None, float | None]:
    """Checks what one event reports and normalises it; None means "not reported".

    An event carries a reward, guardrail outcomes (error, latency_ms), or both; one with
    none of them could only be refused, so it is refused here, before it is sent or queued.
    """
    if reward is None and error is None and latency_ms is None:
        raise ValueError(
            "a reward event needs at least one of reward, error or latency_ms; all were None"
        )
    if latency_ms is not None:
        latency_ms = float(latency_ms)
        if not (math.isfinite(latency_ms) and latency_ms >= 0):
            raise ValueError(f"latency_ms must be a finite number >= 0, got {latency_ms!r}")
    return (
        None if reward is None else float(reward),
        None if error is None else bool(error),
        latency_ms,
    )


def reward_event(
    decision_id: str,
    reward: float | None,
    event_id: str | None,
    error: bool | None = None,
    latency_ms: float | None = None,
) -> Message:
    """A RewardEvent carrying exactly the outcomes given: the server tells "no reward"
    from "reward 0" by the field's presence, so an absent outcome is never set."""
    event = decisions_pb2.RewardEvent(decision_id=decision_id, event_id=event_id or new_event_id())
    if reward is not None:
        event.reward = reward
    if error is not None:
        event.error = error
    if latency_ms is not None:
        event.latency_ms = latency_ms
    return event


def report_reward_request(
    decision_id: str,
    reward: float | None,
    event_id: str | None,
    error: bool | None = None,
    latency_ms: float | None = None,
) -> Message:
    check_decision_id(decision_id)
    reward, error, latency_ms = reward_outcome(reward, error, latency_ms)
    return decisions_pb2.ReportRewardRequest(
        event=reward_event(decision_id, reward, event_id, error, latency_ms)
    )


def decision_from_response(experiment: str, response: Message) -> Decision:
    return Decision(
        experiment=experiment,
        arm=response.arm,
        version=response.version,
        decision_id=response.decision_id,
        propensity=response.propensity,
        policy=policy_name(response.policy),
        paused=response.paused,
        epoch=response.epoch,
        shadows=tuple(
            ShadowDecision(shadow.arm, shadow.version, shadow.decision_id)
            for shadow in response.shadows
        ),
    )


def decisions_from_batch(experiment: str, response: Message) -> list[Decision]:
    """Expands a batch response (an arm table plus one index per decision) into Decisions.

    Decision i mirrors every shadow arm j; that shadow's decision id is at
    i * len(shadow_arms) + j of shadow_decision_ids.
    """
    count = len(response.choices)
    if count != len(response.decision_ids):
        raise ValueError(
            f"malformed DecideBatchResponse: {count} choices but "
            f"{len(response.decision_ids)} decision ids"
        )
    shadow_table = [(arm.name, arm.version) for arm in response.shadow_arms]
    shadow_ids = list(response.shadow_decision_ids)
    if len(shadow_ids) != count * len(shadow_table):
        raise ValueError(
            f"malformed DecideBatchResponse: {count} decisions and {len(shadow_table)} "
            f"shadow arms but {len(shadow_ids)} shadow decision ids"
        )
    policy = policy_name(response.policy)
    paused, epoch = response.paused, response.epoch
    # Read the arm table once: proto field access costs more than tuple indexing.
    table = [(arm.name, arm.version, arm.propensity) for arm in response.arms]
    decisions = []
    width = len(shadow_table)
    shadows: tuple[ShadowDecision, ...] = ()
    for i, (choice, decision_id) in enumerate(
        zip(response.choices, response.decision_ids, strict=True)
    ):
        if choice >= len(table):
            raise ValueError(
                f"malformed DecideBatchResponse: arm index {choice} but only "
                f"{len(table)} arms in its table"
            )
        arm, version, propensity = table[choice]
        if width:
            shadows = tuple(
                ShadowDecision(name, shadow_version, shadow_id)
                for (name, shadow_version), shadow_id in zip(
                    shadow_table, shadow_ids[i * width : (i + 1) * width], strict=True
                )
            )
        decisions.append(
            Decision(
                experiment,
                arm,
                version,
                decision_id,
                propensity,
                policy,
                paused,
                epoch,
                False,
                shadows,
            )
        )
    return decisions


def fallback_decision(experiment: str, arm: str, version: str) -> Decision:
    """The decision a client makes on its own when the service cannot be reached."""
    return Decision(
        experiment=experiment,
        arm=arm,
        version=version,
        decision_id="",
        propensity=1.0,
        policy="fixed",
        paused=False,
        epoch=0,
        fallback=True,
    )
