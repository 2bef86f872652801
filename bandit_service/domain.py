"""Experiments and arms: plain values, their validation, and the admin changes to them.

Every change is a pure function from one Experiment to the next; the store writes the
result with a compare-and-set on the epoch, so concurrent admins never lose an update.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
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
MAX_GUARDRAILS = 16
MAX_RAMP_STEPS = 16
MAX_TIMING_S = 90 * 24 * 3600
MAX_SEGMENT_BYTES = 64
MAX_SEGMENT_VALUES = 1024
DEFAULT_GUARDRAIL_MIN_SAMPLES = 200
DEFAULT_GUARDRAIL_LEVEL = 0.95
DEFAULT_LATENCY_QUANTILE = 0.95
DEFAULT_GUARDRAIL_WINDOW_S = 900.0
MAX_GUARDRAIL_WINDOW_S = 30 * 24 * 3600


class RewardType(StrEnum):
    BINARY = "binary"
    CONTINUOUS = "continuous"


class ArmState(StrEnum):
    LIVE = "live"
    RETIRED = "retired"
    # Mirrored by every decision, never served.
    SHADOW = "shadow"
    # Taken out of traffic by a guardrail; an operator can re-admit it.
    ROLLED_BACK = "rolled_back"


class GuardrailKind(StrEnum):
    ERROR_RATE = "error_rate"
    LATENCY = "latency"


class PolicyName(StrEnum):
    THOMPSON = "thompson"
    UCB1 = "ucb1"
    KL_UCB = "kl_ucb"
    EPSILON_GREEDY = "epsilon_greedy"
    FIXED = "fixed"
    GAUSSIAN_THOMPSON = "gaussian_thompson"


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
    PolicyName.GAUSSIAN_THOMPSON: {
        "prior_mean": (0.5, 0.0, 1.0, False),
        "prior_sd": (0.5, 0.0, 1e3, True),
    },
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
class Ramp:
    """A canary ramp: the arm gets exactly steps[step] of traffic until the ramp is done."""

    steps: tuple[float, ...]
    min_decisions: int = 0
    min_seconds: float = 0.0
    step: int = 0
    step_started_unix_ms: int = 0
    # The arm's pulls when the step started: decisions in this step = pulls now - this.
    step_start_pulls: int = 0

    @property
    def done(self) -> bool:
        return self.step >= len(self.steps)


@dataclass(frozen=True, slots=True)
class ArmLimits:
    """Bounds on a live arm's traffic share that every policy respects."""

    cap: float | None = None
    floor: float | None = None
    # The cap lifts once the arm has this many rewards; 0 keeps it.
    cap_until_rewards: int = 0
    ramp: Ramp | None = None

    @property
    def empty(self) -> bool:
        return self.cap is None and self.floor is None and self.ramp is None

    def bounds(self, rewards: float) -> tuple[float, float]:
        """(floor, cap) in force for an arm with this many rewards."""
        if self.ramp is not None and not self.ramp.done:
            share = self.ramp.steps[self.ramp.step]
            return share, share
        cap = 1.0
        if self.cap is not None and (
            self.cap_until_rewards == 0 or rewards < self.cap_until_rewards
        ):
            cap = self.cap
        floor = min(self.floor or 0.0, cap)
        return floor, cap


# Most arms have no limits: the configs a replica loads share this one (it is frozen).
NO_LIMITS = ArmLimits()


@dataclass(frozen=True, slots=True)
class Rollback:
    """Why a guardrail took an arm out of traffic, with the evidence."""

    guardrail: str
    reason: str
    probability: float
    at_unix_ms: int
    samples: int
    control_samples: int = 0


@dataclass(frozen=True, slots=True)
class Arm:
    name: str
    version: str
    state: ArmState = ArmState.LIVE
    limits: ArmLimits = field(default_factory=ArmLimits)
    rollback: Rollback | None = None

    @property
    def is_live(self) -> bool:
        return self.state is ArmState.LIVE

    @property
    def is_shadow(self) -> bool:
        return self.state is ArmState.SHADOW


@dataclass(frozen=True, slots=True)
class Guardrail:
    """A limit every arm must keep; an arm that breaches it with posterior probability >= level
    after min_samples observations is rolled back.

    error_rate: the arm's error rate may exceed the control arm's by at most max_increase.
    latency: at most (1 - quantile) of the arm's requests may be slower than ceiling_ms.
    """

    name: str
    kind: GuardrailKind
    max_increase: float = 0.0
    control_arm: str = ""
    ceiling_ms: float = 0.0
    quantile: float = DEFAULT_LATENCY_QUANTILE
    min_samples: int = DEFAULT_GUARDRAIL_MIN_SAMPLES
    level: float = DEFAULT_GUARDRAIL_LEVEL
    # Judged on this segment's decisions only ("" = all decisions).
    segment: str = ""
    # Judged on the observations of the last window_s seconds; 0: all history.
    window_s: float = DEFAULT_GUARDRAIL_WINDOW_S

    def control(self, experiment: Experiment) -> str:
        return self.control_arm or experiment.default_arm


@dataclass(frozen=True, slots=True)
class PromotionRule:
    """When an arm is ready to take all traffic, and whether banditd promotes it itself."""

    prob_best: float = 0.95
    # Expected loss as a fraction of the best arm's mean reward.
    max_expected_loss: float = 0.01
    # Trials (decisions for binary rewards, rewards for continuous) every live arm needs.
    min_samples: int = 1000
    auto_promote: bool = False


# Time buckets of decision-time statistics: about this many cover the shorter of the reward
# wait and the window, so maturity and the window's edge are resolved to a few percent.
_BUCKETS_PER_SPAN = 30


@dataclass(frozen=True, slots=True)
class RewardTiming:
    """Delayed rewards (a wait before a decision counts) and a sliding window (drift)."""

    reward_wait_s: float = 0.0
    # The reward of a decision that matured without one; None: such decisions do not count
    # (continuous rewards). Binary experiments always use 0 when unset.
    default_reward: float | None = None
    window_s: float = 0.0

    @property
    def bucketed(self) -> bool:
        """Whether statistics are also kept per decision-time bucket."""
        return self.reward_wait_s > 0 or self.window_s > 0

    @property
    def bucket_s(self) -> int:
        spans = [x for x in (self.reward_wait_s, self.window_s) if x > 0]
        if not spans:
            return 0
        return int(min(3600, max(1, min(spans) // _BUCKETS_PER_SPAN)))


@dataclass(frozen=True, slots=True)
class Segmentation:
    """Statistics and allocation per value of one request attribute."""

    attribute: str = ""
    min_samples: int = 500
    max_values: int = 64

    @property
    def enabled(self) -> bool:
        return bool(self.attribute)


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
    guardrails: tuple[Guardrail, ...] = ()
    promotion: PromotionRule = field(default_factory=PromotionRule)
    timing: RewardTiming = field(default_factory=RewardTiming)
    segmentation: Segmentation = field(default_factory=Segmentation)

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

    @property
    def shadow_indices(self) -> tuple[int, ...]:
        return tuple(i for i, arm in enumerate(self.arms) if arm.is_shadow)

    @property
    def needs_autopilot(self) -> bool:
        """Whether automatic actions (rollbacks, ramp steps) can apply to this experiment."""
        return (
            bool(self.guardrails)
            or self.promotion.auto_promote
            or any(arm.limits.ramp is not None and not arm.limits.ramp.done for arm in self.arms)
        )

    @property
    def default_reward(self) -> float | None:
        """What a matured decision without a reward counts as (None: it does not count)."""
        if self.timing.default_reward is not None:
            return self.timing.default_reward
        return 0.0 if self.reward_type is RewardType.BINARY else None

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
                "arms": [_arm_to_doc(a) for a in self.arms],
                "default_arm": self.default_arm,
                "paused": self.paused,
                "created_unix_ms": self.created_unix_ms,
                "guardrails": [_guardrail_to_doc(g) for g in self.guardrails],
                "promotion": asdict(self.promotion),
                "timing": asdict(self.timing),
                "segmentation": asdict(self.segmentation),
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
            arms=tuple(_arm_from_doc(arm) for arm in doc["arms"]),
            default_arm=doc["default_arm"],
            paused=doc["paused"],
            epoch=epoch,
            created_unix_ms=doc["created_unix_ms"],
            guardrails=tuple(_guardrail_from_doc(g) for g in doc.get("guardrails", ())),
            promotion=PromotionRule(**doc.get("promotion", {})),
            timing=RewardTiming(**doc.get("timing", {})),
            segmentation=Segmentation(**doc.get("segmentation", {})),
        )


def _arm_to_doc(arm: Arm) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": arm.name, "version": arm.version, "state": arm.state.value}
    if not arm.limits.empty:
        limits = arm.limits
        doc["limits"] = {
            "cap": limits.cap,
            "floor": limits.floor,
            "cap_until_rewards": limits.cap_until_rewards,
            "ramp": None if limits.ramp is None else asdict(limits.ramp),
        }
    if arm.rollback is not None:
        doc["rollback"] = asdict(arm.rollback)
    return doc


def _arm_from_doc(doc: list[str] | dict[str, Any]) -> Arm:
    if isinstance(doc, list):  # the first layout: [name, version, state]
        name, version, state = doc
        return Arm(name, version, ArmState(state))
    limits = NO_LIMITS
    if "limits" in doc:
        raw = doc["limits"]
        ramp = raw.get("ramp")
        limits = ArmLimits(
            cap=raw.get("cap"),
            floor=raw.get("floor"),
            cap_until_rewards=raw.get("cap_until_rewards", 0),
            ramp=None if ramp is None else Ramp(**{**ramp, "steps": tuple(ramp["steps"])}),
        )
        if limits == NO_LIMITS:
            limits = NO_LIMITS
    rollback = doc.get("rollback")
    return Arm(
        doc["name"],
        doc["version"],
        ArmState(doc["state"]),
        limits,
        None if rollback is None else Rollback(**rollback),
    )


def _guardrail_to_doc(guardrail: Guardrail) -> dict[str, Any]:
    return asdict(guardrail)


def _guardrail_from_doc(doc: dict[str, Any]) -> Guardrail:
    return Guardrail(**{**doc, "kind": GuardrailKind(doc["kind"])})


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


@dataclass(frozen=True, slots=True)
class ArmSpec:
    """An arm as a create request describes it."""

    name: str
    version: str = ""
    shadow: bool = False
    limits: ArmLimits = field(default_factory=ArmLimits)


def new_experiment(
    *,
    name: str,
    policy: PolicyConfig,
    reward_type: RewardType,
    arms: Sequence[tuple[str, str] | ArmSpec],
    default_arm: str = "",
    reward_min: float = 0.0,
    reward_max: float = 1.0,
    description: str = "",
    created_unix_ms: int = 0,
    guardrails: Sequence[Guardrail] = (),
    promotion: PromotionRule | None = None,
    timing: RewardTiming | None = None,
    segmentation: Segmentation | None = None,
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
    for position, given in enumerate(arms):
        spec = given if isinstance(given, ArmSpec) else ArmSpec(*given)
        where = f"arms[{position}]"
        validate_name(spec.name, f"{where}.name")
        if spec.name in seen:
            raise InvalidArgumentError(f"arms: arm '{spec.name}' is listed twice")
        seen.add(spec.name)
        limits = validate_limits(spec.limits, f"{where}.limits")
        arm_values.append(
            Arm(
                spec.name,
                _check_version(spec.version, f"{where}.version"),
                ArmState.SHADOW if spec.shadow else ArmState.LIVE,
                limits,
            )
        )
    if not any(arm.is_live for arm in arm_values):
        raise InvalidArgumentError("arms: at least one arm must be live (not shadow)")
    if reward_type is RewardType.BINARY:
        reward_min, reward_max = 0.0, 1.0
    elif not (math.isfinite(reward_min) and math.isfinite(reward_max) and reward_min < reward_max):
        raise InvalidArgumentError(
            "reward_min and reward_max must be finite with reward_min < reward_max for "
            f"continuous rewards, got [{reward_min:g}, {reward_max:g}]"
        )
    default = default_arm or next(a.name for a in arm_values if a.is_live)
    if default not in seen:
        raise InvalidArgumentError(
            f"default_arm '{default}' is not one of the arms "
            f"({', '.join(a.name for a in arm_values)})"
        )
    if default not in {a.name for a in arm_values if a.is_live}:
        raise InvalidArgumentError(f"default_arm '{default}' is a shadow arm; it must be live")
    experiment = Experiment(
        name=name,
        policy=validate_policy(policy, arm_values),
        reward_type=reward_type,
        arms=tuple(arm_values),
        default_arm=default,
        reward_min=reward_min,
        reward_max=reward_max,
        description=description,
        created_unix_ms=created_unix_ms,
        guardrails=validate_guardrails(guardrails, arm_values),
        promotion=validate_promotion(promotion or PromotionRule()),
        segmentation=validate_segmentation(segmentation or Segmentation()),
    )
    if timing is not None:
        experiment = replace(experiment, timing=validate_timing(timing, experiment))
    return _check_floors(_check_guardrail_segments(experiment))


def _ramp_starting(limits: ArmLimits, now_unix_ms: int, pulls: int) -> ArmLimits:
    """limits with their ramp (if any) at its first step from now, the arm having pulls."""
    if limits.ramp is None:
        return limits
    ramp = replace(limits.ramp, step=0, step_started_unix_ms=now_unix_ms, step_start_pulls=pulls)
    return replace(limits, ramp=ramp)


def stamp_created(experiment: Experiment, now_unix_ms: int) -> Experiment:
    """The experiment as created now: its creation time, and its ramps starting now."""
    arms = tuple(
        replace(arm, limits=_ramp_starting(arm.limits, now_unix_ms, 0)) for arm in experiment.arms
    )
    return replace(experiment, created_unix_ms=now_unix_ms, arms=arms)


def _with_arm(experiment: Experiment, index: int, **changes: Any) -> tuple[Arm, ...]:
    arms = list(experiment.arms)
    arms[index] = replace(arms[index], **changes)
    return tuple(arms)


def _finite_share(value: float, field_name: str) -> float:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise InvalidArgumentError(f"{field_name} must be a share within [0, 1], got {value:g}")
    return float(value)


def validate_limits(limits: ArmLimits, field_name: str = "limits") -> ArmLimits:
    """Checks an arm's cap, floor and ramp, naming the field at fault."""
    cap = None if limits.cap is None else _finite_share(limits.cap, f"{field_name}.cap")
    floor = None if limits.floor is None else _finite_share(limits.floor, f"{field_name}.floor")
    if cap is not None and floor is not None and floor > cap:
        raise InvalidArgumentError(
            f"{field_name}.floor ({floor:g}) must not exceed {field_name}.cap ({cap:g})"
        )
    if limits.cap_until_rewards < 0:
        raise InvalidArgumentError(f"{field_name}.cap_until_rewards must be >= 0")
    if limits.cap_until_rewards and cap is None:
        raise InvalidArgumentError(f"{field_name}.cap_until_rewards needs a {field_name}.cap")
    ramp = limits.ramp
    if ramp is not None:
        if not ramp.steps:
            ramp = None
        else:
            if len(ramp.steps) > MAX_RAMP_STEPS:
                raise InvalidArgumentError(
                    f"{field_name}.ramp.steps: at most {MAX_RAMP_STEPS} steps, "
                    f"got {len(ramp.steps)}"
                )
            steps = tuple(
                _finite_share(step, f"{field_name}.ramp.steps[{i}]")
                for i, step in enumerate(ramp.steps)
            )
            if any(b < a for a, b in itertools.pairwise(steps)) or steps[0] <= 0:
                raise InvalidArgumentError(
                    f"{field_name}.ramp.steps must be positive and non-decreasing, got "
                    + ", ".join(f"{x:g}" for x in steps)
                )
            if ramp.min_decisions < 0:
                raise InvalidArgumentError(f"{field_name}.ramp.min_decisions_per_step must be >= 0")
            if not (math.isfinite(ramp.min_seconds) and ramp.min_seconds >= 0):
                raise InvalidArgumentError(
                    f"{field_name}.ramp.min_seconds_per_step must be a finite number >= 0"
                )
            ramp = replace(ramp, steps=steps)
    return ArmLimits(cap, floor, limits.cap_until_rewards, ramp)


def _check_floors(experiment: Experiment) -> Experiment:
    total = sum(arm.limits.floor or 0.0 for arm in experiment.live_arms)
    if total > 1.0 + 1e-9:
        raise FailedPreconditionError(
            f"the floors of the live arms of experiment '{experiment.name}' add up to "
            f"{total:g}, more than all traffic; lower a floor first"
        )
    return experiment


def validate_guardrails(
    guardrails: Sequence[Guardrail], arms: Sequence[Arm]
) -> tuple[Guardrail, ...]:
    """Fills defaults and checks every guardrail, naming the field at fault."""
    if len(guardrails) > MAX_GUARDRAILS:
        raise InvalidArgumentError(f"guardrails: at most {MAX_GUARDRAILS}, got {len(guardrails)}")
    names = {arm.name for arm in arms}
    seen: set[str] = set()
    checked = []
    for i, g in enumerate(guardrails):
        where = f"guardrails[{i}]"
        validate_name(g.name, f"{where}.name")
        if g.name in seen:
            raise InvalidArgumentError(f"guardrails: '{g.name}' is listed twice")
        seen.add(g.name)
        if not (math.isfinite(g.window_s) and 0 <= g.window_s <= MAX_GUARDRAIL_WINDOW_S):
            raise InvalidArgumentError(
                f"{where}.window_s must be within [0, {MAX_GUARDRAIL_WINDOW_S}] seconds "
                f"(0: all history), got {g.window_s:g}"
            )
        if len(g.segment.encode()) > MAX_SEGMENT_BYTES:
            raise InvalidArgumentError(f"{where}.segment must be at most {MAX_SEGMENT_BYTES} bytes")
        min_samples = g.min_samples or DEFAULT_GUARDRAIL_MIN_SAMPLES
        if not 1 <= min_samples <= 1_000_000_000:
            raise InvalidArgumentError(f"{where}.min_samples must be within [1, 1e9]")
        level = g.level or DEFAULT_GUARDRAIL_LEVEL
        if not (math.isfinite(level) and 0.5 <= level < 1.0):
            raise InvalidArgumentError(f"{where}.level must be within [0.5, 1), got {level:g}")
        if g.kind is GuardrailKind.ERROR_RATE:
            if not (math.isfinite(g.max_increase) and 0.0 <= g.max_increase < 1.0):
                raise InvalidArgumentError(
                    f"{where}.error_rate.max_increase must be within [0, 1) (0.01 is one "
                    f"percentage point), got {g.max_increase:g}"
                )
            if g.control_arm and g.control_arm not in names:
                raise InvalidArgumentError(
                    f"{where}.error_rate.control_arm '{g.control_arm}' is not an arm of the "
                    f"experiment (arms: {', '.join(sorted(names))})"
                )
            checked.append(replace(g, min_samples=min_samples, level=level))
        else:
            if not (math.isfinite(g.ceiling_ms) and g.ceiling_ms > 0):
                raise InvalidArgumentError(
                    f"{where}.latency.ceiling_ms must be a finite number > 0, got {g.ceiling_ms:g}"
                )
            quantile = g.quantile or DEFAULT_LATENCY_QUANTILE
            if not (math.isfinite(quantile) and 0.5 <= quantile < 1.0):
                raise InvalidArgumentError(
                    f"{where}.latency.quantile must be within [0.5, 1), got {quantile:g}"
                )
            checked.append(replace(g, quantile=quantile, min_samples=min_samples, level=level))
    return tuple(checked)


def add_arm(
    experiment: Experiment,
    name: str,
    version: str,
    weight: float = 0.0,
    *,
    shadow: bool = False,
    limits: ArmLimits | None = None,
    now_unix_ms: int = 0,
) -> Experiment:
    """A new arm (live, or shadow); a ramp in its limits starts now."""
    validate_name(name, "arm.name")
    if name in experiment.arm_names:
        raise AlreadyExistsError(f"experiment '{experiment.name}' already has an arm '{name}'")
    if len(experiment.arms) >= MAX_ARMS:
        raise FailedPreconditionError(
            f"experiment '{experiment.name}' has {MAX_ARMS} arms, the most it can hold"
        )
    if not math.isfinite(weight) or weight < 0:
        raise InvalidArgumentError(f"weight must be a finite number >= 0, got {weight:g}")
    arm = Arm(
        name,
        _check_version(version, "arm.version"),
        ArmState.SHADOW if shadow else ArmState.LIVE,
        _ramp_starting(validate_limits(limits or ArmLimits(), "arm.limits"), now_unix_ms, 0),
    )
    policy = experiment.policy
    if policy.name is PolicyName.FIXED:
        policy = replace(policy, weights={**policy.weights, name: float(weight)})
    return _check_floors(replace(experiment, arms=(*experiment.arms, arm), policy=policy))


def _fixed_weights_left(experiment: Experiment, what: str) -> Experiment:
    if experiment.policy.name is PolicyName.FIXED and not any(
        experiment.policy.weights.get(a.name, 0.0) > 0 for a in experiment.live_arms
    ):
        raise FailedPreconditionError(
            f"{what} would leave no live arm with a positive weight; set weights "
            "first ('banditctl experiment set-policy')"
        )
    return experiment


def retire_arm(experiment: Experiment, name: str) -> Experiment:
    index = experiment.arm_index(name)
    arm = experiment.arms[index]
    if arm.state is ArmState.RETIRED:
        return experiment
    if name == experiment.default_arm:
        raise FailedPreconditionError(
            f"arm '{name}' is the default arm of experiment '{experiment.name}'; make another "
            "arm the default first ('banditctl arm set-default') or promote one"
        )
    if arm.is_live and len(experiment.live_arms) == 1:
        raise FailedPreconditionError(
            f"arm '{name}' is the last live arm of experiment '{experiment.name}'"
        )
    retired = replace(experiment, arms=_with_arm(experiment, index, state=ArmState.RETIRED))
    return _fixed_weights_left(retired, f"retiring '{name}'")


def promote_arm(experiment: Experiment, name: str) -> Experiment:
    """The promoted arm (live or shadow) becomes the default and the only live arm."""
    index = experiment.arm_index(name)
    arm = experiment.arms[index]
    if not (arm.is_live or arm.is_shadow):
        raise FailedPreconditionError(
            f"arm '{name}' of experiment '{experiment.name}' is "
            f"{arm.state.value.replace('_', ' ')}; only a live or shadow arm can be promoted"
            + (" (re-admit it first: 'banditctl arm readmit')" if arm.rollback else "")
        )
    arms = tuple(
        replace(a, state=ArmState.LIVE, limits=ArmLimits())
        if i == index
        else replace(a, state=ArmState.RETIRED)
        if a.is_live
        else a
        for i, a in enumerate(experiment.arms)
    )
    policy = experiment.policy
    if policy.name is PolicyName.FIXED:
        policy = replace(policy, weights={**policy.weights, name: 1.0})
    return replace(experiment, arms=arms, default_arm=name, policy=policy)


def set_default_arm(experiment: Experiment, name: str) -> Experiment:
    index = experiment.arm_index(name)
    arm = experiment.arms[index]
    if not arm.is_live:
        raise FailedPreconditionError(
            f"arm '{name}' of experiment '{experiment.name}' is "
            f"{arm.state.value.replace('_', ' ')}; the default arm must be live"
        )
    return replace(experiment, default_arm=name)


def set_policy(experiment: Experiment, policy: PolicyConfig) -> Experiment:
    return replace(experiment, policy=validate_policy(policy, experiment.arms))


def set_paused(experiment: Experiment, paused: bool) -> Experiment:
    return replace(experiment, paused=paused)


def set_arm_limits(
    experiment: Experiment, name: str, limits: ArmLimits, now_unix_ms: int, pulls: int
) -> Experiment:
    """Replaces an arm's limits; a new ramp starts at its first step now."""
    index = experiment.arm_index(name)
    checked = _ramp_starting(validate_limits(limits), now_unix_ms, pulls)
    return _check_floors(replace(experiment, arms=_with_arm(experiment, index, limits=checked)))


def switch_arm(experiment: Experiment, name: str) -> Experiment:
    """Blue-green: all traffic to one live arm, the others kept live at weight 0."""
    index = experiment.arm_index(name)
    arm = experiment.arms[index]
    if not arm.is_live:
        raise FailedPreconditionError(
            f"arm '{name}' of experiment '{experiment.name}' is "
            f"{arm.state.value.replace('_', ' ')}; only a live arm can take all traffic"
        )
    weights = {a.name: (1.0 if i == index else 0.0) for i, a in enumerate(experiment.arms)}
    # Bounds would fight a 100/0 split; a switch is an explicit operator decision.
    arms = tuple(replace(a, limits=ArmLimits()) if a.is_live else a for a in experiment.arms)
    return replace(
        experiment,
        arms=arms,
        policy=PolicyConfig(PolicyName.FIXED, {}, weights),
        default_arm=name,
    )


def readmit_arm(experiment: Experiment, name: str) -> Experiment:
    index = experiment.arm_index(name)
    arm = experiment.arms[index]
    if arm.state is not ArmState.ROLLED_BACK:
        raise FailedPreconditionError(
            f"arm '{name}' of experiment '{experiment.name}' is "
            f"{arm.state.value.replace('_', ' ')}, not rolled back"
        )
    return _check_floors(
        replace(experiment, arms=_with_arm(experiment, index, state=ArmState.LIVE, rollback=None))
    )


def roll_back_arm(experiment: Experiment, name: str, rollback: Rollback) -> Experiment:
    """A guardrail's verdict: the arm leaves traffic. The default arm is never rolled back."""
    index = experiment.arm_index(name)
    arm = experiment.arms[index]
    if arm.state not in (ArmState.LIVE, ArmState.SHADOW) or name == experiment.default_arm:
        return experiment
    if arm.is_live and len(experiment.live_arms) == 1:
        return experiment
    rolled = replace(
        experiment,
        arms=_with_arm(experiment, index, state=ArmState.ROLLED_BACK, rollback=rollback),
    )
    if rolled.policy.name is PolicyName.FIXED and not any(
        rolled.policy.weights.get(a.name, 0.0) > 0 for a in rolled.live_arms
    ):
        # The rolled-back arm had all the weight: traffic goes back to the default arm.
        rolled = replace(
            rolled,
            policy=replace(
                rolled.policy, weights={**rolled.policy.weights, rolled.default_arm: 1.0}
            ),
        )
    return rolled


def advance_ramp(
    experiment: Experiment, name: str, from_step: int, now_unix_ms: int, pulls: int
) -> Experiment:
    """The arm's ramp moves from from_step to the next; a no-op if it is elsewhere already
    (another replica advanced it first)."""
    index = experiment.arm_index(name)
    arm = experiment.arms[index]
    ramp = arm.limits.ramp
    if ramp is None or ramp.done or ramp.step != from_step or not arm.is_live:
        return experiment
    ramp = replace(
        ramp, step=ramp.step + 1, step_started_unix_ms=now_unix_ms, step_start_pulls=pulls
    )
    limits = replace(arm.limits, ramp=ramp)
    return replace(experiment, arms=_with_arm(experiment, index, limits=limits))


def _check_guardrail_segments(experiment: Experiment) -> Experiment:
    for i, guardrail in enumerate(experiment.guardrails):
        if guardrail.segment and not experiment.segmentation.enabled:
            raise InvalidArgumentError(
                f"guardrails[{i}].segment '{guardrail.segment}' needs the experiment to be "
                "segmented; set segmentation first ('banditctl experiment segment')"
            )
    return experiment


def set_guardrails(experiment: Experiment, guardrails: Sequence[Guardrail]) -> Experiment:
    checked = validate_guardrails(guardrails, experiment.arms)
    return _check_guardrail_segments(replace(experiment, guardrails=checked))


def validate_promotion(rule: PromotionRule) -> PromotionRule:
    """Fills defaults (zeros mean "default") and checks the rule, naming the field."""
    defaults = PromotionRule()
    prob_best = rule.prob_best or defaults.prob_best
    loss = rule.max_expected_loss or defaults.max_expected_loss
    min_samples = rule.min_samples or defaults.min_samples
    if not (math.isfinite(prob_best) and 0.5 <= prob_best < 1.0):
        raise InvalidArgumentError(
            f"promotion.prob_best must be within [0.5, 1), got {prob_best:g}"
        )
    if not (math.isfinite(loss) and 0.0 < loss <= 1.0):
        raise InvalidArgumentError(
            f"promotion.max_expected_loss must be within (0, 1], got {loss:g}"
        )
    if not 1 <= min_samples <= 1_000_000_000:
        raise InvalidArgumentError("promotion.min_samples must be within [1, 1e9]")
    return PromotionRule(prob_best, loss, min_samples, rule.auto_promote)


def validate_timing(timing: RewardTiming, experiment: Experiment) -> RewardTiming:
    for field_name in ("reward_wait_s", "window_s"):
        value = getattr(timing, field_name)
        if not (math.isfinite(value) and 0 <= value <= MAX_TIMING_S):
            raise InvalidArgumentError(
                f"timing.{field_name} must be within [0, {MAX_TIMING_S}] seconds, got {value:g}"
            )
    if timing.default_reward is not None:
        try:
            experiment.check_reward(timing.default_reward)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"timing.default_reward: {exc.message}") from None
    return timing


def validate_segmentation(segmentation: Segmentation) -> Segmentation:
    if not segmentation.attribute:
        return Segmentation()
    if len(segmentation.attribute.encode()) > MAX_SEGMENT_BYTES:
        raise InvalidArgumentError(
            f"segmentation.attribute must be at most {MAX_SEGMENT_BYTES} bytes"
        )
    defaults = Segmentation()
    min_samples = segmentation.min_samples or defaults.min_samples
    max_values = segmentation.max_values or defaults.max_values
    if not 1 <= max_values <= MAX_SEGMENT_VALUES:
        raise InvalidArgumentError(
            f"segmentation.max_values must be within [1, {MAX_SEGMENT_VALUES}], got {max_values}"
        )
    return Segmentation(segmentation.attribute, min_samples, max_values)


def set_promotion(experiment: Experiment, rule: PromotionRule) -> Experiment:
    return replace(experiment, promotion=validate_promotion(rule))


def set_timing(experiment: Experiment, timing: RewardTiming) -> Experiment:
    return replace(experiment, timing=validate_timing(timing, experiment))


def set_segmentation(experiment: Experiment, segmentation: Segmentation) -> Experiment:
    checked = validate_segmentation(segmentation)
    return _check_guardrail_segments(replace(experiment, segmentation=checked))
