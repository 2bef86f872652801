"""Cross-cutting gRPC concerns: admin authentication, and the one map from errors to statuses."""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import grpc

from . import errors

logger = logging.getLogger(__name__)

ADMIN_SERVICE_PREFIX = "/banditd.v1.Admin/"

# grpc-stubs declares ServerInterceptor generic; at run time it is a plain class.
if TYPE_CHECKING:
    _ServerInterceptor = grpc.ServerInterceptor[Any, Any]
else:
    _ServerInterceptor = grpc.ServerInterceptor

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


class ErrorMappingInterceptor(_ServerInterceptor):
    """Turns domain errors into their status; anything else into INTERNAL with a log reference."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        if handler.unary_unary is not None:
            inner_unary = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                try:
                    return inner_unary(request, context)
                except errors.BanditError as exc:
                    logger.debug("%s: %s", method, exc.message)
                    context.abort(status_for(exc), exc.message)
                except Exception:
                    _abort_internal(context, method)

            return grpc.unary_unary_rpc_method_handler(
                unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream is not None:
            inner_stream = handler.stream_stream

            def stream(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
                # Wrap the iteration, not the call: a generator raises while it is consumed.
                try:
                    yield from inner_stream(requests, context)
                except errors.BanditError as exc:
                    logger.debug("%s: %s", method, exc.message)
                    context.abort(status_for(exc), exc.message)
                except Exception:
                    _abort_internal(context, method)

            return grpc.stream_stream_rpc_method_handler(
                stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


class AdminAuthInterceptor(_ServerInterceptor):
    """Admin calls need `authorization: Bearer <token>` when a token is configured."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if not handler_call_details.method.startswith(ADMIN_SERVICE_PREFIX):
            return continuation(handler_call_details)
        given = ""
        for key, value in handler_call_details.invocation_metadata or ():
            if key == "authorization":
                given = value if isinstance(value, str) else value.decode()
        if given and hmac.compare_digest(given.encode(), self._expected):
            return continuation(handler_call_details)
        message = (
            "admin token is not valid"
            if given
            else "admin calls need the metadata 'authorization: Bearer <token>' (banditctl: "
            "--token or BANDITD_ADMIN_TOKEN)"
        )

        def deny(request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

        return grpc.unary_unary_rpc_method_handler(deny)
