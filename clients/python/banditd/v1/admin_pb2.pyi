from banditd.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RewardType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REWARD_TYPE_UNSPECIFIED: _ClassVar[RewardType]
    REWARD_TYPE_BINARY: _ClassVar[RewardType]
    REWARD_TYPE_CONTINUOUS: _ClassVar[RewardType]

class ArmState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ARM_STATE_UNSPECIFIED: _ClassVar[ArmState]
    ARM_STATE_LIVE: _ClassVar[ArmState]
    ARM_STATE_RETIRED: _ClassVar[ArmState]
    ARM_STATE_SHADOW: _ClassVar[ArmState]
    ARM_STATE_ROLLED_BACK: _ClassVar[ArmState]
REWARD_TYPE_UNSPECIFIED: RewardType
REWARD_TYPE_BINARY: RewardType
REWARD_TYPE_CONTINUOUS: RewardType
ARM_STATE_UNSPECIFIED: ArmState
ARM_STATE_LIVE: ArmState
ARM_STATE_RETIRED: ArmState
ARM_STATE_SHADOW: ArmState
ARM_STATE_ROLLED_BACK: ArmState

class ThompsonParams(_message.Message):
    __slots__ = ("prior_alpha", "prior_beta")
    PRIOR_ALPHA_FIELD_NUMBER: _ClassVar[int]
    PRIOR_BETA_FIELD_NUMBER: _ClassVar[int]
    prior_alpha: float
    prior_beta: float
    def __init__(self, prior_alpha: _Optional[float] = ..., prior_beta: _Optional[float] = ...) -> None: ...

class UcbParams(_message.Message):
    __slots__ = ("exploration",)
    EXPLORATION_FIELD_NUMBER: _ClassVar[int]
    exploration: float
    def __init__(self, exploration: _Optional[float] = ...) -> None: ...

class GaussianThompsonParams(_message.Message):
    __slots__ = ("prior_mean", "prior_sd")
    PRIOR_MEAN_FIELD_NUMBER: _ClassVar[int]
    PRIOR_SD_FIELD_NUMBER: _ClassVar[int]
    prior_mean: float
    prior_sd: float
    def __init__(self, prior_mean: _Optional[float] = ..., prior_sd: _Optional[float] = ...) -> None: ...

class EpsilonGreedyParams(_message.Message):
    __slots__ = ("epsilon",)
    EPSILON_FIELD_NUMBER: _ClassVar[int]
    epsilon: float
    def __init__(self, epsilon: _Optional[float] = ...) -> None: ...

class FixedParams(_message.Message):
    __slots__ = ("weights",)
    class WeightsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    weights: _containers.ScalarMap[str, float]
    def __init__(self, weights: _Optional[_Mapping[str, float]] = ...) -> None: ...

class PolicyConfig(_message.Message):
    __slots__ = ("policy", "thompson", "ucb", "epsilon_greedy", "fixed", "gaussian_thompson")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    THOMPSON_FIELD_NUMBER: _ClassVar[int]
    UCB_FIELD_NUMBER: _ClassVar[int]
    EPSILON_GREEDY_FIELD_NUMBER: _ClassVar[int]
    FIXED_FIELD_NUMBER: _ClassVar[int]
    GAUSSIAN_THOMPSON_FIELD_NUMBER: _ClassVar[int]
    policy: _common_pb2.Policy
    thompson: ThompsonParams
    ucb: UcbParams
    epsilon_greedy: EpsilonGreedyParams
    fixed: FixedParams
    gaussian_thompson: GaussianThompsonParams
    def __init__(self, policy: _Optional[_Union[_common_pb2.Policy, str]] = ..., thompson: _Optional[_Union[ThompsonParams, _Mapping]] = ..., ucb: _Optional[_Union[UcbParams, _Mapping]] = ..., epsilon_greedy: _Optional[_Union[EpsilonGreedyParams, _Mapping]] = ..., fixed: _Optional[_Union[FixedParams, _Mapping]] = ..., gaussian_thompson: _Optional[_Union[GaussianThompsonParams, _Mapping]] = ...) -> None: ...

class ArmSpec(_message.Message):
    __slots__ = ("name", "version", "shadow", "limits")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SHADOW_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    shadow: bool
    limits: ArmLimits
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., shadow: _Optional[bool] = ..., limits: _Optional[_Union[ArmLimits, _Mapping]] = ...) -> None: ...

class ArmLimits(_message.Message):
    __slots__ = ("cap", "floor", "cap_until_rewards", "ramp")
    CAP_FIELD_NUMBER: _ClassVar[int]
    FLOOR_FIELD_NUMBER: _ClassVar[int]
    CAP_UNTIL_REWARDS_FIELD_NUMBER: _ClassVar[int]
    RAMP_FIELD_NUMBER: _ClassVar[int]
    cap: float
    floor: float
    cap_until_rewards: int
    ramp: Ramp
    def __init__(self, cap: _Optional[float] = ..., floor: _Optional[float] = ..., cap_until_rewards: _Optional[int] = ..., ramp: _Optional[_Union[Ramp, _Mapping]] = ...) -> None: ...

class Ramp(_message.Message):
    __slots__ = ("steps", "min_decisions_per_step", "min_seconds_per_step", "step", "step_started_unix_ms")
    STEPS_FIELD_NUMBER: _ClassVar[int]
    MIN_DECISIONS_PER_STEP_FIELD_NUMBER: _ClassVar[int]
    MIN_SECONDS_PER_STEP_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    STEP_STARTED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    steps: _containers.RepeatedScalarFieldContainer[float]
    min_decisions_per_step: int
    min_seconds_per_step: float
    step: int
    step_started_unix_ms: int
    def __init__(self, steps: _Optional[_Iterable[float]] = ..., min_decisions_per_step: _Optional[int] = ..., min_seconds_per_step: _Optional[float] = ..., step: _Optional[int] = ..., step_started_unix_ms: _Optional[int] = ...) -> None: ...

class Rollback(_message.Message):
    __slots__ = ("guardrail", "reason", "probability", "at_unix_ms", "samples", "control_samples")
    GUARDRAIL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    CONTROL_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    guardrail: str
    reason: str
    probability: float
    at_unix_ms: int
    samples: int
    control_samples: int
    def __init__(self, guardrail: _Optional[str] = ..., reason: _Optional[str] = ..., probability: _Optional[float] = ..., at_unix_ms: _Optional[int] = ..., samples: _Optional[int] = ..., control_samples: _Optional[int] = ...) -> None: ...

class Arm(_message.Message):
    __slots__ = ("name", "version", "state", "limits", "rollback")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    state: ArmState
    limits: ArmLimits
    rollback: Rollback
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., state: _Optional[_Union[ArmState, str]] = ..., limits: _Optional[_Union[ArmLimits, _Mapping]] = ..., rollback: _Optional[_Union[Rollback, _Mapping]] = ...) -> None: ...

class Guardrail(_message.Message):
    __slots__ = ("name", "error_rate", "latency", "min_samples", "level", "segment", "window_s")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    MIN_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_S_FIELD_NUMBER: _ClassVar[int]
    name: str
    error_rate: ErrorRateGuardrail
    latency: LatencyGuardrail
    min_samples: int
    level: float
    segment: str
    window_s: float
    def __init__(self, name: _Optional[str] = ..., error_rate: _Optional[_Union[ErrorRateGuardrail, _Mapping]] = ..., latency: _Optional[_Union[LatencyGuardrail, _Mapping]] = ..., min_samples: _Optional[int] = ..., level: _Optional[float] = ..., segment: _Optional[str] = ..., window_s: _Optional[float] = ...) -> None: ...

class PromotionRule(_message.Message):
    __slots__ = ("prob_best", "max_expected_loss", "min_samples", "auto_promote")
    PROB_BEST_FIELD_NUMBER: _ClassVar[int]
    MAX_EXPECTED_LOSS_FIELD_NUMBER: _ClassVar[int]
    MIN_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    AUTO_PROMOTE_FIELD_NUMBER: _ClassVar[int]
    prob_best: float
    max_expected_loss: float
    min_samples: int
    auto_promote: bool
    def __init__(self, prob_best: _Optional[float] = ..., max_expected_loss: _Optional[float] = ..., min_samples: _Optional[int] = ..., auto_promote: _Optional[bool] = ...) -> None: ...

class RewardTiming(_message.Message):
    __slots__ = ("reward_wait_s", "default_reward", "window_s")
    REWARD_WAIT_S_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_REWARD_FIELD_NUMBER: _ClassVar[int]
    WINDOW_S_FIELD_NUMBER: _ClassVar[int]
    reward_wait_s: float
    default_reward: float
    window_s: float
    def __init__(self, reward_wait_s: _Optional[float] = ..., default_reward: _Optional[float] = ..., window_s: _Optional[float] = ...) -> None: ...

class Segmentation(_message.Message):
    __slots__ = ("attribute", "min_samples", "max_values")
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    MIN_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    MAX_VALUES_FIELD_NUMBER: _ClassVar[int]
    attribute: str
    min_samples: int
    max_values: int
    def __init__(self, attribute: _Optional[str] = ..., min_samples: _Optional[int] = ..., max_values: _Optional[int] = ...) -> None: ...

class ErrorRateGuardrail(_message.Message):
    __slots__ = ("max_increase", "control_arm")
    MAX_INCREASE_FIELD_NUMBER: _ClassVar[int]
    CONTROL_ARM_FIELD_NUMBER: _ClassVar[int]
    max_increase: float
    control_arm: str
    def __init__(self, max_increase: _Optional[float] = ..., control_arm: _Optional[str] = ...) -> None: ...

class LatencyGuardrail(_message.Message):
    __slots__ = ("ceiling_ms", "quantile")
    CEILING_MS_FIELD_NUMBER: _ClassVar[int]
    QUANTILE_FIELD_NUMBER: _ClassVar[int]
    ceiling_ms: float
    quantile: float
    def __init__(self, ceiling_ms: _Optional[float] = ..., quantile: _Optional[float] = ...) -> None: ...

class Experiment(_message.Message):
    __slots__ = ("name", "description", "policy", "reward_type", "reward_min", "reward_max", "arms", "default_arm", "paused", "epoch", "created_unix_ms", "guardrails", "promotion", "timing", "segmentation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    REWARD_TYPE_FIELD_NUMBER: _ClassVar[int]
    REWARD_MIN_FIELD_NUMBER: _ClassVar[int]
    REWARD_MAX_FIELD_NUMBER: _ClassVar[int]
    ARMS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_ARM_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    GUARDRAILS_FIELD_NUMBER: _ClassVar[int]
    PROMOTION_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    SEGMENTATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    policy: PolicyConfig
    reward_type: RewardType
    reward_min: float
    reward_max: float
    arms: _containers.RepeatedCompositeFieldContainer[Arm]
    default_arm: str
    paused: bool
    epoch: int
    created_unix_ms: int
    guardrails: _containers.RepeatedCompositeFieldContainer[Guardrail]
    promotion: PromotionRule
    timing: RewardTiming
    segmentation: Segmentation
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., policy: _Optional[_Union[PolicyConfig, _Mapping]] = ..., reward_type: _Optional[_Union[RewardType, str]] = ..., reward_min: _Optional[float] = ..., reward_max: _Optional[float] = ..., arms: _Optional[_Iterable[_Union[Arm, _Mapping]]] = ..., default_arm: _Optional[str] = ..., paused: _Optional[bool] = ..., epoch: _Optional[int] = ..., created_unix_ms: _Optional[int] = ..., guardrails: _Optional[_Iterable[_Union[Guardrail, _Mapping]]] = ..., promotion: _Optional[_Union[PromotionRule, _Mapping]] = ..., timing: _Optional[_Union[RewardTiming, _Mapping]] = ..., segmentation: _Optional[_Union[Segmentation, _Mapping]] = ...) -> None: ...

class CreateExperimentRequest(_message.Message):
    __slots__ = ("name", "description", "policy", "reward_type", "reward_min", "reward_max", "arms", "default_arm", "guardrails", "promotion", "timing", "segmentation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    REWARD_TYPE_FIELD_NUMBER: _ClassVar[int]
    REWARD_MIN_FIELD_NUMBER: _ClassVar[int]
    REWARD_MAX_FIELD_NUMBER: _ClassVar[int]
    ARMS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_ARM_FIELD_NUMBER: _ClassVar[int]
    GUARDRAILS_FIELD_NUMBER: _ClassVar[int]
    PROMOTION_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    SEGMENTATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    policy: PolicyConfig
    reward_type: RewardType
    reward_min: float
    reward_max: float
    arms: _containers.RepeatedCompositeFieldContainer[ArmSpec]
    default_arm: str
    guardrails: _containers.RepeatedCompositeFieldContainer[Guardrail]
    promotion: PromotionRule
    timing: RewardTiming
    segmentation: Segmentation
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., policy: _Optional[_Union[PolicyConfig, _Mapping]] = ..., reward_type: _Optional[_Union[RewardType, str]] = ..., reward_min: _Optional[float] = ..., reward_max: _Optional[float] = ..., arms: _Optional[_Iterable[_Union[ArmSpec, _Mapping]]] = ..., default_arm: _Optional[str] = ..., guardrails: _Optional[_Iterable[_Union[Guardrail, _Mapping]]] = ..., promotion: _Optional[_Union[PromotionRule, _Mapping]] = ..., timing: _Optional[_Union[RewardTiming, _Mapping]] = ..., segmentation: _Optional[_Union[Segmentation, _Mapping]] = ...) -> None: ...

class ExperimentRef(_message.Message):
    __slots__ = ("experiment",)
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    def __init__(self, experiment: _Optional[str] = ...) -> None: ...

class ArmRef(_message.Message):
    __slots__ = ("experiment", "arm")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    ARM_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    arm: str
    def __init__(self, experiment: _Optional[str] = ..., arm: _Optional[str] = ...) -> None: ...

class ListExperimentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListExperimentsResponse(_message.Message):
    __slots__ = ("experiments",)
    EXPERIMENTS_FIELD_NUMBER: _ClassVar[int]
    experiments: _containers.RepeatedCompositeFieldContainer[Experiment]
    def __init__(self, experiments: _Optional[_Iterable[_Union[Experiment, _Mapping]]] = ...) -> None: ...

class AddArmRequest(_message.Message):
    __slots__ = ("experiment", "arm", "weight")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    ARM_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    arm: ArmSpec
    weight: float
    def __init__(self, experiment: _Optional[str] = ..., arm: _Optional[_Union[ArmSpec, _Mapping]] = ..., weight: _Optional[float] = ...) -> None: ...

class SetPolicyRequest(_message.Message):
    __slots__ = ("experiment", "policy")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    policy: PolicyConfig
    def __init__(self, experiment: _Optional[str] = ..., policy: _Optional[_Union[PolicyConfig, _Mapping]] = ...) -> None: ...

class SetArmLimitsRequest(_message.Message):
    __slots__ = ("experiment", "arm", "limits")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    ARM_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    arm: str
    limits: ArmLimits
    def __init__(self, experiment: _Optional[str] = ..., arm: _Optional[str] = ..., limits: _Optional[_Union[ArmLimits, _Mapping]] = ...) -> None: ...

class SetGuardrailsRequest(_message.Message):
    __slots__ = ("experiment", "guardrails")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    GUARDRAILS_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    guardrails: _containers.RepeatedCompositeFieldContainer[Guardrail]
    def __init__(self, experiment: _Optional[str] = ..., guardrails: _Optional[_Iterable[_Union[Guardrail, _Mapping]]] = ...) -> None: ...

class SetPromotionRuleRequest(_message.Message):
    __slots__ = ("experiment", "promotion")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    PROMOTION_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    promotion: PromotionRule
    def __init__(self, experiment: _Optional[str] = ..., promotion: _Optional[_Union[PromotionRule, _Mapping]] = ...) -> None: ...

class SetRewardTimingRequest(_message.Message):
    __slots__ = ("experiment", "timing")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    timing: RewardTiming
    def __init__(self, experiment: _Optional[str] = ..., timing: _Optional[_Union[RewardTiming, _Mapping]] = ...) -> None: ...

class SetSegmentationRequest(_message.Message):
    __slots__ = ("experiment", "segmentation")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    SEGMENTATION_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    segmentation: Segmentation
    def __init__(self, experiment: _Optional[str] = ..., segmentation: _Optional[_Union[Segmentation, _Mapping]] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ("experiment", "segment")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    segment: str
    def __init__(self, experiment: _Optional[str] = ..., segment: _Optional[str] = ...) -> None: ...

class GetHistoryRequest(_message.Message):
    __slots__ = ("experiment", "limit")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    limit: int
    def __init__(self, experiment: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class HistoryEntry(_message.Message):
    __slots__ = ("at_unix_ms", "actor", "action", "arm", "detail", "epoch")
    AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ARM_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    at_unix_ms: int
    actor: str
    action: str
    arm: str
    detail: str
    epoch: int
    def __init__(self, at_unix_ms: _Optional[int] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., arm: _Optional[str] = ..., detail: _Optional[str] = ..., epoch: _Optional[int] = ...) -> None: ...

class History(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[HistoryEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[HistoryEntry, _Mapping]]] = ...) -> None: ...

class ArmStatus(_message.Message):
    __slots__ = ("name", "version", "state", "is_default", "pulls", "rewards", "reward_sum", "mean_reward", "interval_low", "interval_high", "traffic_share", "prob_best", "observations", "errors", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "cap", "floor", "rollback", "guardrails", "expected_loss", "promotion_ready")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    PULLS_FIELD_NUMBER: _ClassVar[int]
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    REWARD_SUM_FIELD_NUMBER: _ClassVar[int]
    MEAN_REWARD_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_LOW_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_HIGH_FIELD_NUMBER: _ClassVar[int]
    TRAFFIC_SHARE_FIELD_NUMBER: _ClassVar[int]
    PROB_BEST_FIELD_NUMBER: _ClassVar[int]
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P50_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P95_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P99_MS_FIELD_NUMBER: _ClassVar[int]
    CAP_FIELD_NUMBER: _ClassVar[int]
    FLOOR_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_FIELD_NUMBER: _ClassVar[int]
    GUARDRAILS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_LOSS_FIELD_NUMBER: _ClassVar[int]
    PROMOTION_READY_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    state: ArmState
    is_default: bool
    pulls: int
    rewards: int
    reward_sum: float
    mean_reward: float
    interval_low: float
    interval_high: float
    traffic_share: float
    prob_best: float
    observations: int
    errors: int
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    cap: float
    floor: float
    rollback: Rollback
    guardrails: _containers.RepeatedCompositeFieldContainer[GuardrailCheck]
    expected_loss: float
    promotion_ready: bool
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., state: _Optional[_Union[ArmState, str]] = ..., is_default: _Optional[bool] = ..., pulls: _Optional[int] = ..., rewards: _Optional[int] = ..., reward_sum: _Optional[float] = ..., mean_reward: _Optional[float] = ..., interval_low: _Optional[float] = ..., interval_high: _Optional[float] = ..., traffic_share: _Optional[float] = ..., prob_best: _Optional[float] = ..., observations: _Optional[int] = ..., errors: _Optional[int] = ..., latency_p50_ms: _Optional[float] = ..., latency_p95_ms: _Optional[float] = ..., latency_p99_ms: _Optional[float] = ..., cap: _Optional[float] = ..., floor: _Optional[float] = ..., rollback: _Optional[_Union[Rollback, _Mapping]] = ..., guardrails: _Optional[_Iterable[_Union[GuardrailCheck, _Mapping]]] = ..., expected_loss: _Optional[float] = ..., promotion_ready: _Optional[bool] = ...) -> None: ...

class GuardrailCheck(_message.Message):
    __slots__ = ("guardrail", "breach_probability", "samples", "judged")
    GUARDRAIL_FIELD_NUMBER: _ClassVar[int]
    BREACH_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    JUDGED_FIELD_NUMBER: _ClassVar[int]
    guardrail: str
    breach_probability: float
    samples: int
    judged: bool
    def __init__(self, guardrail: _Optional[str] = ..., breach_probability: _Optional[float] = ..., samples: _Optional[int] = ..., judged: _Optional[bool] = ...) -> None: ...

class ExperimentStatus(_message.Message):
    __slots__ = ("experiment", "arms", "ready_arm", "readiness", "segment", "segments")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    ARMS_FIELD_NUMBER: _ClassVar[int]
    READY_ARM_FIELD_NUMBER: _ClassVar[int]
    READINESS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    experiment: Experiment
    arms: _containers.RepeatedCompositeFieldContainer[ArmStatus]
    ready_arm: str
    readiness: str
    segment: str
    segments: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, experiment: _Optional[_Union[Experiment, _Mapping]] = ..., arms: _Optional[_Iterable[_Union[ArmStatus, _Mapping]]] = ..., ready_arm: _Optional[str] = ..., readiness: _Optional[str] = ..., segment: _Optional[str] = ..., segments: _Optional[_Iterable[str]] = ...) -> None: ...

class ImportOutcomesRequest(_message.Message):
    __slots__ = ("experiment", "arm", "pulls", "rewards", "reward_sum", "reward_sum_squares", "import_id")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    ARM_FIELD_NUMBER: _ClassVar[int]
    PULLS_FIELD_NUMBER: _ClassVar[int]
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    REWARD_SUM_FIELD_NUMBER: _ClassVar[int]
    REWARD_SUM_SQUARES_FIELD_NUMBER: _ClassVar[int]
    IMPORT_ID_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    arm: str
    pulls: int
    rewards: int
    reward_sum: float
    reward_sum_squares: float
    import_id: str
    def __init__(self, experiment: _Optional[str] = ..., arm: _Optional[str] = ..., pulls: _Optional[int] = ..., rewards: _Optional[int] = ..., reward_sum: _Optional[float] = ..., reward_sum_squares: _Optional[float] = ..., import_id: _Optional[str] = ...) -> None: ...

class ImportOutcomesResponse(_message.Message):
    __slots__ = ("duplicate",)
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    duplicate: bool
    def __init__(self, duplicate: _Optional[bool] = ...) -> None: ...
