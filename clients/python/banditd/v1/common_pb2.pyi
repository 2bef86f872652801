from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class Policy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POLICY_UNSPECIFIED: _ClassVar[Policy]
    POLICY_THOMPSON: _ClassVar[Policy]
    POLICY_UCB1: _ClassVar[Policy]
    POLICY_KL_UCB: _ClassVar[Policy]
    POLICY_EPSILON_GREEDY: _ClassVar[Policy]
    POLICY_FIXED: _ClassVar[Policy]
    POLICY_GAUSSIAN_THOMPSON: _ClassVar[Policy]
POLICY_UNSPECIFIED: Policy
POLICY_THOMPSON: Policy
POLICY_UCB1: Policy
POLICY_KL_UCB: Policy
POLICY_EPSILON_GREEDY: Policy
POLICY_FIXED: Policy
POLICY_GAUSSIAN_THOMPSON: Policy
