"""Domain errors of banditd. They know nothing of gRPC: guards.py maps each to a status.

Messages are part of the API: they name the field or thing, the offending value, and
what to do next. Lowercase first word, no trailing period.
"""

from __future__ import annotations


class BanditError(Exception):
    """Base of every error a caller can cause or act on."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else type(self).__name__


class InvalidArgumentError(BanditError):
    """A request field is malformed or out of range."""


class ExperimentNotFoundError(BanditError):
    def __init__(self, experiment: str) -> None:
        super().__init__(
            f"experiment '{experiment}' not found; "
            "list experiments with 'banditctl experiment list'"
        )


class ArmNotFoundError(BanditError):
    def __init__(self, experiment: str, arm: str, arms: list[str]) -> None:
        super().__init__(
            f"experiment '{experiment}' has no arm '{arm}' (arms: {', '.join(arms) or 'none'})"
        )


class AlreadyExistsError(BanditError):
    """An experiment, arm or import id of that name exists already."""


class FailedPreconditionError(BanditError):
    """The request is well formed but the experiment's state does not allow it."""


class DecisionRejectedError(BanditError):
    """A decision id is forged or tampered with: its signature does not verify."""


class DecisionExpiredError(BanditError):
    """A decision id is older than the reward window (decision_ttl_s)."""


class ConflictError(BanditError):
    """Concurrent admin changes kept colliding; the caller may retry."""


class StoreUnavailableError(BanditError):
    """Redis cannot be reached or failed; the caller may retry with backoff."""


class UnauthenticatedError(BanditError):
    """An admin call came without the right bearer token."""


class SegmentNotFoundError(BanditError):
    def __init__(self, experiment: str, segment: str, segments: list[str]) -> None:
        known = ", ".join(segments) if segments else "none yet"
        super().__init__(
            f"experiment '{experiment}' has no statistics for segment '{segment}' "
            f"(segments: {known})"
        )
