"""Experiments and arms: plain values, their validation, and the admin changes to them.

Every change is a pure function from one Experiment to the next; the store writes the
result with a compare-and-set on the epoch, so concurrent admins never lose an update.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from .errors import (
    AlreadyExistsError,
    ArmNotFoundError,
    FailedPreconditionError,
    InvalidArgumentError,
)

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME_RULE = "1 to 64 characters: letters, digits, '.', '_', '-', starting with a letter or digit"
MAX_ARMS = 128
MAX_VERSION_BYTES = 512
MAX_DESCRIPTION_BYTES = 2048


class RewardType(StrEnum):
    BINARY = "binary"
    CONTINUOUS = "continuous"


class ArmState(StrEnum):
    LIVE = "live"
    RETIRED = "retired"


class PolicyName(StrEnum):
    THOMPSON = "thompson"
    UCB1 = "ucb1"
    KL_UCB = "kl_ucb"
    EPSILON_GREEDY = "epsilon_greedy"
    FIXED = "fixed"


# Parameter name -> (default, lowest allowed, highest allowed, lowest is exclusive).
POLICY_PARAMS: dict[PolicyName, dict[str, tuple[float, float, float, bool]]] = {
    PolicyName.THOMPSON: {
        "prior_alpha": (1.0, 0.0, 1e9, True),
        "prior_beta": (1.0, 0.0, 1e9, True),
    },
    PolicyName.UCB1: {"exploration": (1.0, 0.0, 1e3, False)},
    PolicyName.KL_UCB: {"exploration": (0.0, 0.0, 1e3, False)},
    PolicyName.EPSILON_GREEDY: {"epsilon": (0.1, 0.0, 1.0, False)},
    PolicyName.FIXED: {},
}


def validate_name(value: str, field_name: str) -> str:
    """Returns value if it is a valid experiment or arm name, else raises InvalidArgumentError."""
    if not value:
        raise InvalidArgumentError(f"{field_name} is required ({NAME_RULE})")
    if NAME_PATTERN.fullmatch(value) is None:
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise InvalidArgumentError(f"{field_name} '{shown}' is not valid: use {NAME_RULE}")
    return value


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    name: PolicyName
    params: Mapping[str, float] = field(default_factory=dict)
    # Arm name -> weight; used by the fixed policy only.
    weights: Mapping[str, float] = field(default_factory=dict)

    def param(self, key: str) -> float:
        value = self.params.get(key)
        return POLICY_PARAMS[self.name][key][0] if value is None else value


@dataclass(frozen=True, slots=True)
class Arm:
    name: str
    version: str
    state: ArmState = ArmState.LIVE

    @property
    def is_live(self) -> bool:
        return self.state is ArmState.LIVE


@dataclass(frozen=True, slots=True)
class Experiment:
    """One experiment's config. Arms are only ever appended, so an arm's index is stable."""

    name: str
    policy: PolicyConfig
    reward_type: RewardType
    arms: tuple[Arm, ...]
    default_arm: str
    reward_min: float = 0.0
    reward_max: float = 1.0
    description: str = ""
    paused: bool = False
    epoch: int = 0
    created_unix_ms: int = 0

    @property
    def arm_names(self) -> list[str]:
        return [arm.name for arm in self.arms]

    def arm_index(self, arm: str) -> int:
        for index, candidate in enumerate(self.arms):
            if candidate.name == arm:
                return index
        raise ArmNotFoundError(self.name, arm, self.arm_names)

    @property
    def default_index(self) -> int:
        return self.arm_index(self.default_arm)

    @property
    def live_arms(self) -> list[Arm]:
        return [arm for arm in self.arms if arm.is_live]

    def check_reward(self, reward: float) -> None:
        """Raises InvalidArgumentError unless reward fits this experiment's reward type."""
        if not math.isfinite(reward):
            raise InvalidArgumentError(f"reward must be a finite number, got {reward}")
        if self.reward_type is RewardType.BINARY:
            if reward not in (0.0, 1.0):
                raise InvalidArgumentError(
                    f"reward must be 0 or 1 for binary experiment '{self.name}', got {reward:g}"
                )
        elif not self.reward_min <= reward <= self.reward_max:
            raise InvalidArgumentError(
                f"reward must be within [{self.reward_min:g}, {self.reward_max:g}] "
                f"for experiment '{self.name}', got {reward:g}"
            )

    def to_json(self) -> str:
        """Serialises everything but the epoch, which the store keeps beside the document."""
        return json.dumps(
            {
                "name": self.name,
                "description": self.description,
                "policy": {
                    "name": self.policy.name.value,
                    "params": dict(self.policy.params),
                    "weights": dict(self.policy.weights),
                },
                "reward_type": self.reward_type.value,
                "reward_min": self.reward_min,
                "reward_max": self.reward_max,
                "arms": [[a.name, a.version, a.state.value] for a in self.arms],
                "default_arm": self.default_arm,
                "paused": self.paused,
                "created_unix_ms": self.created_unix_ms,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes, epoch: int) -> Experiment:
        doc: dict[str, Any] = json.loads(text)
        policy = doc["policy"]
        return cls(
            name=doc["name"],
            description=doc["description"],
            policy=PolicyConfig(
                name=PolicyName(policy["name"]),
                params=policy["params"],
                weights=policy["weights"],
            ),
            reward_type=RewardType(doc["reward_type"]),
            reward_min=doc["reward_min"],
            reward_max=doc["reward_max"],
            arms=tuple(Arm(name, version, ArmState(state)) for name, version, state in doc["arms"]),
            default_arm=doc["default_arm"],
            paused=doc["paused"],
            epoch=epoch,
            created_unix_ms=doc["created_unix_ms"],
        )


def _check_version(version: str, field_name: str) -> str:
    if len(version.encode()) > MAX_VERSION_BYTES:
        raise InvalidArgumentError(
            f"{field_name} is {len(version.encode())} bytes; at most {MAX_VERSION_BYTES} allowed"
        )
    return version


def validate_policy(policy: PolicyConfig, arms: Sequence[Arm]) -> PolicyConfig:
    """Fills defaults and checks every parameter, naming the field and its allowed range."""
    allowed = POLICY_PARAMS[policy.name]
    for key in policy.params:
        if key not in allowed:
            raise InvalidArgumentError(
                f"policy.{key} does not apply to policy '{policy.name.value}'"
                f" (it takes: {', '.join(allowed) or 'no parameters'})"
            )
    params: dict[str, float] = {}
    for key, (default, low, high, low_exclusive) in allowed.items():
        value = float(policy.params.get(key, default))
        too_low = value <= low if low_exclusive else value < low
        if not math.isfinite(value) or too_low or value > high:
            bracket = "(" if low_exclusive else "["
            raise InvalidArgumentError(
                f"policy.{key} must be within {bracket}{low:g}, {high:g}], got {value:g}"
            )
        params[key] = value
    weights: dict[str, float] = {}
    if policy.name is PolicyName.FIXED:
        names = {arm.name for arm in arms}
        for arm_name, weight in policy.weights.items():
            if arm_name not in names:
                raise InvalidArgumentError(
                    f"policy.fixed.weights names arm '{arm_name}', which the experiment does not "
                    f"have (arms: {', '.join(a.name for a in arms)})"
                )
            if not math.isfinite(weight) or weight < 0:
                raise InvalidArgumentError(
                    f"policy.fixed.weights['{arm_name}'] must be a finite number >= 0, "
                    f"got {weight:g}"
                )
            weights[arm_name] = float(weight)
        if not any(weights.get(arm.name, 0.0) > 0 for arm in arms if arm.is_live):
            raise InvalidArgumentError(
                "policy.fixed.weights must give at least one live arm a positive weight"
            )
    elif policy.weights:
        raise InvalidArgumentError(
            f"policy weights apply to the fixed policy only, not '{policy.name.value}'"
        )
    return PolicyConfig(policy.name, params, weights)


def new_experiment(
    *,
    name: str,
    policy: PolicyConfig,
    reward_type: RewardType,
    arms: Sequence[tuple[str, str]],
    default_arm: str = "",
    reward_min: float = 0.0,
    reward_max: float = 1.0,
    description: str = "",
    created_unix_ms: int = 0,
) -> Experiment:
    """Validates a create request and returns the experiment at epoch 0."""
    validate_name(name, "name")
    if len(description.encode()) > MAX_DESCRIPTION_BYTES:
        raise InvalidArgumentError(f"description is longer than {MAX_DESCRIPTION_BYTES} bytes")
    if not arms:
        raise InvalidArgumentError("arms: an experiment needs at least one arm")
    if len(arms) > MAX_ARMS:
        raise InvalidArgumentError(f"arms: at most {MAX_ARMS} arms, got {len(arms)}")
    seen: set[str] = set()
    arm_values = []
    for position, (arm_name, version) in enumerate(arms):
        validate_name(arm_name, f"arms[{position}].name")
        if arm_name in seen:
            raise InvalidArgumentError(f"arms: arm '{arm_name}' is listed twice")
        seen.add(arm_name)
        arm_values.append(Arm(arm_name, _check_version(version, f"arms[{position}].version")))
    if reward_type is RewardType.BINARY:
        reward_min, reward_max = 0.0, 1.0
    elif not (math.isfinite(reward_min) and math.isfinite(reward_max) and reward_min < reward_max):
        raise InvalidArgumentError(
            "reward_min and reward_max must be finite with reward_min < reward_max for "
            f"continuous rewards, got [{reward_min:g}, {reward_max:g}]"
        )
    default = default_arm or arm_values[0].name
    if default not in seen:
        raise InvalidArgumentError(
            f"default_arm '{default}' is not one of the arms "
            f"({', '.join(a.name for a in arm_values)})"
        )
    return Experiment(
        name=name,
        policy=validate_policy(policy, arm_values),
        reward_type=reward_type,
        arms=tuple(arm_values),
        default_arm=default,
        reward_min=reward_min,
        reward_max=reward_max,
        description=description,
        created_unix_ms=created_unix_ms,
    )


def _with_arm_state(experiment: Experiment, index: int, state: ArmState) -> tuple[Arm, ...]:
    arms = list(experiment.arms)
    arms[index] = replace(arms[index], state=state)
    return tuple(arms)


def add_arm(experiment: Experiment, name: str, version: str, weight: float = 0.0) -> Experiment:
    validate_name(name, "arm.name")
    if name in experiment.arm_names:
        raise AlreadyExistsError(f"experiment '{experiment.name}' already has an arm '{name}'")
    if len(experiment.arms) >= MAX_ARMS:
        raise FailedPreconditionError(
            f"experiment '{experiment.name}' has {MAX_ARMS} arms, the most it can hold"
        )
    if not math.isfinite(weight) or weight < 0:
        raise InvalidArgumentError(f"weight must be a finite number >= 0, got {weight:g}")
    arms = (*experiment.arms, Arm(name, _check_version(version, "arm.version")))
    policy = experiment.policy
    if policy.name is PolicyName.FIXED:
        policy = replace(policy, weights={**policy.weights, name: float(weight)})
    return replace(experiment, arms=arms, policy=policy)


def retire_arm(experiment: Experiment, name: str) -> Experiment:
    index = experiment.arm_index(name)
    arm = experiment.arms[index]
    if not arm.is_live:
        return experiment
    if name == experiment.default_arm:
        raise FailedPreconditionError(
            f"arm '{name}' is the default arm of experiment '{experiment.name}'; make another "
            "arm the default first ('banditctl arm set-default') or promote one"
        )
    if len(experiment.live_arms) == 1:
        raise FailedPreconditionError(
            f"arm '{name}' is the last live arm of experiment '{experiment.name}'"
        )
    retired = replace(experiment, arms=_with_arm_state(experiment, index, ArmState.RETIRED))
    if retired.policy.name is PolicyName.FIXED and not any(
        retired.policy.weights.get(a.name, 0.0) > 0 for a in retired.live_arms
    ):
        raise FailedPreconditionError(
            f"retiring '{name}' would leave no live arm with a positive weight; set weights "
            "first ('banditctl experiment set-policy')"
        )
    return retired


def promote_arm(experiment: Experiment, name: str) -> Experiment:
    """The promoted arm becomes the default and the only live arm."""
    index = experiment.arm_index(name)
    if not experiment.arms[index].is_live:
        raise FailedPreconditionError(
            f"arm '{name}' of experiment '{experiment.name}' is retired; only a live arm can be "
            "promoted"
        )
    arms = tuple(
        replace(arm, state=ArmState.LIVE if i == index else ArmState.RETIRED)
        for i, arm in enumerate(experiment.arms)
    )
    policy = experiment.policy
    if policy.name is PolicyName.FIXED:
        policy = replace(policy, weights={**policy.weights, name: 1.0})
    return replace(experiment, arms=arms, default_arm=name, policy=policy)


def set_default_arm(experiment: Experiment, name: str) -> Experiment:
    index = experiment.arm_index(name)
    if not experiment.arms[index].is_live:
        raise FailedPreconditionError(
            f"arm '{name}' of experiment '{experiment.name}' is retired; the default arm must "
            "be live"
        )
    return replace(experiment, default_arm=name)


def set_policy(experiment: Experiment, policy: PolicyConfig) -> Experiment:
    return replace(experiment, policy=validate_policy(policy, experiment.arms))


def set_paused(experiment: Experiment, paused: bool) -> Experiment:
    return replace(experiment, paused=paused)
