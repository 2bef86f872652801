from banditd.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DecideRequest(_message.Message):
    __slots__ = ("experiment", "unit_id", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    UNIT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    unit_id: str
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, experiment: _Optional[str] = ..., unit_id: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class DecideResponse(_message.Message):
    __slots__ = ("arm", "version", "decision_id", "propensity", "policy", "paused", "epoch", "default_arm", "default_version", "shadows")
    ARM_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    PROPENSITY_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_ARM_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VERSION_FIELD_NUMBER: _ClassVar[int]
    SHADOWS_FIELD_NUMBER: _ClassVar[int]
    arm: str
    version: str
    decision_id: str
    propensity: float
    policy: _common_pb2.Policy
    paused: bool
    epoch: int
    default_arm: str
    default_version: str
    shadows: _containers.RepeatedCompositeFieldContainer[ShadowDecision]
    def __init__(self, arm: _Optional[str] = ..., version: _Optional[str] = ..., decision_id: _Optional[str] = ..., propensity: _Optional[float] = ..., policy: _Optional[_Union[_common_pb2.Policy, str]] = ..., paused: _Optional[bool] = ..., epoch: _Optional[int] = ..., default_arm: _Optional[str] = ..., default_version: _Optional[str] = ..., shadows: _Optional[_Iterable[_Union[ShadowDecision, _Mapping]]] = ...) -> None: ...

class ShadowDecision(_message.Message):
    __slots__ = ("arm", "version", "decision_id")
    ARM_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    arm: str
    version: str
    decision_id: str
    def __init__(self, arm: _Optional[str] = ..., version: _Optional[str] = ..., decision_id: _Optional[str] = ...) -> None: ...

class DecideBatchRequest(_message.Message):
    __slots__ = ("experiment", "count", "unit_ids", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    UNIT_IDS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    count: int
    unit_ids: _containers.RepeatedScalarFieldContainer[str]
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, experiment: _Optional[str] = ..., count: _Optional[int] = ..., unit_ids: _Optional[_Iterable[str]] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class BatchArm(_message.Message):
    __slots__ = ("name", "version", "propensity")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROPENSITY_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    propensity: float
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., propensity: _Optional[float] = ...) -> None: ...

class DecideBatchResponse(_message.Message):
    __slots__ = ("arms", "choices", "decision_ids", "policy", "paused", "epoch", "shadow_arms", "shadow_decision_ids")
    ARMS_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    DECISION_IDS_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SHADOW_ARMS_FIELD_NUMBER: _ClassVar[int]
    SHADOW_DECISION_IDS_FIELD_NUMBER: _ClassVar[int]
    arms: _containers.RepeatedCompositeFieldContainer[BatchArm]
    choices: _containers.RepeatedScalarFieldContainer[int]
    decision_ids: _containers.RepeatedScalarFieldContainer[str]
    policy: _common_pb2.Policy
    paused: bool
    epoch: int
    shadow_arms: _containers.RepeatedCompositeFieldContainer[BatchArm]
    shadow_decision_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, arms: _Optional[_Iterable[_Union[BatchArm, _Mapping]]] = ..., choices: _Optional[_Iterable[int]] = ..., decision_ids: _Optional[_Iterable[str]] = ..., policy: _Optional[_Union[_common_pb2.Policy, str]] = ..., paused: _Optional[bool] = ..., epoch: _Optional[int] = ..., shadow_arms: _Optional[_Iterable[_Union[BatchArm, _Mapping]]] = ..., shadow_decision_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RewardEvent(_message.Message):
    __slots__ = ("decision_id", "reward", "event_id", "error", "latency_ms")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    reward: float
    event_id: str
    error: bool
    latency_ms: float
    def __init__(self, decision_id: _Optional[str] = ..., reward: _Optional[float] = ..., event_id: _Optional[str] = ..., error: _Optional[bool] = ..., latency_ms: _Optional[float] = ...) -> None: ...

class ReportRewardRequest(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: RewardEvent
    def __init__(self, event: _Optional[_Union[RewardEvent, _Mapping]] = ...) -> None: ...

class ReportRewardResponse(_message.Message):
    __slots__ = ("duplicate",)
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    duplicate: bool
    def __init__(self, duplicate: _Optional[bool] = ...) -> None: ...

class RewardBatch(_message.Message):
    __slots__ = ("batch_id", "events")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    batch_id: int
    events: _containers.RepeatedCompositeFieldContainer[RewardEvent]
    def __init__(self, batch_id: _Optional[int] = ..., events: _Optional[_Iterable[_Union[RewardEvent, _Mapping]]] = ...) -> None: ...

class RewardRejection(_message.Message):
    __slots__ = ("index", "code", "message")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    index: int
    code: int
    message: str
    def __init__(self, index: _Optional[int] = ..., code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class RewardAck(_message.Message):
    __slots__ = ("batch_id", "accepted", "duplicates", "rejected")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    batch_id: int
    accepted: int
    duplicates: int
    rejected: _containers.RepeatedCompositeFieldContainer[RewardRejection]
    def __init__(self, batch_id: _Optional[int] = ..., accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., rejected: _Optional[_Iterable[_Union[RewardRejection, _Mapping]]] = ...) -> None: ...
