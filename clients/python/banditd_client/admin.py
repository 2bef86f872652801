"""AdminClient: one thin method per Admin RPC, returning the protobuf messages.

Also builds the admin values that need more than a constructor call: a PolicyConfig from
a policy name and its parameters, a RewardType from its name, an arm's ArmLimits (cap,
floor, ramp), Guardrails, a PromotionRule, a RewardTiming and a Segmentation, each
checked against the ranges the server accepts. banditctl uses the same builders. Every
call carries the acting person's name (x-banditd-actor), which the server records in the
history.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Final

import grpc
from banditd.v1 import admin_pb2, admin_pb2_grpc

from banditd_client._channel import admin_metadata, check_actor, default_actor, open_channel
from banditd_client._wire import Message, policy_name, policy_value
from banditd_client.client import DEFAULT_TARGET
from banditd_client.errors import rpc_errors

REWARD_TYPES: Final[dict[str, admin_pb2.RewardType]] = {
    "binary": admin_pb2.REWARD_TYPE_BINARY,
    "continuous": admin_pb2.REWARD_TYPE_CONTINUOUS,
}
REWARD_TYPE_NAMES: Final[dict[int, str]] = {value: name for name, value in REWARD_TYPES.items()}
ARM_STATE_NAMES: Final[dict[int, str]] = {
    admin_pb2.ARM_STATE_LIVE: "live",
    admin_pb2.ARM_STATE_RETIRED: "retired",
    admin_pb2.ARM_STATE_SHADOW: "shadow",
    admin_pb2.ARM_STATE_ROLLED_BACK: "rolled-back",
}

# The parameters each policy takes (keyword names of policy_config).
POLICY_PARAMETERS: Final[dict[str, frozenset[str]]] = {
    "thompson": frozenset({"prior_alpha", "prior_beta"}),
    "gaussian_thompson": frozenset({"prior_mean", "prior_sd"}),
    "ucb1": frozenset({"exploration"}),
    "kl_ucb": frozenset({"exploration"}),
    "epsilon_greedy": frozenset({"epsilon"}),
    "fixed": frozenset({"weights"}),
}

# Arms given as "name" or (name, version).
ArmArg = str | tuple[str, str]

# GetHistoryRequest.limit's range, from admin.proto.
MAX_HISTORY_ENTRIES: Final = 10_000
# Counts the server accepts in a promotion rule (min_samples) and segmentation.
MAX_SAMPLES: Final = 1_000_000_000
MAX_UINT32: Final = 2**32 - 1


def reward_type_value(name: str) -> admin_pb2.RewardType:
    """The RewardType enum value for "binary" or "continuous"."""
    try:
        return REWARD_TYPES[name.strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown reward type {name!r}; choose one of: {', '.join(REWARD_TYPES)}"
        ) from None


def policy_config(
    policy: str = "thompson",
    *,
    prior_alpha: float | None = None,
    prior_beta: float | None = None,
    exploration: float | None = None,
    epsilon: float | None = None,
    weights: Mapping[str, float] | None = None,
    prior_mean: float | None = None,
    prior_sd: float | None = None,
) -> Message:
    """A PolicyConfig for a policy name ("thompson", "gaussian_thompson", "ucb1", "kl_ucb",
    "epsilon_greedy", "fixed"; dashes work too) and the parameters that belong to it.

    gaussian_thompson's prior_mean and prior_sd are on the reward range scaled to [0, 1].

    A parameter of another policy is refused rather than silently dropped. Parameters left
    out take the server's defaults.
    """
    value = policy_value(policy)
    name = policy_name(value)
    config = admin_pb2.PolicyConfig(policy=value)
    given = {
        "prior_alpha": prior_alpha,
        "prior_beta": prior_beta,
        "exploration": exploration,
        "epsilon": epsilon,
        "weights": weights,
        "prior_mean": prior_mean,
        "prior_sd": prior_sd,
    }
    allowed = POLICY_PARAMETERS[name]
    misplaced = sorted(key for key, val in given.items() if val is not None and key not in allowed)
    if misplaced:
        accepts = ", ".join(sorted(allowed)) or "no parameters"
        raise ValueError(
            f"{', '.join(misplaced)} does not apply to policy {name} (it takes {accepts})"
        )
    if prior_alpha is not None:
        config.thompson.prior_alpha = prior_alpha
    if prior_beta is not None:
        config.thompson.prior_beta = prior_beta
    if exploration is not None:
        config.ucb.exploration = exploration
    if epsilon is not None:
        config.epsilon_greedy.epsilon = epsilon
    if weights is not None:
        config.fixed.weights.update({arm: float(w) for arm, w in weights.items()})
    if prior_mean is not None:
        config.gaussian_thompson.prior_mean = prior_mean
    if prior_sd is not None:
        config.gaussian_thompson.prior_sd = prior_sd
    return config


def arm_limits(
    *,
    cap: float | None = None,
    floor: float | None = None,
    cap_until_rewards: int = 0,
    ramp_steps: Sequence[float] = (),
    ramp_min_decisions: int = 0,
    ramp_min_seconds: float = 0.0,
) -> Message:
    """An ArmLimits: bounds on one live arm's traffic share that every policy respects.

    cap, floor: at most / at least this share (0 to 1); None leaves it out.
    cap_until_rewards: the cap lifts once the arm has this many rewards (0: it stays).
    ramp_steps, e.g. (0.05, 0.25, 0.5): a canary ramp; the arm gets exactly the current
    step's share and moves on after ramp_min_decisions decisions and ramp_min_seconds in
    the step, while every guardrail holds. Nothing given: an empty ArmLimits (no limits).
    """
    limits = admin_pb2.ArmLimits()
    if cap is not None:
        limits.cap = _share("cap", cap)
    if floor is not None:
        limits.floor = _share("floor", floor)
    _whole("cap_until_rewards", cap_until_rewards)
    if cap_until_rewards and cap is None:
        raise ValueError("cap_until_rewards lifts a cap; it needs cap as well")
    limits.cap_until_rewards = cap_until_rewards
    if isinstance(ramp_steps, str):
        raise TypeError("ramp_steps must be a sequence of shares, not one string")
    _whole("ramp_min_decisions", ramp_min_decisions)
    if not (math.isfinite(ramp_min_seconds) and ramp_min_seconds >= 0):
        raise ValueError(f"ramp_min_seconds must be a finite number >= 0, got {ramp_min_seconds}")
    if ramp_steps:
        limits.ramp.steps.extend(_share(f"ramp step {i + 1}", s) for i, s in enumerate(ramp_steps))
        limits.ramp.min_decisions_per_step = ramp_min_decisions
        limits.ramp.min_seconds_per_step = ramp_min_seconds
    elif ramp_min_decisions or ramp_min_seconds:
        raise ValueError("ramp_min_decisions and ramp_min_seconds apply to a ramp: give ramp_steps")
    return limits


def has_limits(limits: Message) -> bool:
    """True when an ArmLimits sets a cap, a floor or a ramp."""
    return bool(limits.HasField("cap") or limits.HasField("floor") or limits.ramp.steps)


def error_rate_guardrail(
    name: str,
    max_increase: float,
    *,
    control_arm: str = "",
    min_samples: int = 0,
    level: float = 0.0,
    segment: str = "",
    window_s: float | None = None,
) -> Message:
    """A Guardrail: an arm's error rate may exceed the control arm's by at most
    max_increase (0.01 is one percentage point), else the arm is rolled back.

    control_arm "" is the experiment's default arm; min_samples 0 and level 0 take the
    server's defaults (200 observations, posterior probability 0.95). segment, a value of
    the experiment's segmentation attribute (e.g. "vip"), judges only that segment's
    decisions; "" judges all of them. window_s: judge the observations of the last window_s
    seconds (None: the server's default, 900; 0: all history).
    """
    _check_guardrail(name, min_samples, level, segment, window_s)
    if not (math.isfinite(max_increase) and 0 <= max_increase <= 1):
        raise ValueError(
            f"max_increase is a difference of error rates, 0 to 1 (0.01 is one percentage "
            f"point), got {max_increase}"
        )
    guardrail = admin_pb2.Guardrail(
        name=name,
        error_rate=admin_pb2.ErrorRateGuardrail(max_increase=max_increase, control_arm=control_arm),
        min_samples=min_samples,
        level=level,
        segment=segment,
    )
    if window_s is not None:
        guardrail.window_s = window_s
    return guardrail


def latency_guardrail(
    name: str,
    ceiling_ms: float,
    *,
    quantile: float = 0.0,
    min_samples: int = 0,
    level: float = 0.0,
    segment: str = "",
    window_s: float | None = None,
) -> Message:
    """A Guardrail: the `quantile` of an arm's latency may not exceed ceiling_ms, else the
    arm is rolled back. quantile 0 is the server's default, 0.95 (p95); segment and
    window_s as for error_rate_guardrail()."""
    _check_guardrail(name, min_samples, level, segment, window_s)
    if not (math.isfinite(ceiling_ms) and ceiling_ms > 0):
        raise ValueError(f"ceiling_ms must be a finite number > 0, got {ceiling_ms}")
    if not (quantile == 0 or 0 < quantile < 1):
        raise ValueError(f"quantile must be within (0, 1), e.g. 0.95 for p95, got {quantile}")
    guardrail = admin_pb2.Guardrail(
        name=name,
        latency=admin_pb2.LatencyGuardrail(ceiling_ms=ceiling_ms, quantile=quantile),
        min_samples=min_samples,
        level=level,
        segment=segment,
    )
    if window_s is not None:
        guardrail.window_s = window_s
    return guardrail


def _check_guardrail(
    name: str, min_samples: int, level: float, segment: str, window_s: float | None
) -> None:
    if not name:
        raise ValueError("a guardrail needs a name")
    if window_s is not None and not (math.isfinite(window_s) and window_s >= 0):
        raise ValueError(f"window_s must be a finite number of seconds >= 0, got {window_s}")
    if not isinstance(segment, str):
        raise TypeError(f"segment must be a string (a segment value), got {segment!r}")
    _whole("min_samples", min_samples)
    if not (level == 0 or 0 < level < 1):
        raise ValueError(
            f"level is the breach probability that rolls an arm back, within (0, 1), got {level}"
        )


def promotion_rule(
    *,
    prob_best: float = 0.0,
    max_expected_loss: float = 0.0,
    min_samples: int = 0,
    auto_promote: bool = False,
) -> Message:
    """A PromotionRule: an arm is ready for promotion once every live arm has min_samples
    (decisions for binary rewards, rewards for continuous ones), its P(best) is at least
    prob_best and its expected loss (reward given up by choosing it, relative to the best
    arm's mean) at most max_expected_loss. auto_promote: banditd then promotes it itself.

    Zeros take the server's defaults: prob_best 0.95, max_expected_loss 0.01 (1%),
    min_samples 1000.
    """
    if not (prob_best == 0 or (math.isfinite(prob_best) and 0.5 <= prob_best < 1)):
        raise ValueError(
            f"prob_best must be within [0.5, 1) (0: the default 0.95), got {prob_best}"
        )
    if not (
        max_expected_loss == 0 or (math.isfinite(max_expected_loss) and 0 < max_expected_loss <= 1)
    ):
        raise ValueError(
            "max_expected_loss is a fraction of the best arm's mean reward, within (0, 1] "
            f"(0.01 is 1%; 0: the default), got {max_expected_loss}"
        )
    _whole("min_samples", min_samples)
    if min_samples > MAX_SAMPLES:
        raise ValueError(f"min_samples must be at most {MAX_SAMPLES}, got {min_samples}")
    if not isinstance(auto_promote, bool):
        raise TypeError(f"auto_promote must be True or False, got {auto_promote!r}")
    return admin_pb2.PromotionRule(
        prob_best=prob_best,
        max_expected_loss=max_expected_loss,
        min_samples=min_samples,
        auto_promote=auto_promote,
    )


def reward_timing(
    *,
    reward_wait_s: float = 0.0,
    default_reward: float | None = None,
    window_s: float = 0.0,
) -> Message:
    """A RewardTiming.

    reward_wait_s: delayed rewards; a decision younger than this counts neither as a
    success nor as a failure, and once older without a reward it counts default_reward.
    default_reward None leaves it unset: 0 for binary rewards; for continuous ones such
    decisions do not count. window_s: the policy sees only the last window_s seconds of
    decisions, to follow a change in the best arm. 0 turns each off.
    """
    reward_wait_s = _seconds("reward_wait_s", reward_wait_s)
    window_s = _seconds("window_s", window_s)
    timing = admin_pb2.RewardTiming(reward_wait_s=reward_wait_s, window_s=window_s)
    # Presence carries "unset": 0 is a default reward like any other.
    if default_reward is not None:
        default_reward = float(default_reward)
        if not math.isfinite(default_reward):
            raise ValueError(f"default_reward must be a finite number, got {default_reward}")
        timing.default_reward = default_reward
    return timing


def segmentation(attribute: str = "", *, min_samples: int = 0, max_values: int = 0) -> Message:
    """A Segmentation: statistics and allocation per value of the request attribute
    `attribute` (e.g. "region"); "" turns segmentation off.

    min_samples: a segment decides from its own statistics once its arms have this many
    decisions in total (0: the server's default, 500). max_values: at most this many values
    get statistics of their own (0: the default, 64); further values use the experiment's.
    """
    if not isinstance(attribute, str):
        raise TypeError(f"attribute must be a string, got {attribute!r}")
    _whole("min_samples", min_samples)
    _whole("max_values", max_values)
    if not attribute and (min_samples or max_values):
        raise ValueError("min_samples and max_values apply to a segmentation: give the attribute")
    if max_values > MAX_UINT32:
        raise ValueError(f"max_values must be at most {MAX_UINT32}, got {max_values}")
    return admin_pb2.Segmentation(
        attribute=attribute, min_samples=min_samples, max_values=max_values
    )


# create_experiment() takes a parameter of the builder's name.
_segmentation = segmentation


def _share(what: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise ValueError(f"{what} is a share of traffic, 0 to 1, got {value}")
    return value


def _whole(what: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a whole number >= 0, got {value!r}")


def _seconds(what: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{what} must be a finite number of seconds >= 0, got {value}")
    return value


def _arm_spec(arm: ArmArg) -> Message:
    name, version = (arm, "") if isinstance(arm, str) else arm
    return admin_pb2.ArmSpec(name=name, version=version)


class AdminClient:
    """The admin plane: experiments, arms, policies, guardrails, status and history.

    Needs the admin token when the server has one configured (BANDITD_ADMIN_TOKEN on the
    server). `actor` names who makes the changes in the experiment's history; it defaults
    to "user@host" of this process, and "" sends no name.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        token: str | None = None,
        timeout_s: float = 5.0,
        channel: grpc.Channel | None = None,
        actor: str | None = None,
    ) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self.actor = default_actor() if actor is None else check_actor(actor)
        self._metadata = admin_metadata(token, self.actor)
        self._owns_channel = channel is None
        self._channel = channel if channel is not None else open_channel(target)
        self._stub = admin_pb2_grpc.AdminStub(self._channel)

    def create_experiment(
        self,
        name: str,
        arms: Sequence[ArmArg],
        *,
        policy: str | Message = "thompson",
        reward_type: str = "binary",
        reward_min: float | None = None,
        reward_max: float | None = None,
        default_arm: str | None = None,
        description: str = "",
        guardrails: Sequence[Message] = (),
        promotion: Message | None = None,
        timing: Message | None = None,
        segmentation: str | Message | None = None,
    ) -> Message:
        """Creates an experiment; arms are names or (name, version) pairs. Returns it.

        guardrails: built with error_rate_guardrail() and latency_guardrail().
        promotion: a PromotionRule (promotion_rule()); None: the server's defaults.
        timing: a RewardTiming (reward_timing()); None: rewards count at once, no window.
        segmentation: a Segmentation (segmentation()) or just the attribute name."""
        request = admin_pb2.CreateExperimentRequest(
            name=name,
            description=description,
            policy=policy_config(policy) if isinstance(policy, str) else policy,
            reward_type=reward_type_value(reward_type),
            reward_min=0.0 if reward_min is None else reward_min,
            reward_max=0.0 if reward_max is None else reward_max,
            arms=[_arm_spec(arm) for arm in arms],
            default_arm=default_arm or "",
            guardrails=list(guardrails),
        )
        # Sent only when given: an absent message and an empty one mean the same to the
        # server, but the request then says exactly what the caller asked for.
        if promotion is not None:
            request.promotion.CopyFrom(promotion)
        if timing is not None:
            request.timing.CopyFrom(timing)
        if isinstance(segmentation, str):
            request.segmentation.CopyFrom(_segmentation(segmentation))
        elif segmentation is not None:
            request.segmentation.CopyFrom(segmentation)
        return self._call(self._stub.CreateExperiment, request)

    def get_experiment(self, experiment: str) -> Message:
        return self._call(self._stub.GetExperiment, _experiment_ref(experiment))

    def list_experiments(self) -> list[Message]:
        response = self._call(self._stub.ListExperiments, admin_pb2.ListExperimentsRequest())
        return list(response.experiments)

    def add_arm(
        self,
        experiment: str,
        arm: str,
        version: str = "",
        *,
        weight: float = 0.0,
        shadow: bool = False,
        limits: Message | None = None,
    ) -> Message:
        """Adds an arm: live, or with shadow=True mirrored by every decision but never
        served. `weight` counts only under the fixed policy; `limits` is an ArmLimits
        (see arm_limits()) to start it capped or on a ramp."""
        spec = admin_pb2.ArmSpec(name=arm, version=version, shadow=shadow)
        if limits is not None and has_limits(limits):
            spec.limits.CopyFrom(limits)
        request = admin_pb2.AddArmRequest(experiment=experiment, arm=spec, weight=weight)
        return self._call(self._stub.AddArm, request)

    def set_arm_limits(
        self,
        experiment: str,
        arm: str,
        *,
        cap: float | None = None,
        floor: float | None = None,
        cap_until_rewards: int = 0,
        ramp_steps: Sequence[float] = (),
        ramp_min_decisions: int = 0,
        ramp_min_seconds: float = 0.0,
    ) -> Message:
        """Replaces an arm's cap, floor and ramp (see arm_limits()); nothing given clears
        them. Returns the experiment."""
        limits = arm_limits(
            cap=cap,
            floor=floor,
            cap_until_rewards=cap_until_rewards,
            ramp_steps=ramp_steps,
            ramp_min_decisions=ramp_min_decisions,
            ramp_min_seconds=ramp_min_seconds,
        )
        request = admin_pb2.SetArmLimitsRequest(experiment=experiment, arm=arm)
        if has_limits(limits):
            request.limits.CopyFrom(limits)
        return self._call(self._stub.SetArmLimits, request)

    def switch_arm(self, experiment: str, arm: str) -> Message:
        """Blue-green: all traffic to `arm` in one atomic change (fixed weights 1 for it,
        0 for the others). Switch back the same way."""
        return self._call(self._stub.SwitchArm, _arm_ref(experiment, arm))

    def readmit_arm(self, experiment: str, arm: str) -> Message:
        """Makes an arm that a guardrail rolled back live again."""
        return self._call(self._stub.ReadmitArm, _arm_ref(experiment, arm))

    def set_guardrails(self, experiment: str, guardrails: Sequence[Message]) -> Message:
        """Replaces the experiment's guardrails (an empty list removes them all)."""
        request = admin_pb2.SetGuardrailsRequest(experiment=experiment, guardrails=list(guardrails))
        return self._call(self._stub.SetGuardrails, request)

    def set_promotion_rule(
        self,
        experiment: str,
        *,
        prob_best: float = 0.0,
        max_expected_loss: float = 0.0,
        min_samples: int = 0,
        auto_promote: bool = False,
    ) -> Message:
        """Replaces the promotion rule (see promotion_rule(); zeros are the server's
        defaults 0.95, 0.01 and 1000). Returns the experiment; its `promotion` is the rule
        in force, defaults filled in."""
        rule = promotion_rule(
            prob_best=prob_best,
            max_expected_loss=max_expected_loss,
            min_samples=min_samples,
            auto_promote=auto_promote,
        )
        request = admin_pb2.SetPromotionRuleRequest(experiment=experiment, promotion=rule)
        return self._call(self._stub.SetPromotionRule, request)

    def set_reward_timing(
        self,
        experiment: str,
        *,
        reward_wait_s: float = 0.0,
        default_reward: float | None = None,
        window_s: float = 0.0,
    ) -> Message:
        """Replaces the reward timing (see reward_timing()); nothing given: rewards count
        at once and the policy sees all history. Returns the experiment."""
        timing = reward_timing(
            reward_wait_s=reward_wait_s, default_reward=default_reward, window_s=window_s
        )
        request = admin_pb2.SetRewardTimingRequest(experiment=experiment, timing=timing)
        return self._call(self._stub.SetRewardTiming, request)

    def set_segmentation(
        self, experiment: str, attribute: str = "", *, min_samples: int = 0, max_values: int = 0
    ) -> Message:
        """Keeps statistics and allocation per value of the request attribute `attribute`
        (see segmentation()); "" turns segmentation off. Returns the experiment."""
        config = segmentation(attribute, min_samples=min_samples, max_values=max_values)
        request = admin_pb2.SetSegmentationRequest(experiment=experiment, segmentation=config)
        return self._call(self._stub.SetSegmentation, request)

    def history(self, experiment: str, limit: int = 100) -> list[Message]:
        """The latest `limit` HistoryEntry messages (admin changes and automatic actions:
        who, what, which arm, why), oldest first."""
        if isinstance(limit, bool) or not 1 <= limit <= MAX_HISTORY_ENTRIES:
            raise ValueError(f"limit must be 1 to {MAX_HISTORY_ENTRIES}, got {limit!r}")
        request = admin_pb2.GetHistoryRequest(experiment=experiment, limit=limit)
        return list(self._call(self._stub.GetHistory, request).entries)

    def retire_arm(self, experiment: str, arm: str) -> Message:
        return self._call(self._stub.RetireArm, _arm_ref(experiment, arm))

    def promote_arm(self, experiment: str, arm: str) -> Message:
        return self._call(self._stub.PromoteArm, _arm_ref(experiment, arm))

    def set_default_arm(self, experiment: str, arm: str) -> Message:
        return self._call(self._stub.SetDefaultArm, _arm_ref(experiment, arm))

    def set_policy(self, experiment: str, policy: str | Message) -> Message:
        """Replaces the policy: a name (server-default parameters) or a PolicyConfig."""
        config = policy_config(policy) if isinstance(policy, str) else policy
        request = admin_pb2.SetPolicyRequest(experiment=experiment, policy=config)
        return self._call(self._stub.SetPolicy, request)

    def pause(self, experiment: str) -> Message:
        return self._call(self._stub.PauseExperiment, _experiment_ref(experiment))

    def resume(self, experiment: str) -> Message:
        return self._call(self._stub.ResumeExperiment, _experiment_ref(experiment))

    def status(self, experiment: str, segment: str = "") -> Message:
        """Per-arm statistics, shares, P(best), expected loss, guardrail checks and promotion
        readiness (an ExperimentStatus). segment: a value of the segmentation attribute, for
        that segment's statistics; "" for all decisions. The answer's `segment` says which
        statistics it holds and `segments` which values have statistics of their own."""
        request = admin_pb2.GetStatusRequest(experiment=experiment, segment=segment)
        return self._call(self._stub.GetStatus, request)

    def import_outcomes(
        self,
        experiment: str,
        arm: str,
        *,
        pulls: int,
        rewards: int,
        reward_sum: float,
        reward_sum_squares: float = 0.0,
        import_id: str,
    ) -> Message:
        """Adds historical outcomes to an arm; idempotent on import_id."""
        request = admin_pb2.ImportOutcomesRequest(
            experiment=experiment,
            arm=arm,
            pulls=pulls,
            rewards=rewards,
            reward_sum=reward_sum,
            reward_sum_squares=reward_sum_squares,
            import_id=import_id,
        )
        return self._call(self._stub.ImportOutcomes, request)

    def close(self) -> None:
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, method: Any, request: Message) -> Message:
        with rpc_errors():
            return method(request, timeout=self.timeout_s, metadata=self._metadata)


def _experiment_ref(experiment: str) -> Message:
    return admin_pb2.ExperimentRef(experiment=experiment)


def _arm_ref(experiment: str, arm: str) -> Message:
    return admin_pb2.ArmRef(experiment=experiment, arm=arm)
