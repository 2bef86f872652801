"""Protobuf <-> domain conversions for the servicers. No business rules live here."""

from __future__ import annotations

from banditd.v1 import admin_pb2, common_pb2, decisions_pb2

from . import domain
from .domain import ArmState, Experiment, PolicyConfig, PolicyName, RewardType
from .engine import Snapshot
from .errors import InvalidArgumentError
from .stats import ArmStatus

POLICY_TO_PB = {
    PolicyName.THOMPSON: common_pb2.POLICY_THOMPSON,
    PolicyName.UCB1: common_pb2.POLICY_UCB1,
    PolicyName.KL_UCB: common_pb2.POLICY_KL_UCB,
    PolicyName.EPSILON_GREEDY: common_pb2.POLICY_EPSILON_GREEDY,
    PolicyName.FIXED: common_pb2.POLICY_FIXED,
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
}
# Which oneof member carries the parameters of which policy.
_PARAMS_FIELD = {
    PolicyName.THOMPSON: "thompson",
    PolicyName.UCB1: "ucb",
    PolicyName.KL_UCB: "ucb",
    PolicyName.EPSILON_GREEDY: "epsilon_greedy",
    PolicyName.FIXED: "fixed",
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
    count = len(request.unit_ids) or request.count
    if not 1 <= count <= MAX_BATCH:
        raise InvalidArgumentError(
            f"count must be between 1 and {MAX_BATCH} (or give unit_ids), got {count}"
        )
    return count


def decide_response(snapshot: Snapshot, arm: int, token: str) -> decisions_pb2.DecideResponse:
    experiment = snapshot.experiment
    chosen = experiment.arms[arm]
    default = experiment.arms[experiment.default_index]
    return decisions_pb2.DecideResponse(
        arm=chosen.name,
        version=chosen.version,
        decision_id=token,
        propensity=float(snapshot.allocation.shares[arm]),
        policy=POLICY_TO_PB[experiment.policy.name],
        paused=experiment.paused,
        epoch=experiment.epoch,
        default_arm=default.name,
        default_version=default.version,
    )


def decide_batch_response(
    snapshot: Snapshot, arms: list[int], tokens: list[str]
) -> decisions_pb2.DecideBatchResponse:
    experiment = snapshot.experiment
    shares = snapshot.allocation.shares
    return decisions_pb2.DecideBatchResponse(
        arms=[
            decisions_pb2.BatchArm(name=a.name, version=a.version, propensity=float(shares[i]))
            for i, a in enumerate(experiment.arms)
        ],
        choices=arms,
        decision_ids=tokens,
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
        arms=[(arm.name, arm.version) for arm in request.arms],
        default_arm=request.default_arm,
        reward_min=request.reward_min,
        reward_max=request.reward_max,
    )


def experiment_to_pb(experiment: Experiment) -> admin_pb2.Experiment:
    return admin_pb2.Experiment(
        name=experiment.name,
        description=experiment.description,
        policy=policy_to_pb(experiment.policy),
        reward_type=REWARD_TYPE_TO_PB[experiment.reward_type],
        reward_min=experiment.reward_min,
        reward_max=experiment.reward_max,
        arms=[
            admin_pb2.Arm(name=a.name, version=a.version, state=ARM_STATE_TO_PB[a.state])
            for a in experiment.arms
        ],
        default_arm=experiment.default_arm,
        paused=experiment.paused,
        epoch=experiment.epoch,
        created_unix_ms=experiment.created_unix_ms,
    )


def status_to_pb(experiment: Experiment, arms: list[ArmStatus]) -> admin_pb2.ExperimentStatus:
    return admin_pb2.ExperimentStatus(
        experiment=experiment_to_pb(experiment),
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
            )
            for a in arms
        ],
    )
