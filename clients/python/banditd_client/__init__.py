"""banditd_client: ask banditd which model version (arm) serves a request, report rewards.

    from banditd_client import BanditClient

    with BanditClient("127.0.0.1:50051", fallback_to_default=True) as client:
        decision = client.decide("checkout", unit_id=user_id)
        ...  # serve the request with decision.version
        client.report_reward(decision.decision_id, 1.0, latency_ms=12.5)

Needs only grpcio and protobuf. See errors.py for the exceptions a call can raise.
"""

from banditd_client._reward_batches import Rejection
from banditd_client.admin import (
    AdminClient,
    arm_limits,
    error_rate_guardrail,
    latency_guardrail,
    policy_config,
    promotion_rule,
    reward_timing,
    segmentation,
)
from banditd_client.async_client import AsyncBanditClient
from banditd_client.async_reporter import AsyncRewardReporter
from banditd_client.client import BanditClient
from banditd_client.decision import Decision, ShadowDecision
from banditd_client.errors import (
    AccessDenied,
    AlreadyExists,
    BanditError,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RequestRejected,
    ResourceExhausted,
    ServiceUnreachable,
    Unauthenticated,
    Unavailable,
    UnexpectedStatus,
)
from banditd_client.reporter import RewardReporter

__all__ = [
    "AccessDenied",
    "AdminClient",
    "AlreadyExists",
    "AsyncBanditClient",
    "AsyncRewardReporter",
    "BanditClient",
    "BanditError",
    "DeadlineExceeded",
    "Decision",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "Rejection",
    "RequestRejected",
    "ResourceExhausted",
    "RewardReporter",
    "ServiceUnreachable",
    "ShadowDecision",
    "Unauthenticated",
    "Unavailable",
    "UnexpectedStatus",
    "arm_limits",
    "error_rate_guardrail",
    "latency_guardrail",
    "policy_config",
    "promotion_rule",
    "reward_timing",
    "segmentation",
]
