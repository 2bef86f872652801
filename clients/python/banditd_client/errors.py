"""The exceptions of banditd_client, and the one place that turns a gRPC failure into them.

Every failed call raises a subclass of BanditError, chosen by the gRPC status code::

    BanditError                  .code (grpc.StatusCode), .details (the server's message)
    ├── RequestRejected          the request cannot succeed as sent: fix it, do not retry
    │   ├── InvalidArgument      INVALID_ARGUMENT, OUT_OF_RANGE
    │   ├── NotFound             NOT_FOUND
    │   ├── AlreadyExists        ALREADY_EXISTS
    │   └── FailedPrecondition   FAILED_PRECONDITION, ABORTED
    ├── AccessDenied             the admin token is missing or wrong
    │   ├── Unauthenticated      UNAUTHENTICATED
    │   └── PermissionDenied     PERMISSION_DENIED
    ├── ServiceUnreachable       no answer in time: retrying (or falling back) may help
    │   ├── Unavailable          UNAVAILABLE
    │   └── DeadlineExceeded     DEADLINE_EXCEEDED
    ├── ResourceExhausted        RESOURCE_EXHAUSTED
    ├── Internal                 INTERNAL, UNKNOWN, DATA_LOSS: the server failed
    └── UnexpectedStatus         any other code (CANCELLED, UNIMPLEMENTED, ...)

`rpc_errors()` is the only translation point: every RPC of the sync and async clients,
the reward reporters and the admin client runs inside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc


class BanditError(Exception):
    """A banditd call failed; `code` is its gRPC status, `details` the server's message."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}" if details else code.name)
        self.code = code
        self.details = details


class RequestRejected(BanditError):
    """The server refused the request as sent; resending it unchanged will fail again."""


class InvalidArgument(RequestRejected):
    """A field of the request is invalid (the details name it)."""


class NotFound(RequestRejected):
    """The experiment or arm does not exist."""


class AlreadyExists(RequestRejected):
    """An experiment or arm of that name exists already."""


class FailedPrecondition(RequestRejected):
    """The request conflicts with the experiment's current state (e.g. retiring its last arm)."""


class AccessDenied(BanditError):
    """The admin token is missing or not accepted."""


class Unauthenticated(AccessDenied):
    """No valid admin token was sent: pass token=... (banditctl: --token or BANDITD_ADMIN_TOKEN)."""


class PermissionDenied(AccessDenied):
    """The token was recognised but may not perform this call."""


class ServiceUnreachable(BanditError):
    """banditd did not answer in time; the call may or may not have taken effect."""


class Unavailable(ServiceUnreachable):
    """banditd could not be reached (not running, wrong target, or restarting)."""


class DeadlineExceeded(ServiceUnreachable):
    """banditd did not answer within the call's timeout."""


class ResourceExhausted(BanditError):
    """A limit was hit (message size, batch size, server overload); send less or later."""


class Internal(BanditError):
    """The server failed while handling the call; its log has the reference id."""


class UnexpectedStatus(BanditError):
    """A status code this client has no dedicated class for."""


_ERROR_BY_CODE: dict[grpc.StatusCode, type[BanditError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    # The value was well-formed but outside what the server accepts: still the caller's to fix.
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    # A concurrent admin change won; like a failed precondition, re-read the state first.
    grpc.StatusCode.ABORTED: FailedPrecondition,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.INTERNAL: Internal,
    # gRPC reports an exception escaping a server handler as UNKNOWN.
    grpc.StatusCode.UNKNOWN: Internal,
    grpc.StatusCode.DATA_LOSS: Internal,
}


def error_class(code: grpc.StatusCode) -> type[BanditError]:
    """The exception class that a failure with this status code raises."""
    return _ERROR_BY_CODE.get(code, UnexpectedStatus)


def from_rpc_error(error: grpc.RpcError) -> BanditError:
    """The BanditError for a failed gRPC call (sync or grpc.aio)."""
    code = error.code() if callable(getattr(error, "code", None)) else None
    if not isinstance(code, grpc.StatusCode):
        # Only a call that finished has a status; anything else is the transport failing.
        code = grpc.StatusCode.UNKNOWN
    details = error.details() if callable(getattr(error, "details", None)) else None
    return error_class(code)(code, details or "")


@contextmanager
def rpc_errors() -> Iterator[None]:
    """Runs a block of gRPC calls, raising BanditError subclasses instead of grpc.RpcError.

    A plain (sync) context manager, so async code uses it too: `with rpc_errors(): await ...`.
    """
    try:
        yield
    except grpc.RpcError as error:
        raise from_rpc_error(error) from error
