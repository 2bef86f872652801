"""Cross-cutting gRPC concerns: admin authentication, and the one map from errors to statuses.

They wrap each servicer method once when the servicers are registered (see guarded()).
"""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from . import errors

logger = logging.getLogger(__name__)


STATUS_FOR_ERROR: dict[type[errors.BanditError], grpc.StatusCode] = {
    errors.InvalidArgumentError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.ExperimentNotFoundError: grpc.StatusCode.NOT_FOUND,
    errors.ArmNotFoundError: grpc.StatusCode.NOT_FOUND,
    errors.SegmentNotFoundError: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExistsError: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPreconditionError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.DecisionRejectedError: grpc.StatusCode.PERMISSION_DENIED,
    errors.DecisionExpiredError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ConflictError: grpc.StatusCode.ABORTED,
    errors.StoreUnavailableError: grpc.StatusCode.UNAVAILABLE,
    errors.UnauthenticatedError: grpc.StatusCode.UNAUTHENTICATED,
}


def status_for(exc: errors.BanditError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        code = STATUS_FOR_ERROR.get(cls)
        if code is not None:
            return code
    return grpc.StatusCode.INTERNAL


def _abort_internal(context: grpc.ServicerContext, method: str) -> None:
    ref = uuid.uuid4().hex[:8]
    logger.exception("unexpected error in %s (ref %s)", method, ref)
    context.abort(grpc.StatusCode.INTERNAL, f"internal error (ref {ref}); see the server log")


def _mapped_unary(method: str, inner: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def unary(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return inner(request, context)
        except errors.BanditError as exc:
            logger.debug("%s: %s", method, exc.message)
            context.abort(status_for(exc), exc.message)
        except Exception:
            _abort_internal(context, method)

    return unary


def _mapped_stream(
    method: str, inner: Callable[[Iterator[Any], Any], Iterator[Any]]
) -> Callable[[Iterator[Any], Any], Iterator[Any]]:
    def stream(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        # Wrap the iteration, not the call: a generator raises while it is consumed.
        try:
            yield from inner(requests, context)
        except errors.BanditError as exc:
            logger.debug("%s: %s", method, exc.message)
            context.abort(status_for(exc), exc.message)
        except Exception:
            _abort_internal(context, method)

    return stream


def _authenticated(token: str, inner: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    expected = f"Bearer {token}".encode()

    def unary(request: Any, context: grpc.ServicerContext) -> Any:
        given = ""
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                given = value if isinstance(value, str) else value.decode()
        if not (given and hmac.compare_digest(given.encode(), expected)):
            context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "admin token is not valid"
                if given
                else "admin calls need the metadata 'authorization: Bearer <token>' (banditctl: "
                "--token or BANDITD_ADMIN_TOKEN)",
            )
        return inner(request, context)

    return unary


class _Guarded:
    """Stands in for a servicer: the same RPC methods, each already wrapped."""


def guarded(
    servicer: object, service: str, *, streams: frozenset[str] = frozenset(), token: str | None
) -> Any:
    """The servicer's RPC methods wrapped once, at registration, rather than per call as a
    server interceptor would (that rebuilds a handler on every call, on the hot path).

    Every method maps domain errors to their status and anything else to INTERNAL with a
    log reference; with a token, every (unary) method first checks `authorization:
    Bearer <token>` and answers UNAUTHENTICATED without it, changing nothing.
    """
    proxy = _Guarded()
    for name in dir(type(servicer)):
        if not name[:1].isupper():
            continue
        method = f"/{service}/{name}"
        inner = getattr(servicer, name)
        if name in streams:
            wrapped = _mapped_stream(method, inner)
        else:
            wrapped = _mapped_unary(method, inner)
            if token is not None:
                # Outside the error mapping: its abort must not be mapped to INTERNAL.
                wrapped = _authenticated(token, wrapped)
        setattr(proxy, name, wrapped)
    return proxy
