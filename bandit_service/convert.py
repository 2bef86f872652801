"""Protobuf <-> domain conversions for the servicers. No business rules live here."""

from __future__ import annotations

from banditd.v1 import admin_pb2, common_pb2, decisions_pb2

from . import domain
from .admin import Status
from .domain import ArmState, Experiment, PolicyConfig, PolicyName, RewardType
from .engine import Decision, Decisions
from .errors import InvalidArgumentError
from .history import HistoryEntry

POLICY_TO_PB = {
    PolicyName.THOMPSON: common_pb2.POLICY_THOMPSON,
    PolicyName.UCB1: common_pb2.POLICY_UCB1,
    PolicyName.KL_UCB: common_pb2.POLICY_KL_UCB,
    PolicyName.EPSILON_GREEDY: common_pb2.POLICY_EPSILON_GREEDY,
    PolicyName.FIXED: common_pb2.POLICY_FIXED,
    PolicyName.GAUSSIAN_THOMPSON: common_pb2.POLICY_GAUSSIAN_THOMPSON,
}
POLICY_FROM_PB = {value: key for key, value in POLICY_TO_PB.items()}
REWARD_TYPE_TO_PB = {
    RewardType.BINARY: admin_pb2.REWARD_TYPE_BINARY,
    RewardType.CONTINUOUS: admin_pb2.REWARD_TYPE_CONTINUOUS,
}
REWARD_TYPE_FROM_PB = {value: key for key, value in REWARD_TYPE_TO_PB.items()}
ARM_STATE_TO_PB = {
    ArmState.LIVE: admin_pb2.ARM_STATE_LIVE,
    ArmState.RETIRED: admin_pb2.ARM_STATE_RETIRED,
    ArmState.SHADOW: admin_pb2.ARM_STATE_SHADOW,
    ArmState.ROLLED_BACK: admin_pb2.ARM_STATE_ROLLED_BACK,
}
# Which oneof member carries the parameters of which policy.
_PARAMS_FIELD = {
    PolicyName.THOMPSON: "thompson",
    PolicyName.UCB1: "ucb",
    PolicyName.KL_UCB: "ucb",
    PolicyName.EPSILON_GREEDY: "epsilon_greedy",
    PolicyName.FIXED: "fixed",
    PolicyName.GAUSSIAN_THOMPSON: "gaussian_thompson",
}

MAX_UNIT_ID_BYTES = 256
MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_KEY_BYTES = 64
MAX_ATTRIBUTE_VALUE_BYTES = 256
MAX_BATCH = 10_000


# --- data plane ------------------------------------------------------------------------
def check_unit_and_attributes(unit_ids: list[str], attributes: dict[str, str]) -> None:
    for unit_id in unit_ids:
        if len(unit_id.encode()) > MAX_UNIT_ID_BYTES:
            raise InvalidArgumentError(f"unit_id is longer than {MAX_UNIT_ID_BYTES} bytes")
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidArgumentError(
            f"attributes: at most {MAX_ATTRIBUTES} entries, got {len(attributes)}"
        )
    for key, value in attributes.items():
        if not key or len(key.encode()) > MAX_ATTRIBUTE_KEY_BYTES:
            raise InvalidArgumentError(
                f"attributes: key '{key[:80]}' must be 1 to {MAX_ATTRIBUTE_KEY_BYTES} bytes"
            )
        if len(value.encode()) > MAX_ATTRIBUTE_VALUE_BYTES:
            raise InvalidArgumentError(
                f"attributes['{key}'] is longer than {MAX_ATTRIBUTE_VALUE_BYTES} bytes"
            )


def batch_size(request: decisions_pb2.DecideBatchRequest) -> int:
    for position, unit_id in enumerate(request.unit_ids):
        if not unit_id:
            raise InvalidArgumentError(
                f"unit_ids[{position}] is empty; give every decision a unit id, or use count"
            )
    count = len(request.unit_ids) or request.count
    if not 1 <= count <= MAX_BATCH:
        raise InvalidArgumentError(
            f"count must be between 1 and {MAX_BATCH} (or give unit_ids), got {count}"
        )
    return count


def decide_response(decision: Decision) -> decisions_pb2.DecideResponse:
    snapshot, allocation, arm, token, shadows = decision
    experiment = snapshot.experiment
    chosen = experiment.arms[arm]
    default = experiment.arms[experiment.default_index]
    arms = experiment.arms
    return decisions_pb2.DecideResponse(
        shadows=[
            decisions_pb2.ShadowDecision(arm=arms[i].name, version=arms[i].version, decision_id=t)
            for i, t in shadows
        ],
        arm=chosen.name,
        version=chosen.version,
        decision_id=token,
        propensity=float(allocation.shares[arm]),
        policy=POLICY_TO_PB[experiment.policy.name],
        paused=experiment.paused,
        epoch=experiment.epoch,
        default_arm=default.name,
        default_version=default.version,
    )


# DecideResponse.decision_id: field 3, length-delimited.
_DECISION_ID_KEY = b"\x1a"


def decide_response_bytes(decision: Decision) -> bytes:
    """decide_response(decision), serialized, for the common decision: no shadows, decided
    by the snapshot's own allocation. Everything but the decision id is the same for every
    such decision of an arm, so it is serialized once per snapshot and arm; the id follows
    (protobuf fields may come in any order)."""
    snapshot, arm, token = decision.snapshot, decision.arm, decision.decision_id
    if decision.shadows or decision.allocation is not snapshot.allocation:
        return bytes(decide_response(decision).SerializeToString())
    head = snapshot.response_heads.get(arm)
    if head is None:
        fields = decide_response(decision._replace(decision_id=""))
        head = snapshot.response_heads[arm] = fields.SerializeToString()
    return head + _DECISION_ID_KEY + _varint(len(token)) + token.encode("ascii")


def _varint(n: int) -> bytes:
    """n as a protobuf base-128 varint (ids are ASCII, so characters are bytes)."""
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def decide_batch_response(decisions: Decisions) -> decisions_pb2.DecideBatchResponse:
    snapshot, allocation = decisions.snapshot, decisions.allocation
    experiment = snapshot.experiment
    shares = allocation.shares
    return decisions_pb2.DecideBatchResponse(
        shadow_arms=[
            decisions_pb2.BatchArm(
                name=experiment.arms[i].name, version=experiment.arms[i].version, propensity=1.0
            )
            for i in snapshot.shadows
        ],
        shadow_decision_ids=decisions.shadow_ids,
        arms=[
            decisions_pb2.BatchArm(name=a.name, version=a.version, propensity=float(shares[i]))
            for i, a in enumerate(experiment.arms)
        ],
        choices=decisions.arms.tolist(),
        decision_ids=decisions.decision_ids,
        policy=POLICY_TO_PB[experiment.policy.name],
        paused=experiment.paused,
        epoch=experiment.epoch,
    )


# --- admin plane -----------------------------------------------------------------------
def policy_from_pb(config: admin_pb2.PolicyConfig) -> PolicyConfig:
    if config.policy not in POLICY_FROM_PB:
        raise InvalidArgumentError(
            "policy.policy is required: one of "
            + ", ".join(common_pb2.Policy.Name(v) for v in POLICY_FROM_PB)
        )
    name = POLICY_FROM_PB[config.policy]
    given = config.WhichOneof("params")
    if given is not None and given != _PARAMS_FIELD[name]:
        raise InvalidArgumentError(
            f"policy.{given} parameters do not apply to policy '{name.value}' "
            f"(use policy.{_PARAMS_FIELD[name]})"
        )
    params: dict[str, float] = {}
    weights: dict[str, float] = {}
    if given == "thompson":
        if config.thompson.HasField("prior_alpha"):
            params["prior_alpha"] = config.thompson.prior_alpha
        if config.thompson.HasField("prior_beta"):
            params["prior_beta"] = config.thompson.prior_beta
    elif given == "ucb" and config.ucb.HasField("exploration"):
        params["exploration"] = config.ucb.exploration
    elif given == "epsilon_greedy" and config.epsilon_greedy.HasField("epsilon"):
        params["epsilon"] = config.epsilon_greedy.epsilon
    elif given == "fixed":
        weights = dict(config.fixed.weights)
    elif given == "gaussian_thompson":
        for key in ("prior_mean", "prior_sd"):
            if config.gaussian_thompson.HasField(key):
                params[key] = getattr(config.gaussian_thompson, key)
    return PolicyConfig(name, params, weights)


def policy_to_pb(policy: PolicyConfig) -> admin_pb2.PolicyConfig:
    pb = admin_pb2.PolicyConfig(policy=POLICY_TO_PB[policy.name])
    if policy.name is PolicyName.THOMPSON:
        pb.thompson.prior_alpha = policy.param("prior_alpha")
        pb.thompson.prior_beta = policy.param("prior_beta")
    elif policy.name in (PolicyName.UCB1, PolicyName.KL_UCB):
        pb.ucb.exploration = policy.param("exploration")
    elif policy.name is PolicyName.EPSILON_GREEDY:
        pb.epsilon_greedy.epsilon = policy.param("epsilon")
    elif policy.name is PolicyName.GAUSSIAN_THOMPSON:
        pb.gaussian_thompson.prior_mean = policy.param("prior_mean")
        pb.gaussian_thompson.prior_sd = policy.param("prior_sd")
    else:
        pb.fixed.weights.update(policy.weights)
    return pb


def experiment_from_create(request: admin_pb2.CreateExperimentRequest) -> Experiment:
    if request.reward_type not in REWARD_TYPE_FROM_PB:
        raise InvalidArgumentError(
            "reward_type is required: REWARD_TYPE_BINARY or REWARD_TYPE_CONTINUOUS"
        )
    return domain.new_experiment(
        name=request.name,
        description=request.description,
        policy=policy_from_pb(request.policy),
        reward_type=REWARD_TYPE_FROM_PB[request.reward_type],
        arms=[
            domain.ArmSpec(
                arm.name,
                arm.version,
                arm.shadow,
                limits_from_pb(arm.limits) if arm.HasField("limits") else domain.ArmLimits(),
            )
            for arm in request.arms
        ],
        default_arm=request.default_arm,
        reward_min=request.reward_min,
        reward_max=request.reward_max,
        guardrails=[guardrail_from_pb(g, i) for i, g in enumerate(request.guardrails)],
        promotion=promotion_from_pb(request.promotion),
        timing=timing_from_pb(request.timing) if request.HasField("timing") else None,
        segmentation=segmentation_from_pb(request.segmentation),
    )


def limits_from_pb(limits: admin_pb2.ArmLimits) -> domain.ArmLimits:
    ramp = None
    if limits.HasField("ramp") and limits.ramp.steps:
        ramp = domain.Ramp(
            steps=tuple(limits.ramp.steps),
            min_decisions=limits.ramp.min_decisions_per_step,
            min_seconds=limits.ramp.min_seconds_per_step,
        )
    return domain.ArmLimits(
        cap=limits.cap if limits.HasField("cap") else None,
        floor=limits.floor if limits.HasField("floor") else None,
        cap_until_rewards=limits.cap_until_rewards,
        ramp=ramp,
    )


def limits_to_pb(limits: domain.ArmLimits) -> admin_pb2.ArmLimits:
    pb = admin_pb2.ArmLimits(cap_until_rewards=limits.cap_until_rewards)
    if limits.cap is not None:
        pb.cap = limits.cap
    if limits.floor is not None:
        pb.floor = limits.floor
    if limits.ramp is not None:
        ramp = limits.ramp
        pb.ramp.CopyFrom(
            admin_pb2.Ramp(
                steps=ramp.steps,
                min_decisions_per_step=ramp.min_decisions,
                min_seconds_per_step=ramp.min_seconds,
                step=ramp.step,
                step_started_unix_ms=ramp.step_started_unix_ms,
            )
        )
    return pb


def rollback_to_pb(rollback: domain.Rollback) -> admin_pb2.Rollback:
    return admin_pb2.Rollback(
        guardrail=rollback.guardrail,
        reason=rollback.reason,
        probability=rollback.probability,
        at_unix_ms=rollback.at_unix_ms,
        samples=rollback.samples,
        control_samples=rollback.control_samples,
    )


def guardrail_from_pb(pb: admin_pb2.Guardrail, position: int) -> domain.Guardrail:
    kind = pb.WhichOneof("kind")
    if kind is None:
        raise InvalidArgumentError(f"guardrails[{position}] needs a kind: error_rate or latency")
    window = pb.window_s if pb.HasField("window_s") else domain.DEFAULT_GUARDRAIL_WINDOW_S
    if kind == "error_rate":
        return domain.Guardrail(
            name=pb.name,
            kind=domain.GuardrailKind.ERROR_RATE,
            max_increase=pb.error_rate.max_increase,
            control_arm=pb.error_rate.control_arm,
            min_samples=pb.min_samples,
            level=pb.level,
            segment=pb.segment,
            window_s=window,
        )
    return domain.Guardrail(
        name=pb.name,
        kind=domain.GuardrailKind.LATENCY,
        ceiling_ms=pb.latency.ceiling_ms,
        quantile=pb.latency.quantile,
        min_samples=pb.min_samples,
        level=pb.level,
        segment=pb.segment,
        window_s=window,
    )


def guardrail_to_pb(guardrail: domain.Guardrail) -> admin_pb2.Guardrail:
    pb = admin_pb2.Guardrail(
        name=guardrail.name,
        min_samples=guardrail.min_samples,
        level=guardrail.level,
        segment=guardrail.segment,
        window_s=guardrail.window_s,
    )
    if guardrail.kind is domain.GuardrailKind.ERROR_RATE:
        pb.error_rate.max_increase = guardrail.max_increase
        pb.error_rate.control_arm = guardrail.control_arm
    else:
        pb.latency.ceiling_ms = guardrail.ceiling_ms
        pb.latency.quantile = guardrail.quantile
    return pb


def arm_to_pb(arm: domain.Arm) -> admin_pb2.Arm:
    pb = admin_pb2.Arm(name=arm.name, version=arm.version, state=ARM_STATE_TO_PB[arm.state])
    if not arm.limits.empty:
        pb.limits.CopyFrom(limits_to_pb(arm.limits))
    if arm.rollback is not None:
        pb.rollback.CopyFrom(rollback_to_pb(arm.rollback))
    return pb


def history_to_pb(entries: list[HistoryEntry]) -> admin_pb2.History:
    return admin_pb2.History(
        entries=[
            admin_pb2.HistoryEntry(
                at_unix_ms=e.at_unix_ms,
                actor=e.actor,
                action=e.action,
                arm=e.arm,
                detail=e.detail,
                epoch=e.epoch,
            )
            for e in entries
        ]
    )


def experiment_to_pb(experiment: Experiment) -> admin_pb2.Experiment:
    return admin_pb2.Experiment(
        name=experiment.name,
        description=experiment.description,
        policy=policy_to_pb(experiment.policy),
        reward_type=REWARD_TYPE_TO_PB[experiment.reward_type],
        reward_min=experiment.reward_min,
        reward_max=experiment.reward_max,
        arms=[arm_to_pb(a) for a in experiment.arms],
        default_arm=experiment.default_arm,
        paused=experiment.paused,
        epoch=experiment.epoch,
        created_unix_ms=experiment.created_unix_ms,
        guardrails=[guardrail_to_pb(g) for g in experiment.guardrails],
        promotion=promotion_to_pb(experiment.promotion),
        timing=timing_to_pb(experiment.timing),
        segmentation=admin_pb2.Segmentation(
            attribute=experiment.segmentation.attribute,
            min_samples=experiment.segmentation.min_samples,
            max_values=experiment.segmentation.max_values,
        ),
    )


def promotion_from_pb(pb: admin_pb2.PromotionRule) -> domain.PromotionRule:
    return domain.PromotionRule(pb.prob_best, pb.max_expected_loss, pb.min_samples, pb.auto_promote)


def promotion_to_pb(rule: domain.PromotionRule) -> admin_pb2.PromotionRule:
    return admin_pb2.PromotionRule(
        prob_best=rule.prob_best,
        max_expected_loss=rule.max_expected_loss,
        min_samples=rule.min_samples,
        auto_promote=rule.auto_promote,
    )


def timing_from_pb(pb: admin_pb2.RewardTiming) -> domain.RewardTiming:
    return domain.RewardTiming(
        reward_wait_s=pb.reward_wait_s,
        default_reward=pb.default_reward if pb.HasField("default_reward") else None,
        window_s=pb.window_s,
    )


def timing_to_pb(timing: domain.RewardTiming) -> admin_pb2.RewardTiming:
    pb = admin_pb2.RewardTiming(reward_wait_s=timing.reward_wait_s, window_s=timing.window_s)
    if timing.default_reward is not None:
        pb.default_reward = timing.default_reward
    return pb


def segmentation_from_pb(pb: admin_pb2.Segmentation) -> domain.Segmentation:
    return domain.Segmentation(pb.attribute, pb.min_samples, pb.max_values)


def status_to_pb(status: Status) -> admin_pb2.ExperimentStatus:
    experiment, arms, readiness = status.experiment, status.arms, status.readiness
    return admin_pb2.ExperimentStatus(
        experiment=experiment_to_pb(experiment),
        ready_arm=readiness.ready_arm,
        readiness=readiness.explanation,
        segment=status.segment,
        segments=status.segments,
        arms=[
            admin_pb2.ArmStatus(
                name=a.name,
                version=a.version,
                state=ARM_STATE_TO_PB[a.state],
                is_default=a.is_default,
                pulls=a.pulls,
                rewards=a.rewards,
                reward_sum=a.reward_sum,
                mean_reward=a.mean_reward,
                interval_low=a.interval_low,
                interval_high=a.interval_high,
                traffic_share=a.traffic_share,
                prob_best=a.prob_best,
                expected_loss=a.expected_loss,
                promotion_ready=a.promotion_ready,
                observations=a.observations.observations,
                errors=a.observations.errors,
                latency_p50_ms=a.observations.latency_quantile(0.50),
                latency_p95_ms=a.observations.latency_quantile(0.95),
                latency_p99_ms=a.observations.latency_quantile(0.99),
                cap=a.cap,
                floor=a.floor,
                rollback=None if a.rollback is None else rollback_to_pb(a.rollback),
                guardrails=[
                    admin_pb2.GuardrailCheck(
                        guardrail=c.guardrail,
                        breach_probability=c.probability,
                        samples=c.samples,
                        judged=c.judged,
                    )
                    for c in a.checks
                ],
            )
            for a in arms
        ],
    )
