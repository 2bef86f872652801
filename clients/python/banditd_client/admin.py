"""AdminClient: one thin method per Admin RPC, returning the protobuf messages.

Also builds the two admin values that need more than a constructor call: a PolicyConfig
from a policy name and its parameters, and a RewardType from its name. banditctl uses
the same builders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Final

import grpc
from banditd.v1 import admin_pb2, admin_pb2_grpc

from banditd_client._channel import auth_metadata, open_channel
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
}

# The parameters each policy takes (keyword names of policy_config).
POLICY_PARAMETERS: Final[dict[str, frozenset[str]]] = {
    "thompson": frozenset({"prior_alpha", "prior_beta"}),
    "ucb1": frozenset({"exploration"}),
    "kl_ucb": frozenset({"exploration"}),
    "epsilon_greedy": frozenset({"epsilon"}),
    "fixed": frozenset({"weights"}),
}

# Arms given as "name" or (name, version).
ArmArg = str | tuple[str, str]


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
) -> Message:
    """A PolicyConfig for a policy name ("thompson", "ucb1", "kl_ucb", "epsilon_greedy",
    "fixed"; dashes work too) and the parameters that belong to it.

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
    return config


def _arm_spec(arm: ArmArg) -> Message:
    name, version = (arm, "") if isinstance(arm, str) else arm
    return admin_pb2.ArmSpec(name=name, version=version)


class AdminClient:
    """The admin plane: experiments, arms, policies and status. Needs the admin token
    when the server has one configured (BANDITD_ADMIN_TOKEN on the server)."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        token: str | None = None,
        timeout_s: float = 5.0,
        channel: grpc.Channel | None = None,
    ) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self._metadata = auth_metadata(token)
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
    ) -> Message:
        """Creates an experiment; arms are names or (name, version) pairs. Returns it."""
        request = admin_pb2.CreateExperimentRequest(
            name=name,
            description=description,
            policy=policy_config(policy) if isinstance(policy, str) else policy,
            reward_type=reward_type_value(reward_type),
            reward_min=0.0 if reward_min is None else reward_min,
            reward_max=0.0 if reward_max is None else reward_max,
            arms=[_arm_spec(arm) for arm in arms],
            default_arm=default_arm or "",
        )
        return self._call(self._stub.CreateExperiment, request)

    def get_experiment(self, experiment: str) -> Message:
        return self._call(self._stub.GetExperiment, _experiment_ref(experiment))

    def list_experiments(self) -> list[Message]:
        response = self._call(self._stub.ListExperiments, admin_pb2.ListExperimentsRequest())
        return list(response.experiments)

    def add_arm(
        self, experiment: str, arm: str, version: str = "", *, weight: float = 0.0
    ) -> Message:
        """Adds a live arm; `weight` counts only under the fixed policy."""
        request = admin_pb2.AddArmRequest(
            experiment=experiment, arm=_arm_spec((arm, version)), weight=weight
        )
        return self._call(self._stub.AddArm, request)

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

    def status(self, experiment: str) -> Message:
        return self._call(self._stub.GetStatus, _experiment_ref(experiment))

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
